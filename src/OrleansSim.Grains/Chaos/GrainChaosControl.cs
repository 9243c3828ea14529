using System.Text.Json.Nodes;
using OrleansSim.Core.Chaos;
using OrleansSim.Grains.Cluster;

namespace OrleansSim.Grains.Chaos;

/// <summary>Plays scenario steps straight into the cluster's chaos grain (the server at startup, <c>orleanssim-ctl</c> as an Orleans client).</summary>
/// <param name="grains">Any grain factory of the cluster.</param>
/// <param name="defaultPod">The target of steps without one: this pod, or <c>"*"</c> (every pod) for a client.</param>
/// <param name="time">The clock of the faults' start and expiry times.</param>
public sealed class GrainChaosControl(IGrainFactory grains, string defaultPod, TimeProvider time) : IChaosControl
{
    private IChaosGrain Store => grains.GetGrain<IChaosGrain>(IChaosGrain.Key);

    public async Task<ChaosFault> AddAsync(JsonObject body, CancellationToken cancellationToken)
    {
        var fault = ChaosRequest.Parse(body, defaultPod, time.GetUtcNow());
        try
        {
            return await Store.Add(fault).WaitAsync(cancellationToken);
        }
        catch (PodNotActiveException)
        {
            throw new ChaosFormatException($"Unknown pod '{fault.Target.Pod}': it is not an active member of the cluster.", "target.pod");
        }
    }

    public Task<bool> RemoveAsync(string id, CancellationToken cancellationToken) => Store.Remove(id).WaitAsync(cancellationToken);

    public Task<IReadOnlyList<ChaosFault>> ListAsync() => Store.List();

    public Task ClearAsync() => Store.Clear();
}
