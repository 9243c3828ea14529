using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansSim.Core.Scheduling;

namespace OrleansSim.Core.Configuration;

/// <summary>
/// The one owner of the settings that may change while the process runs (llm-d-inference-sim's
/// <c>POST /admin/config</c>: failure injection, fake metrics, every latency field). Everything else in
/// <see cref="SimulatorOptions"/> is fixed at startup. Readers take <see cref="Options"/> (or the
/// <see cref="Latency"/> model built from it) when they need it — one volatile read — instead of keeping
/// copies, so an update reaches every rank of the process at once. Updates are validated completely before
/// anything changes and swap one immutable snapshot, so a rejected update changes nothing and a reader never
/// sees half an update.
/// </summary>
public sealed class RuntimeSettings
{
    private readonly Lock _gate = new();
    private volatile Snapshot _current;

    public RuntimeSettings(SimulatorOptions initial)
    {
        _current = new Snapshot(initial, new LatencyModel(initial));
    }

    /// <summary>The flag names <see cref="Update"/> accepts, in the flag table's order.</summary>
    public static IReadOnlyList<string> ConfigurableKeys { get; } =
        [.. FlagTable.All.Where(d => d.AdminConfigurable).Select(d => d.Name)];

    /// <summary>The current configuration (startup values with every accepted update applied).</summary>
    public SimulatorOptions Options => _current.Options;

    /// <summary>The latency model of the current configuration.</summary>
    public LatencyModel Latency => _current.Latency;

    /// <summary>Raised after each accepted update with the configuration before and after it (under the update lock, in order).</summary>
    public event Action<SimulatorOptions, SimulatorOptions>? Changed;

    /// <summary>The current configuration as JSON (the startup dump's keys and formats).</summary>
    public string ToJson() => OptionsJson.Serialize(Options);

    /// <summary>
    /// Applies a partial update: every key must be admin-configurable and every value valid, else
    /// <see cref="OptionsException"/> is thrown and nothing changes. Returns the new configuration.
    /// </summary>
    public SimulatorOptions Update(JsonObject patch)
    {
        var values = new List<(FlagDefinition Def, object? Value)>();
        foreach (var (key, node) in patch)
        {
            if (!FlagTable.ByName.TryGetValue(key, out var def) || !def.AdminConfigurable)
            {
                throw new OptionsException($"field '{key}' is not admin-configurable");
            }

            var value = Convert(def, node);
            if (value is not null && def.Check is { } check && check(value) is { } problem)
            {
                throw new OptionsException($"field '{key}' {problem}");
            }

            values.Add((def, value));
        }

        lock (_gate)
        {
            var before = _current.Options;
            var after = before;
            foreach (var (def, value) in values)
            {
                after = def.Apply!(after, value);
            }

            if (after.EngineClock != before.EngineClock)
            {
                // The ranks' engine clocks are set up when they start (docs/latency.md).
                throw new OptionsException("field 'latency-calculator' cannot switch to or from 'step' while running (restart with the flag)");
            }

            CheckStdDev(after.TimeToFirstToken, after.TimeToFirstTokenStdDev, "time-to-first-token");
            CheckStdDev(after.InterTokenLatency, after.InterTokenLatencyStdDev, "inter-token-latency");
            _current = new Snapshot(after, new LatencyModel(after));
            Changed?.Invoke(before, after);
            return after;
        }
    }

    private static void CheckStdDev(TimeSpan mean, TimeSpan stdDev, string name)
    {
        if (stdDev.Ticks * 10 > mean.Ticks * 3)
        {
            throw new OptionsException(
                $"field '{name}-std-dev' cannot be more than 30% of '{name}' (got {DurationText.Format(stdDev)}, limit {DurationText.Format(TimeSpan.FromTicks(mean.Ticks * 3 / 10))})");
        }
    }

    /// <summary>The typed value of a JSON field (null only where the flag allows none, as fake-metrics).</summary>
    private static object? Convert(FlagDefinition def, JsonNode? node)
    {
        if (node is null)
        {
            return def.Kind == FlagKind.JsonObject ? null : throw Invalid(def);
        }

        switch (def.Kind)
        {
            case FlagKind.JsonObject when node is JsonObject obj:
                return obj.DeepClone();
            case FlagKind.StringList when node is JsonArray array:
                var items = new List<string>();
                foreach (var item in array)
                {
                    if (item is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
                    {
                        throw Invalid(def);
                    }

                    items.Add(v.GetValue<string>());
                }

                return items.Where(i => i.Length > 0).ToArray();
            case FlagKind.StringList when node is JsonValue v && v.GetValueKind() == JsonValueKind.String:
                return v.GetValue<string>().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            case FlagKind.Duration when node is JsonValue v && v.GetValueKind() == JsonValueKind.Number:
                return TimeSpan.FromMilliseconds(v.GetValue<double>());
            case FlagKind.String or FlagKind.Duration when node is JsonValue v && v.GetValueKind() == JsonValueKind.String:
                return FlagValues.TryParse(def.Kind, v.GetValue<string>(), out var parsed) ? parsed : throw Invalid(def);
            case FlagKind.Double or FlagKind.Int when node is JsonValue v && v.GetValueKind() == JsonValueKind.Number:
                return FlagValues.TryParse(def.Kind, v.ToJsonString(), out var number) ? number : throw Invalid(def);
            default:
                throw Invalid(def);
        }
    }

    private static OptionsException Invalid(FlagDefinition def) =>
        new(string.Create(CultureInfo.InvariantCulture, $"field '{def.Name}' must be {FlagValues.Expected(def.Kind)}"));

    private sealed record Snapshot(SimulatorOptions Options, LatencyModel Latency);
}
