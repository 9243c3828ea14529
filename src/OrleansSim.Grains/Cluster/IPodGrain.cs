using OrleansSim.Grains.Ranks;

namespace OrleansSim.Grains.Cluster;

/// <summary>
/// One pod's entry point for the cluster view, keyed by pod name (the silo name). It lives only on that
/// pod's silo (<see cref="PodPlacementAttribute"/>) and answers with the status of the pod's own ranks,
/// so reading the view never activates a rank grain on another pod.
/// </summary>
public interface IPodGrain : IGrainWithStringKey
{
    Task<PodStatus> GetStatus();
}

/// <summary>A pod's health as the cluster view reports it.</summary>
public static class PodHealth
{
    public const string Starting = "starting";
    public const string Ready = "ready";
    public const string Draining = "draining";
    /// <summary>Listed as active by membership but did not answer in time (e.g. killed, not yet declared dead).</summary>
    public const string Unreachable = "unreachable";
}

/// <summary>The local serving state the pod grain reports (the server implements it from its readiness).</summary>
public interface IPodHealthSource
{
    string Health { get; }
}

/// <summary>One pod in the cluster view.</summary>
/// <param name="Pod">Pod name (POD_NAME, else the host name); also the silo name.</param>
/// <param name="Namespace">POD_NAMESPACE.</param>
/// <param name="Address">The address the pod advertises (its rank ports listen there).</param>
/// <param name="Port">Rank 0's HTTP port; rank r listens on Port + r.</param>
/// <param name="Silo">The Orleans silo address (address:port@generation).</param>
/// <param name="Health">One of <see cref="PodHealth"/>.</param>
/// <param name="Ranks">Every data-parallel rank of the pod, by rank.</param>
[GenerateSerializer, Immutable]
public sealed record PodStatus(
    [property: Id(0)] string Pod,
    [property: Id(1)] string Namespace,
    [property: Id(2)] string Address,
    [property: Id(3)] int Port,
    [property: Id(4)] string Silo,
    [property: Id(5)] string Health,
    [property: Id(6)] IReadOnlyList<RankStatus> Ranks);
