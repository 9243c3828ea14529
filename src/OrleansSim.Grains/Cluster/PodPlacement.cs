using Orleans.Placement;

namespace OrleansSim.Grains.Cluster;

/// <summary>
/// Places a grain keyed by a pod name (or "&lt;pod&gt;/…") on the active silo whose name is that pod, and
/// nowhere else: asking for a pod that is not an active member fails instead of activating the grain on
/// the caller's silo (which <c>PreferLocalPlacement</c> would do).
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class PodPlacement : PlacementStrategy
{
    public static readonly PodPlacement Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class PodPlacementAttribute : PlacementAttribute
{
    public PodPlacementAttribute()
        : base(PodPlacement.Instance)
    {
    }
}

/// <summary>No active silo carries the pod's name (it left, died, or has not joined yet).</summary>
[GenerateSerializer]
public sealed class PodNotActiveException : OrleansException
{
    public PodNotActiveException()
    {
    }

    public PodNotActiveException(string pod)
        : base($"pod '{pod}' is not an active member of the cluster")
    {
    }

    public PodNotActiveException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
