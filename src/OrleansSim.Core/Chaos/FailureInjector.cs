using OrleansSim.Core.Configuration;
using OrleansSim.Core.Generation;

namespace OrleansSim.Core.Chaos;

/// <summary>An injected failure: the HTTP status, message and <c>param</c> of the error body.</summary>
public sealed record InjectedFailure(string Type, int Status, string Message, string? Param);

/// <summary>
/// <c>--failure-injection-rate</c> / <c>--failure-types</c>: each request is answered with an error with
/// probability rate %, its kind drawn uniformly from the configured types (all by default). The kinds,
/// statuses and messages are llm-d-inference-sim's, so tests written against it keep working. Draws come
/// from one RNG seeded with <c>--seed</c>, so a run is reproducible for a given request order.
/// </summary>
public sealed class FailureInjector
{
    /// <summary>Every failure kind, in llm-d-inference-sim's order.</summary>
    public static readonly IReadOnlyList<string> AllTypes =
        ["rate_limit", "invalid_api_key", "context_length", "server_error", "invalid_request", "model_not_found"];

    private readonly RuntimeSettings _settings;
    private readonly SimRandom _random;
    private readonly Lock _gate = new();

    public FailureInjector(SimulatorOptions options)
        : this(new RuntimeSettings(options))
    {
    }

    /// <summary>Rate and types are read from <paramref name="settings"/> at every roll, so <c>POST /admin/config</c> takes effect at once.</summary>
    public FailureInjector(RuntimeSettings settings)
    {
        _settings = settings;
        var options = settings.Options;
        DefaultModel = options.DisplayModelName;
        _random = new SimRandom(options.Seed ^ 0x5eed);
    }

    public bool Enabled => _settings.Options.FailureInjectionRate > 0;

    /// <summary>The model named in messages when the request names none.</summary>
    public string DefaultModel { get; }

    /// <summary>The context window named in <c>context_length</c> messages.</summary>
    public int MaxModelLen => _settings.Options.MaxModelLen;

    /// <summary>Rolls for one request; null when it is served normally.</summary>
    public InjectedFailure? Next(string model)
    {
        var options = _settings.Options;
        return Roll(options.FailureInjectionRate, options.FailureTypes, model, options.MaxModelLen);
    }

    /// <summary>One roll at <paramref name="rate"/> % over <paramref name="types"/> (all when empty); null when the request is served normally.</summary>
    public InjectedFailure? Roll(double rate, IReadOnlyList<string> types, string model, int maxModelLen)
    {
        if (rate <= 0)
        {
            return null;
        }

        string type;
        lock (_gate)
        {
            // llm-d: RandomInt(1, 100) <= rate.
            if (_random.Next(1, 101) > rate)
            {
                return null;
            }

            var pool = types.Count > 0 ? types : AllTypes;
            type = pool[_random.Next(pool.Count)];
        }

        return Describe(type, model, maxModelLen);
    }

    public static InjectedFailure Describe(string type, string model, int maxModelLen) => type switch
    {
        "rate_limit" => new(type, 429, $"Rate limit reached for {model} in organization org-xxx on requests per min (RPM): Limit 3, Used 3, Requested 1.", null),
        "invalid_api_key" => new(type, 401, "Incorrect API key provided.", null),
        "context_length" => new(type, 400, $"This model's maximum context length is {maxModelLen} tokens. However, your messages resulted in {maxModelLen + 476} tokens.", "messages"),
        "server_error" => new(type, 503, "The server is overloaded or not ready yet.", null),
        "invalid_request" => new(type, 400, "Invalid request: missing required parameter 'model'.", "model"),
        "model_not_found" => new(type, 404, $"The model '{model}-nonexistent' does not exist", "model"),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown failure type"),
    };
}
