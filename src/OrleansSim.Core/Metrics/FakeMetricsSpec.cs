using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansSim.Core.Configuration;

namespace OrleansSim.Core.Metrics;

/// <summary>The time functions of a fake gauge (llm-d-inference-sim's <c>fun:start:end:period</c>).</summary>
public enum FakeFunctionKind
{
    /// <summary>A sine wave around (start + end) / 2 with amplitude (end − start) / 2: mid at t = 0, end at a quarter period.</summary>
    Oscillate,

    /// <summary>Linear from start to end over one period, then end for ever.</summary>
    Ramp,

    /// <summary>Linear from start to end over every period, then back to start.</summary>
    RampReset,

    /// <summary>Start for the first half of every period, end for the second half.</summary>
    SquareWave,
}

/// <summary>One <c>fun:start:end:period</c> generator.</summary>
public sealed record FakeFunction(FakeFunctionKind Kind, double Start, double End, TimeSpan Period)
{
    public static readonly IReadOnlyList<string> Names = ["oscillate", "ramp", "rampreset", "squarewave"];

    /// <summary>The value <paramref name="elapsed"/> after the fake metrics started (llm-d-inference-sim's formulas).</summary>
    public double At(TimeSpan elapsed)
    {
        var period = Period.TotalSeconds;
        switch (Kind)
        {
            case FakeFunctionKind.Oscillate:
                return ((Start + End) / 2) + ((End - Start) / 2 * Math.Sin(2 * Math.PI * elapsed.TotalSeconds / period));
            case FakeFunctionKind.Ramp:
                var frac = elapsed.TotalSeconds / period;
                return frac >= 1 ? End : Start + (frac * (End - Start));
            case FakeFunctionKind.RampReset:
                var within = TimeSpan.FromTicks(elapsed.Ticks % Period.Ticks).TotalSeconds;
                return Start + (within / period * (End - Start));
            default:
                return elapsed.Ticks % Period.Ticks < Period.Ticks / 2 ? Start : End;
        }
    }

    /// <summary>The text form, e.g. <c>ramp:0:10:5s</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Names[(int)Kind]}:{Start}:{End}:{DurationText.Format(Period)}");
}

/// <summary>A fake gauge value: a fixed number or a time function.</summary>
public sealed record FakeValue(double Fixed, FakeFunction? Function)
{
    public double At(TimeSpan elapsed) => Function?.At(elapsed) ?? Fixed;

    /// <summary>The smallest and largest value this can take.</summary>
    internal (double Min, double Max) Range => Function is { } f ? (Math.Min(f.Start, f.End), Math.Max(f.Start, f.End)) : (Fixed, Fixed);
}

/// <summary>One fake <c>vllm:lora_requests_info</c> series.</summary>
public sealed record FakeLoraSeries(string Running, string Waiting, double Timestamp);

/// <summary>
/// The <c>--fake-metrics</c> object (llm-d-inference-sim's <c>FakeMetrics</c>, same JSON / YAML keys).
/// Gauges take a number or <c>fun:start:end:period</c>; histograms take per-bucket counts (entry i = samples
/// in bucket i, the last possible entry being +Inf); counters take totals. Null = not pinned.
/// </summary>
public sealed record FakeMetricsSpec
{
    /// <summary>Bounds of the fixed-bucket histograms (without +Inf), as vLLM defines them; the token histograms' bounds depend on --max-model-len.</summary>
    public const int TtftBounds = 22;
    public const int TokenLatencyBounds = 19;
    public const int RequestLatencyBounds = 21;

    /// <summary>vLLM's finished_reason values (FINISH_REASON_STRINGS), the keys request-success-total accepts.</summary>
    public static readonly IReadOnlyList<string> FinishReasons = ["stop", "length", "abort", "error", "repetition"];

    public FakeValue? RunningRequests { get; init; }
    public FakeValue? WaitingRequests { get; init; }
    public FakeValue? KvCacheUsage { get; init; }

    /// <summary><c>loras</c>: the lora_requests_info series; null = the one series with empty adapter lists.</summary>
    public IReadOnlyList<FakeLoraSeries>? Loras { get; init; }

    public IReadOnlyList<long>? TtftBuckets { get; init; }
    /// <summary><c>tpot-buckets-values</c>: vllm:inter_token_latency_seconds (llm-d's per-token histogram).</summary>
    public IReadOnlyList<long>? TpotBuckets { get; init; }
    /// <summary><c>request-tpot-buckets-values</c>: vllm:request_time_per_output_token_seconds.</summary>
    public IReadOnlyList<long>? RequestTpotBuckets { get; init; }
    public IReadOnlyList<long>? E2eBuckets { get; init; }
    public IReadOnlyList<long>? QueueTimeBuckets { get; init; }
    public IReadOnlyList<long>? InferenceTimeBuckets { get; init; }
    public IReadOnlyList<long>? PrefillTimeBuckets { get; init; }
    public IReadOnlyList<long>? DecodeTimeBuckets { get; init; }

    public IReadOnlyList<long>? RequestPromptTokens { get; init; }
    public IReadOnlyList<long>? RequestGenerationTokens { get; init; }
    public IReadOnlyList<long>? RequestParamsMaxTokens { get; init; }
    public IReadOnlyList<long>? RequestMaxGenerationTokens { get; init; }

    public IReadOnlyDictionary<string, long>? RequestSuccessTotal { get; init; }
    /// <summary>vllm:prompt_tokens; when null and request-prompt-tokens is given, the sum of that histogram.</summary>
    public long? TotalPromptTokens { get; init; }
    public long? TotalGenerationTokens { get; init; }
    public long? PrefixCacheHits { get; init; }
    public long? PrefixCacheQueries { get; init; }

    /// <summary>The object as given (for the configuration dump).</summary>
    public JsonObject Source { get; init; } = [];

    /// <summary>Every key the object accepts.</summary>
    public static readonly IReadOnlyList<string> Keys =
    [
        "running-requests", "waiting-requests", "kv-cache-usage", "loras",
        "ttft-buckets-values", "tpot-buckets-values", "request-tpot-buckets-values", "e2erl-buckets-values",
        "queue-time-buckets-values", "inf-time-buckets-values", "prefill-time-buckets-values", "decode-time-buckets-values",
        "request-prompt-tokens", "request-generation-tokens", "request-params-max-tokens", "request-max-generation-tokens",
        "request-success-total", "total-prompt-tokens", "total-generation-tokens", "prefix-cache-hits", "prefix-cache-queries",
    ];

    /// <summary>Parses and validates; <paramref name="problem"/> is the text that follows <c>--fake-metrics </c> in the error.</summary>
    public static bool TryParse(JsonObject json, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out FakeMetricsSpec? spec, out string? problem)
    {
        try
        {
            spec = Parse(json);
            problem = null;
            return true;
        }
        catch (FormatException e)
        {
            spec = null;
            problem = e.Message;
            return false;
        }
    }

    /// <summary>Parses and validates; throws <see cref="FormatException"/> whose message names the key.</summary>
    public static FakeMetricsSpec Parse(JsonObject json)
    {
        foreach (var (key, _) in json)
        {
            if (!Keys.Contains(key))
            {
                throw new FormatException($"has an unknown key '{key}' (known keys: {string.Join(", ", Keys)})");
            }
        }

        var spec = new FakeMetricsSpec
        {
            Source = (JsonObject)json.DeepClone(),
            RunningRequests = Gauge(json, "running-requests", 0, double.MaxValue),
            WaitingRequests = Gauge(json, "waiting-requests", 0, double.MaxValue),
            KvCacheUsage = Gauge(json, "kv-cache-usage", 0, 1),
            Loras = LoraList(json),
            TtftBuckets = Longs(json, "ttft-buckets-values", TtftBounds + 1),
            TpotBuckets = Longs(json, "tpot-buckets-values", TokenLatencyBounds + 1),
            RequestTpotBuckets = Longs(json, "request-tpot-buckets-values", TokenLatencyBounds + 1),
            E2eBuckets = Longs(json, "e2erl-buckets-values", RequestLatencyBounds + 1),
            QueueTimeBuckets = Longs(json, "queue-time-buckets-values", RequestLatencyBounds + 1),
            InferenceTimeBuckets = Longs(json, "inf-time-buckets-values", RequestLatencyBounds + 1),
            PrefillTimeBuckets = Longs(json, "prefill-time-buckets-values", RequestLatencyBounds + 1),
            DecodeTimeBuckets = Longs(json, "decode-time-buckets-values", RequestLatencyBounds + 1),
            RequestPromptTokens = Longs(json, "request-prompt-tokens", int.MaxValue),
            RequestGenerationTokens = Longs(json, "request-generation-tokens", int.MaxValue),
            RequestParamsMaxTokens = Longs(json, "request-params-max-tokens", int.MaxValue),
            RequestMaxGenerationTokens = Longs(json, "request-max-generation-tokens", int.MaxValue),
            RequestSuccessTotal = SuccessTotals(json),
            TotalPromptTokens = Long(json, "total-prompt-tokens"),
            TotalGenerationTokens = Long(json, "total-generation-tokens"),
            PrefixCacheHits = Long(json, "prefix-cache-hits"),
            PrefixCacheQueries = Long(json, "prefix-cache-queries"),
        };

        if (spec.PrefixCacheHits.HasValue != spec.PrefixCacheQueries.HasValue)
        {
            throw new FormatException("prefix-cache-hits and prefix-cache-queries must be given together");
        }

        if (spec.PrefixCacheHits > spec.PrefixCacheQueries)
        {
            throw new FormatException($"prefix-cache-hits cannot exceed prefix-cache-queries (got {spec.PrefixCacheHits} > {spec.PrefixCacheQueries})");
        }

        return spec;
    }

    /// <summary>Parses one gauge value: a number, a numeric string, or <c>fun:start:end:period</c>; start, end and the number lie in [min, max].</summary>
    public static FakeValue ParseValue(JsonNode? node, string key, double min = 0, double max = double.MaxValue)
    {
        FakeValue value;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
        {
            value = new FakeValue(Number(v), null);
        }
        else if (node is JsonValue s && s.GetValueKind() == JsonValueKind.String)
        {
            var text = s.GetValue<string>().Trim();
            value = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
                ? new FakeValue(number, null)
                : new FakeValue(0, ParseFunction(text, key));
        }
        else
        {
            throw new FormatException($"{key} must be a number or fun:start:end:period (got {Describe(node)})");
        }

        var (low, high) = value.Range;
        if (low < min || high > max)
        {
            var bounds = max == double.MaxValue
                ? $"cannot be negative"
                : string.Create(CultureInfo.InvariantCulture, $"must be between {min} and {max}");
            throw new FormatException(value.Function is null
                ? string.Create(CultureInfo.InvariantCulture, $"{key} {bounds} (got {value.Fixed})")
                : $"{key} start and end {bounds} (got '{value.Function}')");
        }

        return value;
    }

    private static FakeFunction ParseFunction(string text, string key)
    {
        var parts = text.Split(':');
        if (parts.Length != 4)
        {
            throw new FormatException($"{key} must be a number or fun:start:end:period, e.g. ramp:0:10:5s (got '{text}')");
        }

        var kind = FakeFunction.Names.ToList().IndexOf(parts[0]);
        if (kind < 0)
        {
            throw new FormatException($"{key}: unknown function '{parts[0]}' (must be one of {string.Join(", ", FakeFunction.Names)})");
        }

        if (!double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var start) || !double.IsFinite(start)
            || !double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var end) || !double.IsFinite(end))
        {
            throw new FormatException($"{key}: start and end must be numbers (got '{text}')");
        }

        if (!DurationText.TryParse(parts[3], out var period))
        {
            throw new FormatException($"{key}: period must be a duration such as 5s or 500ms (got '{parts[3]}')");
        }

        if (period <= TimeSpan.Zero)
        {
            throw new FormatException($"{key}: period must be positive (got '{parts[3]}')");
        }

        return new FakeFunction((FakeFunctionKind)kind, start, end, period);
    }

    private static FakeValue? Gauge(JsonObject json, string key, double min, double max) =>
        json.TryGetPropertyValue(key, out var node) && node is not null ? ParseValue(node, key, min, max) : null;

    private static long? Long(JsonObject json, string key)
    {
        if (!json.TryGetPropertyValue(key, out var node) || node is null)
        {
            return null;
        }

        return NonNegativeLong(node, key);
    }

    private static long NonNegativeLong(JsonNode? node, string what)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number
            || !double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            || d != Math.Floor(d) || d > long.MaxValue)
        {
            throw new FormatException($"{what} must be a whole number (got {Describe(node)})");
        }

        if (d < 0)
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{what} cannot be negative (got {d})"));
        }

        return (long)d;
    }

    private static long[]? Longs(JsonObject json, string key, int maxLength)
    {
        if (!json.TryGetPropertyValue(key, out var node) || node is null)
        {
            return null;
        }

        if (node is not JsonArray array)
        {
            throw new FormatException($"{key} must be a list of whole numbers (got {Describe(node)})");
        }

        if (array.Count > maxLength)
        {
            throw new FormatException($"{key} has {array.Count} values but the histogram has only {maxLength} buckets (the last is +Inf)");
        }

        return [.. array.Select((item, i) => NonNegativeLong(item, $"{key}[{i}]"))];
    }

    private static Dictionary<string, long>? SuccessTotals(JsonObject json)
    {
        const string key = "request-success-total";
        if (!json.TryGetPropertyValue(key, out var node) || node is null)
        {
            return null;
        }

        if (node is not JsonObject map)
        {
            throw new FormatException($"{key} must map finish reasons to counts (got {Describe(node)})");
        }

        var totals = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (reason, count) in map)
        {
            if (!FinishReasons.Contains(reason))
            {
                throw new FormatException($"{key}: unknown finish reason '{reason}' (vLLM's are {string.Join(", ", FinishReasons)})");
            }

            totals[reason] = NonNegativeLong(count, $"{key}.{reason}");
        }

        return totals;
    }

    private static List<FakeLoraSeries>? LoraList(JsonObject json)
    {
        const string key = "loras";
        if (!json.TryGetPropertyValue(key, out var node) || node is null)
        {
            return null;
        }

        if (node is not JsonArray array)
        {
            throw new FormatException($"{key} must be a list of {{\"running\",\"waiting\",\"timestamp\"}} objects (got {Describe(node)})");
        }

        var series = new List<FakeLoraSeries>();
        for (var i = 0; i < array.Count; i++)
        {
            var item = array[i];
            if (item is JsonValue text && text.GetValueKind() == JsonValueKind.String)
            {
                // llm-d-inference-sim's YAML form: each entry is a JSON string.
                try
                {
                    item = JsonNode.Parse(text.GetValue<string>());
                }
                catch (JsonException)
                {
                    throw new FormatException($"{key}[{i}] is not a JSON object (got '{text.GetValue<string>()}')");
                }
            }

            if (item is not JsonObject lora)
            {
                throw new FormatException($"{key}[{i}] must be an object {{\"running\",\"waiting\",\"timestamp\"}} (got {Describe(item)})");
            }

            foreach (var (field, _) in lora)
            {
                if (field is not ("running" or "waiting" or "timestamp"))
                {
                    throw new FormatException($"{key}[{i}] has an unknown key '{field}' (known keys: running, waiting, timestamp)");
                }
            }

            var timestamp = lora["timestamp"] is JsonValue ts && ts.GetValueKind() == JsonValueKind.Number
                ? Number(ts)
                : throw new FormatException($"{key}[{i}].timestamp must be a number (unix seconds)");
            series.Add(new FakeLoraSeries(AdapterList(lora, "running", key, i), AdapterList(lora, "waiting", key, i), timestamp));
        }

        return series;
    }

    private static string AdapterList(JsonObject lora, string field, string key, int i) => lora[field] switch
    {
        null => "",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var other => throw new FormatException($"{key}[{i}].{field} must be a comma-separated string of adapter names (got {Describe(other)})"),
    };

    /// <summary>A JSON number as a double, whatever CLR type the node holds (YAML gives longs).</summary>
    private static double Number(JsonValue value) => double.Parse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "a list",
        _ => node.ToJsonString(),
    };
}
