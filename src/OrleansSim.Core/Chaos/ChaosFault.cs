using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansSim.Core.Configuration;

namespace OrleansSim.Core.Chaos;

/// <summary>The fault kinds of the chaos API (docs/chaos.md).</summary>
public static class ChaosKinds
{
    public const string Error = "error";
    public const string Latency = "latency";
    public const string Stall = "stall";
    public const string Drop = "drop";
    public const string Unready = "unready";
    public const string QueueFull = "queue_full";
    public const string KvFlush = "kv_flush";

    public static readonly IReadOnlyList<string> All = [Error, Latency, Stall, Drop, Unready, QueueFull, KvFlush];

    /// <summary>The parameters each kind takes (besides kind, target and duration).</summary>
    public static IReadOnlyList<string> ParametersOf(string kind) => kind switch
    {
        Error => ["rate", "types"],
        Latency => ["ttft_ms", "itl_ms", "factor"],
        Drop => ["after_tokens"],
        Unready => ["health"],
        _ => [],
    };
}

/// <summary>Where a fault applies: one pod or every pod (<see cref="Pod"/> null, written <c>"*"</c>), one rank or all (<see cref="Rank"/> null).</summary>
public sealed record ChaosTarget(string? Pod, int? Rank)
{
    public const string AllPods = "*";

    public bool Matches(string pod, int rank) => (Pod is null || Pod == pod) && (Rank is null || Rank == rank);

    public bool Covers(string pod) => Pod is null || Pod == pod;

    public override string ToString() => $"{Pod ?? AllPods}/{(Rank is { } r ? r.ToString(CultureInfo.InvariantCulture) : "*")}";
}

/// <summary>The parameters of a fault; only those of its kind are set.</summary>
public sealed record ChaosParameters
{
    /// <summary><c>error</c>: percentage of requests answered with an error (0–100).</summary>
    public double? Rate { get; init; }

    /// <summary><c>error</c>: the failure types drawn from (<see cref="FailureInjector.AllTypes"/>); empty = all.</summary>
    public IReadOnlyList<string> Types { get; init; } = [];

    /// <summary><c>latency</c>: milliseconds added to the time to first token.</summary>
    public double? TtftMs { get; init; }

    /// <summary><c>latency</c>: milliseconds added to every inter-token gap.</summary>
    public double? ItlMs { get; init; }

    /// <summary><c>latency</c>: multiplier of both (after the additions).</summary>
    public double? Factor { get; init; }

    /// <summary><c>drop</c>: tokens a stream carries before its connection is cut.</summary>
    public int? AfterTokens { get; init; }

    /// <summary><c>unready</c>: <c>/health</c> fails too, not only <c>/ready</c>.</summary>
    public bool Health { get; init; }
}

/// <summary>One fault as stored cluster-wide: what, where, since when and until when (null = until deleted).</summary>
public sealed record ChaosFault(string Id, string Kind, ChaosTarget Target, ChaosParameters Parameters, DateTimeOffset StartedAt, DateTimeOffset? ExpiresAt)
{
    public bool IsActiveAt(DateTimeOffset now) => ExpiresAt is not { } end || now < end;

    /// <summary>A new fault id (<c>chaos-</c> + 8 hex digits).</summary>
    public static string NewId() => "chaos-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));

    /// <summary><c>{"faults": [...]}</c>: the body of <c>GET /admin/chaos</c> and of <c>orleanssim-ctl chaos list --json</c>.</summary>
    public static void WriteList(Utf8JsonWriter w, IReadOnlyList<ChaosFault> faults)
    {
        w.WriteStartObject();
        w.WriteStartArray("faults");
        foreach (var fault in faults)
        {
            fault.WriteTo(w);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The wire form: <c>{"id","kind","target":{"pod","rank"},"parameters":{…},"started_at","expires_at"}</c>.</summary>
    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("id", Id);
        w.WriteString("kind", Kind);
        w.WriteStartObject("target");
        w.WriteString("pod", Target.Pod ?? ChaosTarget.AllPods);
        if (Target.Rank is { } rank)
        {
            w.WriteNumber("rank", rank);
        }
        else
        {
            w.WriteNull("rank");
        }

        w.WriteEndObject();
        w.WriteStartObject("parameters");
        var p = Parameters;
        if (p.Rate is { } rate)
        {
            w.WriteNumber("rate", rate);
            w.WriteStartArray("types");
            foreach (var type in p.Types)
            {
                w.WriteStringValue(type);
            }

            w.WriteEndArray();
        }

        WriteIf(w, "ttft_ms", p.TtftMs);
        WriteIf(w, "itl_ms", p.ItlMs);
        WriteIf(w, "factor", p.Factor);
        WriteIf(w, "after_tokens", p.AfterTokens);
        if (Kind == ChaosKinds.Unready)
        {
            w.WriteBoolean("health", p.Health);
        }

        w.WriteEndObject();
        w.WriteString("started_at", StartedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        if (ExpiresAt is { } expires)
        {
            w.WriteString("expires_at", expires.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        }
        else
        {
            w.WriteNull("expires_at");
        }

        w.WriteEndObject();
    }

    /// <summary>Reads the wire form written by <see cref="WriteTo"/> (what <c>POST/GET /admin/chaos</c> return).</summary>
    public static ChaosFault FromWire(JsonObject o)
    {
        var target = o["target"] as JsonObject;
        var pod = target?["pod"]?.GetValue<string>();
        var parameters = o["parameters"] as JsonObject ?? [];
        double? Num(string name) => parameters[name] is JsonValue v ? double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture) : null;
        return new ChaosFault(
            o["id"]!.GetValue<string>(),
            o["kind"]!.GetValue<string>(),
            new ChaosTarget(pod is null or ChaosTarget.AllPods ? null : pod, target?["rank"] is JsonValue r ? (int)double.Parse(r.ToJsonString(), CultureInfo.InvariantCulture) : null),
            new ChaosParameters
            {
                Rate = Num("rate"),
                Types = parameters["types"] is JsonArray types ? [.. types.Select(t => t!.GetValue<string>())] : [],
                TtftMs = Num("ttft_ms"),
                ItlMs = Num("itl_ms"),
                Factor = Num("factor"),
                AfterTokens = Num("after_tokens") is { } after ? (int)after : null,
                Health = parameters["health"] is JsonValue h && h.GetValue<bool>(),
            },
            DateTimeOffset.Parse(o["started_at"]!.GetValue<string>(), CultureInfo.InvariantCulture),
            o["expires_at"] is JsonValue e ? DateTimeOffset.Parse(e.GetValue<string>(), CultureInfo.InvariantCulture) : null);
    }

    /// <summary>A one-line description for logs and the scenario player.</summary>
    public string Describe()
    {
        var parts = new List<string> { $"{Kind} on {Target}" };
        var p = Parameters;
        if (p.Rate is { } rate)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"rate={rate}") + (p.Types.Count > 0 ? $" types={string.Join(',', p.Types)}" : ""));
        }

        if (p.TtftMs is { } ttft)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"ttft_ms=+{ttft}"));
        }

        if (p.ItlMs is { } itl)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"itl_ms=+{itl}"));
        }

        if (p.Factor is { } factor)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"factor={factor}"));
        }

        if (p.AfterTokens is { } after)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"after_tokens={after}"));
        }

        if (p.Health)
        {
            parts.Add("health=true");
        }

        return string.Join(' ', parts);
    }

    private static void WriteIf(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
    }

    private static void WriteIf(Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
    }
}

/// <summary>A fault request that cannot be accepted; <see cref="Field"/> names what is wrong.</summary>
public sealed class ChaosFormatException(string message, string? field) : Exception(message)
{
    public string? Field { get; } = field;
}

/// <summary>
/// Reads a fault request: <c>{"kind", "target": {"pod": name | "*", "rank": int | null}, "duration": "30s" | null, …parameters}</c>.
/// A missing target means this pod, every rank. Every problem names its field.
/// </summary>
public static class ChaosRequest
{
    /// <summary>The largest rank a target may name (the simulator serves at most 8 ranks per pod).</summary>
    public const int MaxRank = 7;

    /// <param name="body">The request object.</param>
    /// <param name="localPod">The pod the request arrived at (the default target).</param>
    /// <param name="now">Start time of the fault.</param>
    /// <param name="durationField">The name of the duration field (<c>duration</c>; scenario steps use <c>for</c>).</param>
    /// <param name="ignored">Other fields the caller reads itself (a scenario step's <c>at</c>).</param>
    public static ChaosFault Parse(JsonObject body, string localPod, DateTimeOffset now, string durationField = "duration", IReadOnlyCollection<string>? ignored = null)
    {
        var kind = String(body, "kind") ?? throw new ChaosFormatException("Field required: 'kind'.", "kind");
        if (!ChaosKinds.All.Contains(kind))
        {
            throw new ChaosFormatException($"Unknown chaos kind '{kind}'; expected one of {string.Join(", ", ChaosKinds.All)}.", "kind");
        }

        var allowed = ChaosKinds.ParametersOf(kind);
        foreach (var (name, _) in body)
        {
            if (name != "kind" && name != "target" && name != durationField && !allowed.Contains(name) && ignored?.Contains(name) != true)
            {
                throw new ChaosFormatException(
                    allowed.Count == 0
                        ? $"Unknown parameter '{name}' for kind '{kind}' (it takes none)."
                        : $"Unknown parameter '{name}' for kind '{kind}'; it takes {string.Join(", ", allowed)}.",
                    name);
            }
        }

        var target = Target(body["target"], localPod);
        TimeSpan? duration = null;
        if (body[durationField] is { } durationNode)
        {
            if (durationNode is not JsonValue v || v.GetValueKind() != JsonValueKind.String
                || !DurationText.TryParse(v.GetValue<string>(), out var parsed) || parsed <= TimeSpan.Zero)
            {
                throw new ChaosFormatException($"'{durationField}' must be a positive duration such as \"30s\" or \"1m30s\", or null.", durationField);
            }

            duration = parsed;
        }

        var parameters = kind switch
        {
            ChaosKinds.Error => new ChaosParameters
            {
                Rate = Number(body, "rate", 0, 100) ?? throw new ChaosFormatException("Field required: 'rate' (0-100).", "rate"),
                Types = Types(body),
            },
            ChaosKinds.Latency => Latency(body),
            ChaosKinds.Drop => new ChaosParameters { AfterTokens = (int?)Number(body, "after_tokens", 0, int.MaxValue, integer: true) ?? 0 },
            ChaosKinds.Unready => new ChaosParameters { Health = Bool(body, "health") ?? false },
            _ => new ChaosParameters(),
        };

        return new ChaosFault(ChaosFault.NewId(), kind, target, parameters, now, duration is { } d ? now + d : null);
    }

    private static ChaosParameters Latency(JsonObject body)
    {
        var parameters = new ChaosParameters
        {
            TtftMs = Number(body, "ttft_ms", 0, double.MaxValue),
            ItlMs = Number(body, "itl_ms", 0, double.MaxValue),
            Factor = Number(body, "factor", 0, double.MaxValue),
        };
        if (parameters.TtftMs is null && parameters.ItlMs is null && parameters.Factor is null)
        {
            throw new ChaosFormatException("Kind 'latency' needs 'ttft_ms', 'itl_ms' or 'factor'.", "ttft_ms");
        }

        if (parameters.Factor is 0)
        {
            throw new ChaosFormatException("'factor' must be greater than 0.", "factor");
        }

        return parameters;
    }

    private static ChaosTarget Target(JsonNode? node, string localPod)
    {
        if (node is null)
        {
            return new ChaosTarget(localPod == ChaosTarget.AllPods ? null : localPod, null);
        }

        if (node is not JsonObject target)
        {
            throw new ChaosFormatException("'target' must be an object {\"pod\": name or \"*\", \"rank\": integer or null}.", "target");
        }

        foreach (var (name, _) in target)
        {
            if (name is not ("pod" or "rank"))
            {
                throw new ChaosFormatException($"Unknown field 'target.{name}'; a target has 'pod' and 'rank'.", "target." + name);
            }
        }

        var pod = String(target, "pod", "target.pod") ?? localPod;
        if (pod.Length == 0)
        {
            throw new ChaosFormatException("'target.pod' cannot be empty.", "target.pod");
        }

        var rank = (int?)Number(target, "rank", 0, MaxRank, integer: true, display: "target.rank");
        return new ChaosTarget(pod == ChaosTarget.AllPods ? null : pod, rank);
    }

    private static string[] Types(JsonObject body)
    {
        if (body["types"] is not { } node)
        {
            return [];
        }

        var types = node is JsonArray array
            ? array.Select(t => t is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw InvalidTypes()).ToList()
            : node is JsonValue s && s.GetValueKind() == JsonValueKind.String ? [s.GetValue<string>()] : throw InvalidTypes();
        if (types.FirstOrDefault(t => !FailureInjector.AllTypes.Contains(t)) is { } unknown)
        {
            throw new ChaosFormatException($"Unknown failure type '{unknown}' in 'types'; expected among {string.Join(", ", FailureInjector.AllTypes)}.", "types");
        }

        return [.. types];
    }

    private static ChaosFormatException InvalidTypes() =>
        new("'types' must be a list of failure types.", "types");

    private static string? String(JsonObject body, string name, string? display = null)
    {
        var node = body[name];
        if (node is null)
        {
            return null;
        }

        return node is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? v.GetValue<string>()
            : throw new ChaosFormatException($"'{display ?? name}' must be a string.", display ?? name);
    }

    private static bool? Bool(JsonObject body, string name)
    {
        var node = body[name];
        if (node is null)
        {
            return null;
        }

        return node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False
            ? v.GetValue<bool>()
            : throw new ChaosFormatException($"'{name}' must be a boolean.", name);
    }

    private static double? Number(JsonObject body, string name, double min, double max, bool integer = false, string? display = null)
    {
        display ??= name;
        var node = body[name];
        if (node is null)
        {
            return null;
        }

        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number
            || !double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            || (integer && value != Math.Floor(value)))
        {
            throw new ChaosFormatException($"'{display}' must be {(integer ? "an integer" : "a number")}.", display);
        }

        if (value < min || value > max)
        {
            throw new ChaosFormatException(
                max == double.MaxValue || max == int.MaxValue
                    ? string.Create(CultureInfo.InvariantCulture, $"'{display}' cannot be less than {min} (got {value}).")
                    : string.Create(CultureInfo.InvariantCulture, $"'{display}' must be between {min} and {max} (got {value})."),
                display);
        }

        return value;
    }
}
