using System.Globalization;
using System.Text.Json.Nodes;
using OrleansSim.Core.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansSim.Core.Chaos;

/// <summary>One step of a scenario: at <see cref="At"/> set the fault described by <see cref="Fault"/> for <see cref="For"/> (null: until cleared).</summary>
public sealed record ChaosStep(int Number, TimeSpan At, TimeSpan? For, JsonObject Fault);

/// <summary>
/// A chaos scenario (docs/chaos.md): YAML <c>steps: [{at: "5s", kind, target, for: "10s", …parameters}]</c>. Every step is
/// validated when the file is read, so a bad scenario fails before anything is played.
/// </summary>
public sealed record ChaosScenario(IReadOnlyList<ChaosStep> Steps)
{
    public static ChaosScenario Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ChaosFormatException($"cannot read chaos scenario {path}: {ex.Message}", null);
        }

        return Parse(text, path);
    }

    public static ChaosScenario Parse(string yaml, string source = "scenario")
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new ChaosFormatException($"{source}: not valid YAML: {ex.Message}", null);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root
            || !root.Children.TryGetValue(new YamlScalarNode("steps"), out var stepsNode) || stepsNode is not YamlSequenceNode steps)
        {
            throw new ChaosFormatException($"{source}: expected a mapping with 'steps: [...]'", "steps");
        }

        var result = new List<ChaosStep>();
        foreach (var node in steps.Children)
        {
            var number = result.Count + 1;
            if (YamlConfigReader.ToJson(node) is not JsonObject body)
            {
                throw new ChaosFormatException($"{source}: step {number} must be a mapping", "steps");
            }

            var at = Duration(body, "at", source, number) ?? throw new ChaosFormatException($"{source}: step {number}: 'at' is required", "at");
            var duration = Duration(body, "for", source, number);
            try
            {
                // Validates kind, target and parameters exactly as POST /admin/chaos will.
                ChaosRequest.Parse((JsonObject)body.DeepClone(), "validation", DateTimeOffset.UnixEpoch, "for", ["at"]);
            }
            catch (ChaosFormatException ex)
            {
                throw new ChaosFormatException($"{source}: step {number}: {ex.Message}", ex.Field);
            }

            body.Remove("at");
            body.Remove("for");
            result.Add(new ChaosStep(number, at, duration, body));
        }

        return new ChaosScenario(result);
    }

    /// <summary>The request body of a step for <c>POST /admin/chaos</c>: its fault with <c>duration</c> = the step's <c>for</c>.</summary>
    public static JsonObject RequestBody(ChaosStep step)
    {
        var body = (JsonObject)step.Fault.DeepClone();
        if (step.For is { } span)
        {
            body["duration"] = DurationText.Format(span);
        }

        return body;
    }

    private static TimeSpan? Duration(JsonObject body, string name, string source, int number)
    {
        if (body[name] is not { } node)
        {
            return null;
        }

        var text = node.ToJsonString().Trim('"');
        if (!DurationText.TryParse(text, out var value) || value < TimeSpan.Zero || (name == "for" && value == TimeSpan.Zero))
        {
            throw new ChaosFormatException(string.Create(CultureInfo.InvariantCulture, $"{source}: step {number}: '{name}' must be a duration such as \"5s\" (got {text})"), name);
        }

        return value;
    }
}

/// <summary>Where a scenario's faults go: the cluster's chaos grain, or a pod's <c>/admin/chaos</c> over HTTP.</summary>
public interface IChaosControl
{
    /// <summary>Sets the fault a step describes (its body has <c>duration</c>) and returns it as stored.</summary>
    Task<ChaosFault> AddAsync(JsonObject body, CancellationToken cancellationToken);

    /// <summary>Removes a fault; false when it is already gone (e.g. expired).</summary>
    Task<bool> RemoveAsync(string id, CancellationToken cancellationToken);
}

/// <summary>
/// Plays a scenario on one clock: each step's fault is set at its <c>at</c> (with the step's <c>for</c> as its duration, so
/// it clears itself even if the player stops) and removed at <c>at + for</c>; each start and end is reported as it happens.
/// </summary>
public static class ChaosScenarioPlayer
{
    public static async Task PlayAsync(ChaosScenario scenario, IChaosControl control, TimeProvider time, Action<string> report, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var events = scenario.Steps.Select(s => (At: s.At, Start: true, Step: s))
            .Concat(scenario.Steps.Where(s => s.For is not null).Select(s => (At: s.At + s.For!.Value, Start: false, Step: s)))
            .OrderBy(e => e.At).ThenBy(e => e.Start).ThenBy(e => e.Step.Number)
            .ToList();
        var ids = new Dictionary<int, string>();
        foreach (var (at, start, step) in events)
        {
            var wait = at - time.GetElapsedTime(started);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, cancellationToken);
            }

            var clock = string.Create(CultureInfo.InvariantCulture, $"[{time.GetElapsedTime(started).TotalSeconds,7:F1}s]");
            if (start)
            {
                var fault = await control.AddAsync(ChaosScenario.RequestBody(step), cancellationToken);
                ids[step.Number] = fault.Id;
                report($"{clock} step {step.Number} start: {fault.Id} {fault.Describe()}" + (step.For is { } span ? $" for {DurationText.Format(span)}" : " until cleared"));
            }
            else if (ids.TryGetValue(step.Number, out var id))
            {
                await control.RemoveAsync(id, cancellationToken);
                report($"{clock} step {step.Number} end: {id}");
            }
        }
    }
}
