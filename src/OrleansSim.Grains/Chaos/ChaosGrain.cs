using Microsoft.Extensions.Logging;
using OrleansSim.Core.Chaos;
using OrleansSim.Grains.Cluster;

namespace OrleansSim.Grains.Chaos;

/// <summary>
/// Holds every fault of the cluster in a <see cref="ChaosRegistry"/> and pushes each change to the pods it concerns.
/// One activation for the cluster, kept alive (its state is in memory: it is lost if its silo dies, and the pods keep
/// the faults they last received until those expire).
/// </summary>
[CollectionAgeLimit(AlwaysActive = true)]
public sealed class ChaosGrain(TimeProvider time, ILogger<ChaosGrain> logger) : Grain, IChaosGrain
{
    private static readonly TimeSpan PushTimeout = TimeSpan.FromSeconds(5);
    private readonly ChaosRegistry _registry = new(time);
    private IGrainTimer? _expiry;

    public async Task<ChaosFault> Add(ChaosFault fault)
    {
        var pods = await ActivePodsAsync();
        if (fault.Target.Pod is { } pod && !pods.Contains(pod))
        {
            throw new PodNotActiveException(pod);
        }

        await ExpireAsync();
        _registry.Add(fault);
        logger.LogInformation("chaos fault {Id} added: {Fault}", fault.Id, fault.Describe());
        await PushAsync(pods.Where(fault.Target.Covers));
        ScheduleExpiry();
        return fault;
    }

    public async Task<IReadOnlyList<ChaosFault>> List()
    {
        await ExpireAsync();
        return _registry.Active;
    }

    public async Task<bool> Remove(string id)
    {
        await ExpireAsync();
        var fault = _registry.Active.FirstOrDefault(f => f.Id == id);
        if (fault is null)
        {
            return false;
        }

        _registry.Remove(id);
        logger.LogInformation("chaos fault {Id} removed", id);
        await PushAsync((await ActivePodsAsync()).Where(fault.Target.Covers));
        return true;
    }

    public async Task Clear()
    {
        var removed = _registry.Clear();
        if (removed.Count > 0)
        {
            logger.LogInformation("chaos faults cleared: {Ids}", string.Join(", ", removed.Select(f => f.Id)));
            var pods = await ActivePodsAsync();
            await PushAsync(pods.Where(p => removed.Any(f => f.Target.Covers(p))));
        }
    }

    public Task<IReadOnlyList<ChaosFault>> FaultsFor(string pod) =>
        Task.FromResult<IReadOnlyList<ChaosFault>>([.. _registry.Active.Where(f => f.Target.Covers(pod))]);

    /// <summary>Drops the faults whose duration has passed and tells their pods.</summary>
    private async Task ExpireAsync()
    {
        var expired = _registry.Prune();
        if (expired.Count == 0)
        {
            return;
        }

        foreach (var fault in expired)
        {
            logger.LogInformation("chaos fault {Id} expired", fault.Id);
        }

        var pods = await ActivePodsAsync();
        await PushAsync(pods.Where(p => expired.Any(f => f.Target.Covers(p))));
    }

    private void ScheduleExpiry()
    {
        _expiry?.Dispose();
        _expiry = null;
        if (_registry.NextExpiry is not { } next)
        {
            return;
        }

        var due = next - time.GetUtcNow();
        _expiry = this.RegisterGrainTimer(async () =>
        {
            await ExpireAsync();
            ScheduleExpiry();
        }, new GrainTimerCreationOptions(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan));
    }

    private async Task PushAsync(IEnumerable<string> pods)
    {
        var active = _registry.Active;
        await Task.WhenAll(pods.Distinct().Select(async pod =>
        {
            try
            {
                await GrainFactory.GetGrain<IPodChaosGrain>(pod).Apply([.. active.Where(f => f.Target.Covers(pod))]).WaitAsync(PushTimeout);
            }
            catch (Exception ex) when (ex is TimeoutException or OrleansException or SiloUnavailableException)
            {
                logger.LogWarning("chaos faults could not reach pod {Pod}: {Error}", pod, ex.Message);
            }
        }));
    }

    private async Task<HashSet<string>> ActivePodsAsync()
    {
        var hosts = await GrainFactory.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true);
        return [.. hosts.Where(h => h.Status == SiloStatus.Active).Select(h => h.SiloName)];
    }
}

/// <summary>Hands the pod's faults to its local state and runs the one-shot <c>kv_flush</c> on the targeted ranks.</summary>
[PodPlacement]
public sealed class PodChaosGrain(IPodChaosSink sink, Core.Configuration.SimulatorOptions options, ILogger<PodChaosGrain> logger) : Grain, IPodChaosGrain
{
    public async Task Apply(IReadOnlyList<ChaosFault> faults)
    {
        var pod = this.GetPrimaryKeyString();
        foreach (var fault in sink.Apply(faults).Where(f => f.Kind == ChaosKinds.KvFlush))
        {
            for (var rank = 0; rank < options.DataParallelSize; rank++)
            {
                if (fault.Target.Matches(pod, rank))
                {
                    var cleared = await GrainFactory.GetGrain<Ranks.IRankGrain>(Ranks.RankKey.For(pod, rank)).FlushKvCache();
                    logger.LogInformation("chaos fault {Id}: KV cache of rank {Rank} flushed ({Blocks} blocks)", fault.Id, rank, cleared);
                }
            }
        }
    }
}
