using Orleans.Runtime.Placement;
using OrleansSim.Grains.Cluster;

namespace OrleansSim.Server.Cluster;

/// <summary>The director for <see cref="PodPlacement"/>; registered by <see cref="Hosting.SiloConfiguration"/>.</summary>
public sealed class PodPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString()!;
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var pod = slash < 0 ? key : key[..slash];
        var compatible = context.GetCompatibleSilos(target);
        var silo = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && m.Name == pod && compatible.Contains(m.SiloAddress))
            .OrderByDescending(m => m.SiloAddress.Generation)
            .Select(m => m.SiloAddress)
            .FirstOrDefault();
        return silo is not null
            ? Task.FromResult(silo)
            : Task.FromException<SiloAddress>(new PodNotActiveException(pod));
    }
}
