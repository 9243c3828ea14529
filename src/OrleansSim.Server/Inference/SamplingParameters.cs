using System.Globalization;
using System.Text.Json;
using OrleansSim.Core.Generation;
using OrleansSim.Server.Api;

namespace OrleansSim.Server.Inference;

/// <summary>
/// The sampling-parameter checks every generating surface shares, with vLLM's SamplingParams and protocol messages.
/// Parameters a simulator cannot honour (temperature, top_p, …) are still type- and range-checked, so a client's
/// bad request fails here as it would on vLLM.
/// </summary>
public static class SamplingParameters
{
    /// <summary>temperature, top_p, top_k, min_p, presence/frequency/repetition penalties.</summary>
    public static void Validate(JsonElement body)
    {
        static void Check(bool ok, string field, string rule, double value)
        {
            if (!ok)
            {
                throw ApiException.BadRequest($"{field} {rule}, got {value.ToString(CultureInfo.InvariantCulture)}.", field);
            }
        }

        if (JsonFields.GetNumber(body, "temperature") is { } temperature)
        {
            Check(temperature >= 0, "temperature", "must be non-negative", temperature);
        }

        if (JsonFields.GetNumber(body, "top_p") is { } topP)
        {
            Check(topP is > 0 and <= 1, "top_p", "must be in (0, 1]", topP);
        }

        if (JsonFields.GetInt(body, "top_k") is { } topK)
        {
            Check(topK is -1 or >= 0, "top_k", "must be 0 or -1 (disable), or at least 1", topK);
        }

        if (JsonFields.GetNumber(body, "min_p") is { } minP)
        {
            Check(minP is >= 0 and <= 1, "min_p", "must be in [0, 1]", minP);
        }

        foreach (var penalty in new[] { "presence_penalty", "frequency_penalty" })
        {
            if (JsonFields.GetNumber(body, penalty) is { } value)
            {
                Check(value is >= -2 and <= 2, penalty, "must be in [-2, 2]", value);
            }
        }

        if (JsonFields.GetNumber(body, "repetition_penalty") is { } repetition)
        {
            Check(repetition > 0, "repetition_penalty", "must be greater than zero", repetition);
        }
    }

    /// <summary><c>n</c>: at least 1, default 1.</summary>
    public static int ReadN(JsonElement body)
    {
        var n = JsonFields.GetInt(body, "n") ?? 1;
        if (n < 1)
        {
            throw ApiException.BadRequest($"n must be at least 1, got {n}.", "n");
        }

        return n;
    }

    /// <summary>A max-token count must be at least 1 (<paramref name="allowZero"/>: completions echo without generation).</summary>
    public static void CheckMaxTokens(int? maxTokens, string field, bool allowZero = false)
    {
        if (maxTokens is < 1 && !(allowZero && maxTokens == 0))
        {
            throw ApiException.BadRequest($"{field} must be at least 1, got {maxTokens}.", field);
        }
    }

    /// <summary><c>min_tokens</c>: non-negative and at most max_tokens.</summary>
    public static void CheckMinTokens(JsonElement body, int? maxTokens)
    {
        if (JsonFields.GetInt(body, "min_tokens") is { } minTokens)
        {
            if (minTokens < 0)
            {
                throw ApiException.BadRequest($"min_tokens must be greater than or equal to 0, got {minTokens}.", "min_tokens");
            }

            if (maxTokens is { } max && minTokens > max)
            {
                throw ApiException.BadRequest($"min_tokens must be less than or equal to max_tokens={max}, got {minTokens}.", "min_tokens");
            }
        }
    }

    /// <summary>An integer that is non-negative or -1 (vLLM: the whole vocabulary).</summary>
    public static int? ReadLogprobCount(JsonElement body, string field)
    {
        if (JsonFields.Get(body, field) is { } value && value.ValueKind != JsonValueKind.Number)
        {
            throw ApiException.BadRequest($"`{field}` must be an integer.", field);
        }

        var count = JsonFields.GetInt(body, field);
        if (count is < -1)
        {
            throw ApiException.BadRequest($"`{field}` must be a positive value or -1.", field);
        }

        return count;
    }

    /// <summary>
    /// vLLM's engine check against --max-logprobs (default 20; -1 asks for the whole vocabulary, which always exceeds
    /// it). vLLM names the sampling parameter <c>logprobs</c> for every endpoint.
    /// </summary>
    public static int CheckMaxLogprobs(int requested)
    {
        const int max = LogprobGenerator.MaxTopLogprobs;
        if (requested == -1)
        {
            throw ApiException.BadRequest($"Requested sample logprobs of the whole vocabulary (-1), which is greater than max allowed: {max}", "logprobs");
        }

        if (requested > max)
        {
            throw ApiException.BadRequest($"Requested sample logprobs of {requested}, which is greater than max allowed: {max}", "logprobs");
        }

        return requested;
    }

    /// <summary>
    /// OpenAI <c>stream_options</c>: (include_usage, continuous_usage_stats); only with <c>stream: true</c>. vLLM's
    /// should_include_usage: <paramref name="forceIncludeUsage"/> (<c>--enable-force-include-usage</c>) turns the usage
    /// chunk on for every stream; continuous usage needs include_usage.
    /// </summary>
    public static (bool IncludeUsage, bool ContinuousUsageStats) ReadStreamOptions(JsonElement body, bool stream, bool forceIncludeUsage)
    {
        var includeUsage = stream && forceIncludeUsage;
        if (JsonFields.GetObject(body, "stream_options") is not { } options)
        {
            return (includeUsage, false);
        }

        if (!stream)
        {
            throw ApiException.BadRequest("Stream options can only be defined when `stream=True`.", "stream_options");
        }

        includeUsage |= JsonFields.GetBool(options, "include_usage") ?? false;
        return (includeUsage, includeUsage && (JsonFields.GetBool(options, "continuous_usage_stats") ?? false));
    }
}
