using OrleansSim.Core.Chaos;

namespace OrleansSim.Grains.Chaos;

/// <summary>
/// The cluster's one fault store (key <see cref="Key"/>): every pod's <c>/admin/chaos</c> and <c>orleanssim-ctl chaos</c>
/// talk to it, so a fault set on any pod reaches its target and <c>GET /admin/chaos</c> lists the whole cluster. Each
/// change is pushed to the pods it concerns (<see cref="IPodChaosGrain"/>); faults with a duration are removed
/// (and the removal pushed) when it has passed.
/// </summary>
public interface IChaosGrain : IGrainWithStringKey
{
    public const string Key = "cluster";

    /// <summary>Stores the fault and returns once its target pods have it; <see cref="Cluster.PodNotActiveException"/> for an unknown pod.</summary>
    Task<ChaosFault> Add(ChaosFault fault);

    Task<IReadOnlyList<ChaosFault>> List();

    /// <summary>False when no fault has that id.</summary>
    Task<bool> Remove(string id);

    Task Clear();

    /// <summary>The faults that concern <paramref name="pod"/> (a pod that starts pulls them once).</summary>
    Task<IReadOnlyList<ChaosFault>> FaultsFor(string pod);
}

/// <summary>One pod's receiver of its faults, keyed by pod name and living on that pod's silo only.</summary>
public interface IPodChaosGrain : IGrainWithStringKey
{
    /// <summary>Replaces the pod's fault set with <paramref name="faults"/> (every fault that concerns the pod).</summary>
    Task Apply(IReadOnlyList<ChaosFault> faults);
}

/// <summary>The pod's local chaos state (the server implements it; the request path reads it).</summary>
public interface IPodChaosSink
{
    /// <summary>Takes the pod's new fault set and returns the faults that were not there before.</summary>
    IReadOnlyList<ChaosFault> Apply(IReadOnlyList<ChaosFault> faults);
}

/// <summary>Orleans' wire form of <see cref="ChaosFault"/> (Core stays free of Orleans attributes).</summary>
[GenerateSerializer]
public struct ChaosFaultSurrogate
{
    [Id(0)] public string Id { get; set; }
    [Id(1)] public string Kind { get; set; }
    [Id(2)] public string? Pod { get; set; }
    [Id(3)] public int? Rank { get; set; }
    [Id(4)] public double? Rate { get; set; }
    [Id(5)] public string[] Types { get; set; }
    [Id(6)] public double? TtftMs { get; set; }
    [Id(7)] public double? ItlMs { get; set; }
    [Id(8)] public double? Factor { get; set; }
    [Id(9)] public int? AfterTokens { get; set; }
    [Id(10)] public bool Health { get; set; }
    [Id(11)] public DateTimeOffset StartedAt { get; set; }
    [Id(12)] public DateTimeOffset? ExpiresAt { get; set; }
}

[RegisterConverter]
public sealed class ChaosFaultConverter : IConverter<ChaosFault, ChaosFaultSurrogate>
{
    public ChaosFault ConvertFromSurrogate(in ChaosFaultSurrogate s) =>
        new(s.Id, s.Kind, new ChaosTarget(s.Pod, s.Rank),
            new ChaosParameters { Rate = s.Rate, Types = s.Types ?? [], TtftMs = s.TtftMs, ItlMs = s.ItlMs, Factor = s.Factor, AfterTokens = s.AfterTokens, Health = s.Health },
            s.StartedAt, s.ExpiresAt);

    public ChaosFaultSurrogate ConvertToSurrogate(in ChaosFault f) => new()
    {
        Id = f.Id,
        Kind = f.Kind,
        Pod = f.Target.Pod,
        Rank = f.Target.Rank,
        Rate = f.Parameters.Rate,
        Types = [.. f.Parameters.Types],
        TtftMs = f.Parameters.TtftMs,
        ItlMs = f.Parameters.ItlMs,
        Factor = f.Parameters.Factor,
        AfterTokens = f.Parameters.AfterTokens,
        Health = f.Parameters.Health,
        StartedAt = f.StartedAt,
        ExpiresAt = f.ExpiresAt,
    };
}
