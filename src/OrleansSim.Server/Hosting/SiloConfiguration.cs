using System.Net;
using Orleans.Configuration;
using OrleansSim.Core.Configuration;
using OrleansSim.Grains.Cluster;
using OrleansSim.Server.Cluster;
using StackExchange.Redis;

namespace OrleansSim.Server.Hosting;

/// <summary>
/// The co-hosted silo: a cluster of one (localhost clustering, the default) or one pod of a multi-pod
/// cluster whose membership table lives in Redis. Either way the silo is named after the pod, which is
/// how the cluster view and <see cref="PodPlacementDirector"/> find a pod's silo. See docs/cluster.md.
/// </summary>
public static class SiloConfiguration
{
    public static ISiloBuilder ConfigureSimulatorSilo(this ISiloBuilder silo, SimulatorOptions options)
    {
        if (options.ClusterProvider == ClusterProvider.Redis)
        {
            silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(options.ClusterConnection));
            silo.ConfigureEndpoints(IPAddress.Parse(options.AdvertiseAddress), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
            // Ranks are placed by pod name: a second live pod of the same name is refused before it joins.
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, UniquePodName>();
        }
        else
        {
            silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort);
        }

        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = options.ClusterId;
            o.ServiceId = options.ServiceId;
        });
        silo.Configure<SiloOptions>(o => o.SiloName = options.PodName);
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            // A killed pod is declared dead after about NumMissedProbesLimit × ProbeTimeout (≈ 10 s) plus the
            // vote, so the cluster view drops it well within 30 s; Orleans' 5 s probes would take ~20 s.
            o.ProbeTimeout = TimeSpan.FromSeconds(3);
            o.NumMissedProbesLimit = 3;
            // Dead entries of restarted pods are removed from the table after an hour instead of a week.
            o.DefunctSiloExpiration = TimeSpan.FromHours(1);
            o.DefunctSiloCleanupPeriod = TimeSpan.FromMinutes(10);
        });

        silo.Services.AddPlacementDirector<PodPlacement>(sp => new PodPlacementDirector(sp.GetRequiredService<IClusterMembershipService>()));
        silo.Services.AddSingleton<IPodHealthSource, PodHealthSource>();
        return silo;
    }
}
