using OrleansSim.Core.Configuration;

namespace OrleansSim.Server.Inference;

/// <summary>The names a request may use as <c>model</c>: the served aliases of the base model.</summary>
public sealed class ModelCatalog(SimulatorOptions options)
{
    private readonly HashSet<string> _served = new(options.ServedModelNames.Count > 0 ? options.ServedModelNames : [options.Model], StringComparer.Ordinal);

    public IReadOnlyList<string> ServedNames { get; } = options.ServedModelNames.Count > 0 ? options.ServedModelNames : [options.Model];

    /// <summary>The name responses carry for <paramref name="requested"/>, or null when no such model is served.</summary>
    public string? Resolve(string requested) => _served.Contains(requested) ? options.DisplayModelName : null;
}
