using OrleansSim.Core.Configuration;
using OrleansSim.Core.Lora;

namespace OrleansSim.Server.Inference;

/// <summary>What a request's <c>model</c> resolved to: the name responses carry and the LoRA adapter (null for the base model).</summary>
public sealed record ResolvedModel(string ResponseModel, string? Lora);

/// <summary>
/// The names a request may use as <c>model</c>: the served aliases of the base model, then the LoRA
/// adapters of the process (from <c>--lora-modules</c> and /v1/load_lora_adapter). The adapter list is
/// process-wide, so a load or unload applies to every rank at once, as in vLLM's API server.
/// Thread-safe: readers take a snapshot, writers replace it under a lock.
/// </summary>
public sealed class ModelCatalog
{
    private readonly SimulatorOptions _options;
    private readonly HashSet<string> _served;
    private readonly Lock _write = new();
    private volatile LoraModule[] _adapters;

    public ModelCatalog(SimulatorOptions options)
    {
        _options = options;
        ServedNames = options.ServedModelNames.Count > 0 ? options.ServedModelNames : [options.Model];
        _served = new(ServedNames, StringComparer.Ordinal);
        _adapters = [.. options.LoraModules.DistinctBy(m => m.Name, StringComparer.Ordinal)];
    }

    public IReadOnlyList<string> ServedNames { get; }

    /// <summary>The loaded adapters in load order.</summary>
    public IReadOnlyList<LoraModule> Adapters => _adapters;

    /// <summary>What <paramref name="requested"/> names, or null when no such model or adapter is served.</summary>
    public ResolvedModel? Resolve(string requested)
    {
        if (_served.Contains(requested))
        {
            return new ResolvedModel(_options.DisplayModelName, null);
        }

        return Array.Exists(_adapters, a => a.Name == requested) ? new ResolvedModel(requested, requested) : null;
    }

    /// <summary>Adds an adapter; false when one with that name is already loaded.</summary>
    public bool TryLoad(LoraModule adapter)
    {
        lock (_write)
        {
            if (Array.Exists(_adapters, a => a.Name == adapter.Name))
            {
                return false;
            }

            _adapters = [.. _adapters, adapter];
            return true;
        }
    }

    /// <summary>Removes an adapter; false when none has that name. Requests already running keep going.</summary>
    public bool TryUnload(string name)
    {
        lock (_write)
        {
            var remaining = Array.FindAll(_adapters, a => a.Name != name);
            if (remaining.Length == _adapters.Length)
            {
                return false;
            }

            _adapters = remaining;
            return true;
        }
    }
}
