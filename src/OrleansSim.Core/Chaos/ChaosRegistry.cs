namespace OrleansSim.Core.Chaos;

/// <summary>
/// The set of faults with their expiry, on one clock: add, remove by id, clear, and prune the faults whose
/// duration has passed. Not thread-safe: its owner (the cluster's chaos grain) runs one turn at a time.
/// </summary>
public sealed class ChaosRegistry(TimeProvider time)
{
    private readonly List<ChaosFault> _faults = [];

    /// <summary>Every fault still active, in the order they were added (expired ones are pruned first).</summary>
    public IReadOnlyList<ChaosFault> Active
    {
        get
        {
            Prune();
            return [.. _faults];
        }
    }

    /// <summary>When the next fault expires (null when none has a duration).</summary>
    public DateTimeOffset? NextExpiry => _faults.Where(f => f.ExpiresAt is not null).Min(f => f.ExpiresAt);

    public void Add(ChaosFault fault) => _faults.Add(fault);

    public bool Remove(string id) => _faults.RemoveAll(f => f.Id == id) > 0;

    /// <summary>Removes every fault and returns them.</summary>
    public IReadOnlyList<ChaosFault> Clear()
    {
        var removed = _faults.ToArray();
        _faults.Clear();
        return removed;
    }

    /// <summary>Removes the faults whose duration has passed and returns them.</summary>
    public IReadOnlyList<ChaosFault> Prune()
    {
        var now = time.GetUtcNow();
        var expired = _faults.Where(f => !f.IsActiveAt(now)).ToArray();
        foreach (var fault in expired)
        {
            _faults.Remove(fault);
        }

        return expired;
    }
}

/// <summary>
/// What the active faults mean for one rank, combined: the strongest error rate, summed added latencies and the
/// product of the factors, the smallest drop point, and whether the rank stalls, is unready or refuses with 429.
/// Built once per change of the fault set; the request path reads it without locks.
/// </summary>
public sealed record RankChaos
{
    /// <summary>The strongest <c>error</c> fault (highest rate), if any.</summary>
    public ChaosFault? Error { get; init; }

    public TimeSpan AddedTimeToFirstToken { get; init; }

    public TimeSpan AddedInterTokenLatency { get; init; }

    public double LatencyFactor { get; init; } = 1;

    public bool HasLatency => AddedTimeToFirstToken > TimeSpan.Zero || AddedInterTokenLatency > TimeSpan.Zero || LatencyFactor != 1;

    public bool Stalled { get; init; }

    /// <summary>Streams are cut after this many tokens (null: not dropped).</summary>
    public int? DropAfterTokens { get; init; }

    public bool Unready { get; init; }

    /// <summary><c>unready</c> with <c>health: true</c>: <c>/health</c> fails too.</summary>
    public bool Unhealthy { get; init; }

    public bool QueueFull { get; init; }

    /// <summary>The faults in force on the rank (for its <c>orleanssim:chaos_active</c> series).</summary>
    public IReadOnlyList<ChaosFault> Faults { get; init; } = [];

    /// <summary>The TTFT with the latency faults applied.</summary>
    public TimeSpan TimeToFirstToken(TimeSpan planned) => Scale(planned + AddedTimeToFirstToken);

    /// <summary>One inter-token gap with the latency faults applied.</summary>
    public TimeSpan InterTokenLatency(TimeSpan planned) => Scale(planned + AddedInterTokenLatency);

    /// <summary>
    /// One engine step with the latency faults applied (<c>--latency-calculator step</c>): <c>itl_ms</c> is added to every
    /// step and <c>factor</c> multiplies it, so every stream on the rank slows while the fault acts.
    /// </summary>
    public TimeSpan StepTime(TimeSpan planned) => HasLatency ? InterTokenLatency(planned) : planned;

    /// <summary>The combined effect of the faults active at <paramref name="now"/> that target (<paramref name="pod"/>, <paramref name="rank"/>); null when none.</summary>
    public static RankChaos? Of(IEnumerable<ChaosFault> faults, string pod, int rank, DateTimeOffset now)
    {
        var mine = faults.Where(f => f.Target.Matches(pod, rank) && f.IsActiveAt(now)).ToArray();
        if (mine.Length == 0)
        {
            return null;
        }

        var latency = mine.Where(f => f.Kind == ChaosKinds.Latency).Select(f => f.Parameters).ToArray();
        var unready = mine.Where(f => f.Kind == ChaosKinds.Unready).ToArray();
        return new RankChaos
        {
            Faults = mine,
            Error = mine.Where(f => f.Kind == ChaosKinds.Error).OrderByDescending(f => f.Parameters.Rate).FirstOrDefault(),
            AddedTimeToFirstToken = TimeSpan.FromMilliseconds(latency.Sum(p => p.TtftMs ?? 0)),
            AddedInterTokenLatency = TimeSpan.FromMilliseconds(latency.Sum(p => p.ItlMs ?? 0)),
            LatencyFactor = latency.Aggregate(1.0, (f, p) => f * (p.Factor ?? 1)),
            Stalled = mine.Any(f => f.Kind == ChaosKinds.Stall),
            DropAfterTokens = mine.Where(f => f.Kind == ChaosKinds.Drop).Min(f => f.Parameters.AfterTokens),
            Unready = unready.Length > 0,
            Unhealthy = unready.Any(f => f.Parameters.Health),
            QueueFull = mine.Any(f => f.Kind == ChaosKinds.QueueFull),
        };
    }

    private TimeSpan Scale(TimeSpan value) =>
        LatencyFactor == 1 ? value : TimeSpan.FromTicks((long)(value.Ticks * LatencyFactor));
}
