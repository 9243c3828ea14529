using Orleans.Concurrency;
using OrleansSim.Core.Configuration;
using OrleansSim.Grains.Ranks;

namespace OrleansSim.Grains.Cluster;

/// <summary>
/// Answers for its pod: the DP size comes from the local configuration (the grain only ever runs on its own
/// pod's silo), and the ranks are the pod's own rank grains, which are local too.
/// </summary>
[Reentrant]
[PodPlacement]
public sealed class PodGrain(SimulatorOptions options, IPodHealthSource health, ILocalSiloDetails silo) : Grain, IPodGrain
{
    public async Task<PodStatus> GetStatus()
    {
        var pod = this.GetPrimaryKeyString();
        var ranks = await Task.WhenAll(Enumerable.Range(0, options.DataParallelSize)
            .Select(rank => GrainFactory.GetGrain<IRankGrain>(RankKey.For(pod, rank)).GetStatus()));
        return new PodStatus(pod, options.PodNamespace, options.AdvertiseAddress, options.Port, silo.SiloAddress.ToString(), health.Health, ranks);
    }
}
