using OrleansSim.Core.Chaos;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Engine;
using OrleansSim.Grains.Chaos;

namespace OrleansSim.Server.Chaos;

/// <summary>
/// This pod's faults as the request path sees them: one immutable state (the fault set and each rank's combined
/// <see cref="RankChaos"/>) swapped whenever the cluster's chaos grain pushes a change. With no fault the request path
/// pays one volatile read and a null check. A fault whose duration passes stops acting at once here (the state is
/// rebuilt lazily at the earliest expiry), even before the chaos grain's removal arrives. Each start and stop is
/// logged with the fault's id.
/// </summary>
public sealed class PodChaos : IPodChaosSink, IEngineChaos
{
    private static readonly TimeSpan StallRecheck = TimeSpan.FromMilliseconds(250);

    private readonly SimulatorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<PodChaos> _logger;
    private readonly Lock _gate = new();
    private volatile State _state;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PodChaos(SimulatorOptions options, TimeProvider time, ILogger<PodChaos> logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _state = State.Empty(options.DataParallelSize);
    }

    /// <summary>Every fault this pod holds (active or not yet pruned).</summary>
    public IReadOnlyList<ChaosFault> Faults => _state.Faults;

    /// <summary>The combined faults acting on <paramref name="rank"/> now, or null (the common case).</summary>
    public RankChaos? For(int rank)
    {
        var state = _state;
        if (state.NextExpiry is { } expiry && _time.GetUtcNow() >= expiry)
        {
            state = Rebuild();
        }

        return state.Ranks[rank];
    }

    /// <summary>A step of <paramref name="rank"/>'s engine clock with the rank's <c>latency</c> faults applied (the common case: unchanged).</summary>
    public TimeSpan StepTime(int rank, TimeSpan planned) => For(rank)?.StepTime(planned) ?? planned;

    public IReadOnlyList<ChaosFault> Apply(IReadOnlyList<ChaosFault> faults)
    {
        List<ChaosFault> started;
        lock (_gate)
        {
            var before = _state.Faults;
            var beforeIds = before.Select(f => f.Id).ToHashSet();
            var afterIds = faults.Select(f => f.Id).ToHashSet();
            started = [.. faults.Where(f => !beforeIds.Contains(f.Id))];
            foreach (var fault in started)
            {
                _logger.LogInformation("chaos fault {Id} started: {Fault}{Until}", fault.Id, fault.Describe(), fault.ExpiresAt is { } end ? $" until {end.UtcDateTime:O}" : "");
            }

            foreach (var fault in before.Where(f => !afterIds.Contains(f.Id)))
            {
                _logger.LogInformation("chaos fault {Id} stopped: {Fault}", fault.Id, fault.Describe());
            }

            _state = Build([.. faults]);
            var changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.TrySetResult();
        }

        return started;
    }

    /// <summary><c>stall</c>: returns once no stall fault acts on the rank (at once when none does).</summary>
    public async Task WaitWhileStalledAsync(int rank, CancellationToken cancellationToken)
    {
        while (For(rank) is { Stalled: true })
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }

            // Woken by a change of the fault set, else re-checked (a stall with a duration ends on its own).
            await Task.WhenAny(changed, Task.Delay(StallRecheck, _time, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private State Rebuild()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            foreach (var fault in _state.Faults.Where(f => !f.IsActiveAt(now)))
            {
                _logger.LogInformation("chaos fault {Id} stopped (its duration passed): {Fault}", fault.Id, fault.Describe());
            }

            _state = Build([.. _state.Faults.Where(f => f.IsActiveAt(now))]);
            return _state;
        }
    }

    private State Build(ChaosFault[] faults)
    {
        var now = _time.GetUtcNow();
        var ranks = new RankChaos?[_options.DataParallelSize];
        for (var r = 0; r < ranks.Length; r++)
        {
            ranks[r] = RankChaos.Of(faults, _options.PodName, r, now);
        }

        return new State(faults, ranks, faults.Where(f => f.ExpiresAt is not null).Min(f => f.ExpiresAt));
    }

    private sealed record State(ChaosFault[] Faults, RankChaos?[] Ranks, DateTimeOffset? NextExpiry)
    {
        public static State Empty(int ranks) => new([], new RankChaos?[ranks], null);
    }
}
