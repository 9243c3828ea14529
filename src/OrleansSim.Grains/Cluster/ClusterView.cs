using System.Text.Json;

namespace OrleansSim.Grains.Cluster;

/// <summary>Every live pod of the cluster with its ranks: what <c>GET /cluster</c> and <c>orleanssim-ctl status</c> show.</summary>
public sealed record ClusterView(string ClusterId, IReadOnlyList<PodStatus> Pods)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>
    /// Reads the view through any silo or client: the active silos from membership (one per pod, named after
    /// it), then each pod's own <see cref="IPodGrain"/> in parallel, each bounded by <paramref name="podTimeout"/>.
    /// A pod that does not answer in time is listed as <see cref="PodHealth.Unreachable"/> with no ranks;
    /// dead pods are not asked at all, so nothing is activated on their behalf.
    /// </summary>
    public static async Task<ClusterView> ReadAsync(IGrainFactory grains, string clusterId, TimeSpan podTimeout)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true).WaitAsync(podTimeout * 2);
        var pods = await Task.WhenAll(hosts
            .Where(h => h.Status == SiloStatus.Active)
            .Select(h => ReadPodAsync(grains, h, podTimeout)));
        return new ClusterView(clusterId, [.. pods.OrderBy(p => p.Pod, StringComparer.Ordinal)]);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    private static async Task<PodStatus> ReadPodAsync(IGrainFactory grains, MembershipEntry host, TimeSpan timeout)
    {
        try
        {
            return await grains.GetGrain<IPodGrain>(host.SiloName).GetStatus().WaitAsync(timeout);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException or SiloUnavailableException)
        {
            return new PodStatus(host.SiloName, "", host.SiloAddress.Endpoint.Address.ToString(), 0, host.SiloAddress.ToString(), PodHealth.Unreachable, []);
        }
    }
}
