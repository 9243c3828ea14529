using System.Text;
using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Generation;
using OrleansSim.Core.Tokenization;
using OrleansSim.Server.Api;

namespace OrleansSim.Server.Inference;

/// <summary>
/// Turns an OpenAI chat/completions body into an <see cref="InferenceRequest"/>: field types,
/// the model name, the prompt (rendered and tokenized once) and the context-window check, with
/// vLLM's status codes and messages.
/// </summary>
public sealed class RequestParser(SimulatorOptions options, ISimTokenizer tokenizer, ModelCatalog models)
{
    // Repeated prompts (benchmarks, router tests) skip the regex pre-tokenizer.
    private readonly PromptTokenCache _prompts = new(tokenizer);

    /// <summary>vLLM's default max_tokens for /v1/completions (CompletionRequest.max_tokens = 16).</summary>
    public const int CompletionsDefaultMaxTokens = 16;

    public InferenceRequest Parse(EndpointKind kind, JsonElement body, string requestId)
    {
        var model = ResolveModel(body);
        var prompts = kind == EndpointKind.Chat ? [ParseMessages(body)] : ParsePrompt(body);

        var n = JsonFields.GetInt(body, "n") ?? 1;
        if (n < 1)
        {
            throw ApiException.BadRequest($"n must be at least 1, got {n}.", "n");
        }

        ValidateSamplingParameters(body);
        var topLogprobs = kind == EndpointKind.Chat ? ParseChatLogprobs(body) : ParseCompletionLogprobs(body);

        var maxTokensField = "max_tokens";
        var maxTokens = JsonFields.GetInt(body, "max_tokens");
        if (kind == EndpointKind.Chat && JsonFields.GetInt(body, "max_completion_tokens") is { } completionTokens)
        {
            maxTokensField = "max_completion_tokens";
            maxTokens = completionTokens;
        }

        // Completions echo: the prompt is returned before the output; with max_tokens 0 it is all there is
        // (vLLM's echo_without_generation, what loglikelihood evaluations send).
        var echo = kind == EndpointKind.Completion && (JsonFields.GetBool(body, "echo") ?? false);
        if (maxTokens is < 1 && !(echo && maxTokens == 0))
        {
            throw ApiException.BadRequest($"{maxTokensField} must be at least 1, got {maxTokens}.", maxTokensField);
        }

        if (kind == EndpointKind.Completion)
        {
            maxTokens ??= CompletionsDefaultMaxTokens;
        }

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

        foreach (var prompt in prompts)
        {
            CheckContextWindow(prompt.PromptTokens, maxTokens, maxTokensField, kind == EndpointKind.Chat ? "messages" : "prompt");
        }

        var stream = JsonFields.GetBool(body, "stream") ?? false;
        if (echo && topLogprobs is not null)
        {
            prompts = [.. prompts.Select(p => p with { EchoPieces = tokenizer.SplitTokens(p.EchoText) })];
        }

        // vLLM's should_include_usage: --enable-force-include-usage turns the usage chunk on for every stream;
        // continuous usage needs include_usage.
        var streamOptions = JsonFields.GetObject(body, "stream_options");
        var includeUsage = stream && options.EnableForceIncludeUsage;
        var continuous = false;
        if (streamOptions is { } so)
        {
            if (!stream)
            {
                throw ApiException.BadRequest("Stream options can only be defined when `stream=True`.", "stream_options");
            }

            includeUsage |= JsonFields.GetBool(so, "include_usage") ?? false;
            continuous = includeUsage && (JsonFields.GetBool(so, "continuous_usage_stats") ?? false);
        }

        return new InferenceRequest
        {
            Kind = kind,
            RequestId = requestId,
            ResponseModel = model.ResponseModel,
            Lora = model.Lora,
            Prompts = prompts,
            N = n,
            MaxTokens = maxTokens,
            IgnoreEos = JsonFields.GetBool(body, "ignore_eos") ?? false,
            Stop = JsonFields.GetStringOrList(body, "stop"),
            Seed = JsonFields.GetLong(body, "seed"),
            Stream = stream,
            IncludeUsage = includeUsage,
            ContinuousUsageStats = continuous,
            TopLogprobs = topLogprobs,
            Echo = echo,
        };
    }

    /// <summary>
    /// Chat <c>logprobs</c> (bool) and <c>top_logprobs</c>, checked as vLLM's ChatCompletionRequest.check_logprobs
    /// and its engine's max-logprobs check do. Null when logprobs are off.
    /// </summary>
    private static int? ParseChatLogprobs(JsonElement body)
    {
        var logprobs = JsonFields.GetBool(body, "logprobs") ?? false;
        var top = ReadLogprobCount(body, "top_logprobs");
        if (top is { } requested && requested != 0 && !logprobs)
        {
            throw ApiException.BadRequest("when using `top_logprobs`, `logprobs` must be set to true.", "top_logprobs");
        }

        return logprobs ? CheckMaxLogprobs(top ?? 0) : null;
    }

    /// <summary>Completions <c>logprobs</c> (an integer), checked as vLLM's CompletionRequest.check_logprobs does.</summary>
    private static int? ParseCompletionLogprobs(JsonElement body) =>
        ReadLogprobCount(body, "logprobs") is { } requested ? CheckMaxLogprobs(requested) : null;

    /// <summary>An integer that is non-negative or -1 (vLLM: the whole vocabulary).</summary>
    private static int? ReadLogprobCount(JsonElement body, string field)
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
    /// it). vLLM names the sampling parameter <c>logprobs</c> for both endpoints.
    /// </summary>
    private static int CheckMaxLogprobs(int requested)
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
    /// Sampling parameters a simulator cannot honour are still type- and range-checked with vLLM's
    /// SamplingParams messages, so a client's bad request fails here as it would on vLLM.
    /// </summary>
    private static void ValidateSamplingParameters(JsonElement body)
    {
        static void Check(bool ok, string field, string rule, double value)
        {
            if (!ok)
            {
                throw ApiException.BadRequest($"{field} {rule}, got {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}.", field);
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

    /// <summary>
    /// vLLM's OpenAIServing._validate_input messages: the prompt alone must leave room for one token;
    /// prompt + max tokens must fit max-model-len.
    /// </summary>
    public void CheckContextWindow(int promptTokens, int? maxTokens, string maxTokensField, string promptField)
    {
        var limit = options.MaxModelLen;
        // The prompt alone must leave room for one generated token, whatever max_tokens says.
        if (promptTokens >= limit)
        {
            throw ApiException.BadRequest(
                $"This model's maximum context length is {limit} tokens. However, your request has {promptTokens} input tokens. Please reduce the length of the input messages.",
                promptField);
        }

        if (maxTokens is { } requested && promptTokens + requested > limit)
        {
            throw ApiException.BadRequest(
                $"'{maxTokensField}' or 'max_completion_tokens' is too large: {requested}. This model's maximum context length is {limit} tokens and your request has {promptTokens} input tokens ({requested} > {limit} - {promptTokens}).",
                maxTokensField);
        }
    }

    public ResolvedModel ResolveModel(JsonElement body)
    {
        var requested = JsonFields.GetString(body, "model");
        if (requested is null)
        {
            return new ResolvedModel(options.DisplayModelName, null);
        }

        return models.Resolve(requested)
            ?? throw new ApiException(StatusCodes.Status404NotFound, $"The model `{requested}` does not exist.", "model");
    }

    private PromptInput ParseMessages(JsonElement body)
    {
        var rendered = ReadMessages(body);
        var lastUser = rendered.LastOrDefault(m => m.Role == "user") ?? rendered[^1];
        return new PromptInput(lastUser.Content, _prompts.Encode(tokenizer.RenderChat(rendered)));
    }

    /// <summary>Reads and validates <c>messages</c> (content as a string or a list of text parts).</summary>
    public static IReadOnlyList<PromptMessage> ReadMessages(JsonElement body)
    {
        if (JsonFields.Get(body, "messages") is not { } messages)
        {
            throw ApiException.BadRequest("Field required: 'messages'.", "messages");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.Invalid("messages", "a list of messages");
        }

        if (messages.GetArrayLength() == 0)
        {
            throw ApiException.BadRequest("'messages' must contain at least one message.", "messages");
        }

        var result = new List<PromptMessage>(messages.GetArrayLength());
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var path = $"messages[{i}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw JsonFields.Invalid(path, "an object");
            }

            var role = JsonFields.GetString(message, "role", $"{path}.role")
                ?? throw ApiException.BadRequest($"Field required: '{path}.role'.", "messages");
            result.Add(new PromptMessage(role, ReadContent(message, path)));
            i++;
        }

        return result;
    }

    private static string ReadContent(JsonElement message, string path)
    {
        switch (JsonFields.Get(message, "content"))
        {
            case null:
                return "";
            case { ValueKind: JsonValueKind.String } s:
                return JsonFields.Text(s, $"{path}.content");
            case { ValueKind: JsonValueKind.Array } parts:
                var text = new StringBuilder();
                foreach (var part in parts.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object)
                    {
                        throw JsonFields.Invalid($"{path}.content", "a string or a list of content parts");
                    }

                    if (JsonFields.GetString(part, "type", $"{path}.content.type") == "text")
                    {
                        text.Append(JsonFields.GetString(part, "text", $"{path}.content.text"));
                    }
                }

                return text.ToString();
            default:
                throw JsonFields.Invalid($"{path}.content", "a string or a list of content parts");
        }
    }

    /// <summary>/v1/completions <c>prompt</c>: a string, a list of strings, a list of token ids or a list of such lists.</summary>
    private List<PromptInput> ParsePrompt(JsonElement body)
    {
        if (JsonFields.Get(body, "prompt") is not { } prompt)
        {
            throw ApiException.BadRequest("Field required: 'prompt'.", "prompt");
        }

        const string expected = "a string, a list of strings, a list of token ids or a list of token-id lists";
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return [TextPrompt(JsonFields.Text(prompt, "prompt"))];
            case JsonValueKind.Array when prompt.GetArrayLength() == 0:
                throw ApiException.BadRequest("'prompt' must not be empty.", "prompt");
            case JsonValueKind.Array:
                var first = prompt[0].ValueKind;
                if (first == JsonValueKind.Number)
                {
                    return [TokenPrompt(prompt)];
                }

                var list = new List<PromptInput>(prompt.GetArrayLength());
                foreach (var item in prompt.EnumerateArray())
                {
                    list.Add(item.ValueKind switch
                    {
                        JsonValueKind.String when first == JsonValueKind.String => TextPrompt(JsonFields.Text(item, "prompt")),
                        JsonValueKind.Array when first == JsonValueKind.Array => TokenPrompt(item),
                        _ => throw JsonFields.Invalid("prompt", expected),
                    });
                }

                return list;
            default:
                throw JsonFields.Invalid("prompt", expected);
        }
    }

    private PromptInput TextPrompt(string text)
    {
        if (text.Length == 0)
        {
            throw ApiException.BadRequest("'prompt' must not be an empty string.", "prompt");
        }

        return new PromptInput(text, _prompts.Encode(text));
    }

    private PromptInput TokenPrompt(JsonElement ids)
    {
        if (ids.GetArrayLength() == 0)
        {
            throw ApiException.BadRequest("'prompt' must not contain an empty token-id list.", "prompt");
        }

        var tokens = new int[ids.GetArrayLength()];
        var i = 0;
        foreach (var id in ids.EnumerateArray())
        {
            if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out var value) || value < 0)
            {
                throw JsonFields.Invalid("prompt", "a list of non-negative integer token ids");
            }

            if (!tokenizer.IsKnownTokenId(value))
            {
                throw ApiException.BadRequest($"Token id {value} is out of vocabulary", "prompt");
            }

            tokens[i++] = value;
        }

        return new PromptInput(DecodeForEcho(tokens), tokens);
    }

    private string DecodeForEcho(int[] tokens)
    {
        try
        {
            return tokenizer.Decode(tokens);
        }
        catch (ArgumentException)
        {
            // Ids outside the vocabulary: echo them as llm-d-inference-sim does.
            return string.Join(',', tokens);
        }
    }
}
