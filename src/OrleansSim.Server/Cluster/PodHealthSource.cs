using OrleansSim.Grains.Cluster;
using OrleansSim.Server.Hosting;

namespace OrleansSim.Server.Cluster;

/// <summary>The pod's health for the cluster view, from the same state that answers <c>GET /ready</c>.</summary>
public sealed class PodHealthSource(Readiness readiness) : IPodHealthSource
{
    public string Health => readiness.IsDraining ? PodHealth.Draining : readiness.IsReady ? PodHealth.Ready : PodHealth.Starting;
}
