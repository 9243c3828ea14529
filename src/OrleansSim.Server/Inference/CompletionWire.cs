using System.Text;
using System.Text.Json;
using OrleansSim.Core.Generation;

namespace OrleansSim.Server.Inference;

/// <summary>Token counts of one response (vLLM UsageInfo).</summary>
public readonly record struct Usage(int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;

    /// <summary>Prompt tokens served from the prefix cache; null (no details) without <c>--enable-kvcache</c>.</summary>
    public int? CachedTokens { get; init; }
}

/// <summary>The logprobs of the one token a streamed chunk carries.</summary>
/// <param name="Generator">Where the synthetic values come from.</param>
/// <param name="TopLogprobs">The request's top-logprob count (<see cref="InferenceRequest.TopLogprobs"/>).</param>
/// <param name="Position">The token's index in its choice's output.</param>
/// <param name="TextOffset">Completions: characters of the choice's output before this token.</param>
/// <param name="Token">The chunk's token (null: the chunk carries none, only an echoed prompt).</param>
/// <param name="EchoPieces">Completions echo, first chunk only: the prompt's pieces, listed before the token.</param>
public readonly record struct ChunkLogprobs(LogprobGenerator Generator, int TopLogprobs, int Position, int TextOffset, string? Token, IReadOnlyList<string>? EchoPieces = null);

/// <summary>
/// The OpenAI/vLLM response shapes for chat and text completions, written field by field in vLLM's
/// order (vllm/entrypoints/openai/protocol.py: ChatCompletionResponse, ChatCompletionStreamResponse,
/// CompletionResponse, CompletionStreamResponse, UsageInfo).
/// </summary>
public static class CompletionWire
{
    public static string ResponseId(EndpointKind kind, string requestId) =>
        kind == EndpointKind.Chat ? $"chatcmpl-{requestId}" : $"cmpl-{requestId}";

    /// <summary>Writes <c>"id": "chatcmpl-&lt;id&gt;"</c> without building the string (this runs once per streamed chunk).</summary>
    /// <summary>The fields every response and chunk starts with: id, object, created, model.</summary>
    private static void WriteHeader(Utf8JsonWriter w, InferenceRequest request, JsonEncodedText objectName, long created)
    {
        WriteId(w, request);
        w.WriteString(P.Object, objectName);
        w.WriteNumber(P.Created, created);
        w.WriteString(P.Model, request.ResponseModel);
    }

    private static void WriteId(Utf8JsonWriter w, InferenceRequest request)
    {
        var prefix = request.Kind == EndpointKind.Chat ? "chatcmpl-" : "cmpl-";
        var length = prefix.Length + request.RequestId.Length;
        if (length > 256)
        {
            w.WriteString(P.Id, ResponseId(request.Kind, request.RequestId));
            return;
        }

        Span<char> id = stackalloc char[length];
        prefix.CopyTo(id);
        request.RequestId.CopyTo(id[prefix.Length..]);
        w.WriteString(P.Id, id);
    }

    /// <summary>Property names, encoded once (writing a string name transcodes and escapes it on every call).</summary>
    private static class P
    {
        public static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
        public static readonly JsonEncodedText Object = JsonEncodedText.Encode("object");
        public static readonly JsonEncodedText Created = JsonEncodedText.Encode("created");
        public static readonly JsonEncodedText Model = JsonEncodedText.Encode("model");
        public static readonly JsonEncodedText Choices = JsonEncodedText.Encode("choices");
        public static readonly JsonEncodedText Index = JsonEncodedText.Encode("index");
        public static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
        public static readonly JsonEncodedText Role = JsonEncodedText.Encode("role");
        public static readonly JsonEncodedText Content = JsonEncodedText.Encode("content");
        public static readonly JsonEncodedText ToolCalls = JsonEncodedText.Encode("tool_calls");
        public static readonly JsonEncodedText Text = JsonEncodedText.Encode("text");
        public static readonly JsonEncodedText Logprobs = JsonEncodedText.Encode("logprobs");
        public static readonly JsonEncodedText FinishReason = JsonEncodedText.Encode("finish_reason");
        public static readonly JsonEncodedText StopReason = JsonEncodedText.Encode("stop_reason");
        public static readonly JsonEncodedText Reasoning = JsonEncodedText.Encode("reasoning");
        public static readonly JsonEncodedText Delta = JsonEncodedText.Encode("delta");
        public static readonly JsonEncodedText Usage = JsonEncodedText.Encode("usage");
        public static readonly JsonEncodedText PromptTokens = JsonEncodedText.Encode("prompt_tokens");
        public static readonly JsonEncodedText TotalTokens = JsonEncodedText.Encode("total_tokens");
        public static readonly JsonEncodedText CompletionTokens = JsonEncodedText.Encode("completion_tokens");
        public static readonly JsonEncodedText PromptTokensDetails = JsonEncodedText.Encode("prompt_tokens_details");
        public static readonly JsonEncodedText CachedTokens = JsonEncodedText.Encode("cached_tokens");
        public static readonly JsonEncodedText Token = JsonEncodedText.Encode("token");
        public static readonly JsonEncodedText Logprob = JsonEncodedText.Encode("logprob");
        public static readonly JsonEncodedText Bytes = JsonEncodedText.Encode("bytes");
        public static readonly JsonEncodedText TopLogprobs = JsonEncodedText.Encode("top_logprobs");
        public static readonly JsonEncodedText TextOffset = JsonEncodedText.Encode("text_offset");
        public static readonly JsonEncodedText TokenLogprobs = JsonEncodedText.Encode("token_logprobs");
        public static readonly JsonEncodedText Tokens = JsonEncodedText.Encode("tokens");
    }

    /// <summary>Constant values, encoded once.</summary>
    private static class V
    {
        public static readonly JsonEncodedText ChatCompletion = JsonEncodedText.Encode("chat.completion");
        public static readonly JsonEncodedText ChatChunk = JsonEncodedText.Encode("chat.completion.chunk");
        public static readonly JsonEncodedText TextCompletion = JsonEncodedText.Encode("text_completion");
        public static readonly JsonEncodedText Assistant = JsonEncodedText.Encode("assistant");
    }

    /// <summary>The complete non-streaming body; <paramref name="logprobs"/> is needed when the request asked for logprobs.</summary>
    public static void WriteResponse(Utf8JsonWriter w, InferenceRequest request, long created, IReadOnlyList<GeneratedText> choices, Usage usage, LogprobGenerator? logprobs = null)
    {
        var chat = request.Kind == EndpointKind.Chat;
        w.WriteStartObject();
        WriteHeader(w, request, chat ? V.ChatCompletion : V.TextCompletion, created);
        w.WriteStartArray(P.Choices);
        for (var i = 0; i < choices.Count; i++)
        {
            w.WriteStartObject();
            w.WriteNumber(P.Index, i);
            if (chat)
            {
                // vLLM ChatMessage, every field as model_dump() writes it.
                w.WriteStartObject(P.Message);
                w.WriteString(P.Role, V.Assistant);
                w.WriteString(P.Content, choices[i].Text);
                WriteNulls(w, NullMessageFields);
                w.WriteStartArray(P.ToolCalls);
                w.WriteEndArray();
                w.WriteNull(P.Reasoning);
                w.WriteEndObject();
            }
            else
            {
                var prompt = request.Prompts[i / request.N];
                w.WriteString(P.Text, request.Echo ? prompt.EchoText + choices[i].Text : choices[i].Text);
            }

            if (request.TopLogprobs is { } top && logprobs is not null)
            {
                WriteLogprobs(w, chat, logprobs, top, choices[i].Tokens, request.Echo ? request.Prompts[i / request.N].EchoPieces : null);
            }
            else
            {
                w.WriteNull(P.Logprobs);
            }

            w.WriteString(P.FinishReason, choices[i].FinishReason);
            WriteStopReason(w, choices[i].StopReason);
            WriteNulls(w, chat ? NullChatChoiceFields : NullCompletionChoiceFields);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteNulls(w, NullResponseFields);
        WriteUsage(w, usage);
        WriteNulls(w, chat ? NullChatTrailerFields : NullCompletionTrailerFields);
        w.WriteEndObject();
    }

    // The fields vLLM's non-streaming models always carry (model_dump() keeps None values) that a simulator
    // leaves null (vllm/entrypoints/openai/*/protocol.py: ChatCompletionResponse, ChatMessage,
    // ChatCompletionResponseChoice, CompletionResponse, CompletionResponseChoice).
    private static readonly JsonEncodedText[] NullMessageFields = [Encode("refusal"), Encode("annotations"), Encode("audio"), Encode("function_call")];
    private static readonly JsonEncodedText[] NullChatChoiceFields = [Encode("token_ids")];
    private static readonly JsonEncodedText[] NullCompletionChoiceFields = [Encode("token_ids"), Encode("prompt_logprobs"), Encode("prompt_token_ids")];
    private static readonly JsonEncodedText[] NullResponseFields = [Encode("service_tier"), Encode("system_fingerprint")];
    private static readonly JsonEncodedText[] NullChatTrailerFields = [Encode("prompt_logprobs"), Encode("prompt_token_ids"), Encode("kv_transfer_params")];
    private static readonly JsonEncodedText[] NullCompletionTrailerFields = [Encode("kv_transfer_params")];

    private static JsonEncodedText Encode(string name) => JsonEncodedText.Encode(name);

    private static void WriteNulls(Utf8JsonWriter w, JsonEncodedText[] names)
    {
        foreach (var name in names)
        {
            w.WriteNull(name);
        }
    }

    /// <summary>
    /// One streaming chunk for one choice. <paramref name="role"/> marks the chat role chunk;
    /// <paramref name="finishReason"/> the final chunk (empty delta / text). <paramref name="logprobs"/>: those of the
    /// chunk's token (<paramref name="content"/>), or null.
    /// </summary>
    public static void WriteChunk(Utf8JsonWriter w, InferenceRequest request, long created, int index, string? content, bool role, string? finishReason, Usage? continuousUsage, string? stopReason = null, ChunkLogprobs? logprobs = null)
    {
        var chat = request.Kind == EndpointKind.Chat;
        w.WriteStartObject();
        WriteHeader(w, request, chat ? V.ChatChunk : V.TextCompletion, created);
        w.WriteStartArray(P.Choices);
        w.WriteStartObject();
        w.WriteNumber(P.Index, index);
        if (chat)
        {
            w.WriteStartObject(P.Delta);
            if (role)
            {
                w.WriteString(P.Role, V.Assistant);
                w.WriteString(P.Content, "");
            }
            else if (content is not null)
            {
                w.WriteString(P.Content, content);
            }

            w.WriteEndObject();
        }
        else
        {
            w.WriteString(P.Text, content ?? "");
        }

        if (logprobs is { } lp)
        {
            WriteChunkLogprobs(w, chat, lp);
        }
        else
        {
            w.WriteNull(P.Logprobs);
        }

        if (finishReason is null)
        {
            w.WriteNull(P.FinishReason);
        }
        else
        {
            w.WriteString(P.FinishReason, finishReason);
        }

        if (!chat || finishReason is not null)
        {
            WriteStopReason(w, stopReason);
        }

        w.WriteEndObject();
        w.WriteEndArray();
        if (continuousUsage is { } usage)
        {
            WriteUsage(w, usage);
        }
        else
        {
            w.WriteNull(P.Usage);
        }

        w.WriteEndObject();
    }

    /// <summary>The final usage chunk of <c>stream_options.include_usage</c>: empty choices.</summary>
    public static void WriteUsageChunk(Utf8JsonWriter w, InferenceRequest request, long created, Usage usage)
    {
        w.WriteStartObject();
        WriteHeader(w, request, request.Kind == EndpointKind.Chat ? V.ChatChunk : V.TextCompletion, created);
        w.WriteStartArray(P.Choices);
        w.WriteEndArray();
        WriteUsage(w, usage, omitNullDetails: true); // vLLM writes this chunk with exclude_none
        w.WriteEndObject();
    }

    /// <summary>A whole choice's logprobs: chat ChatCompletionLogProbs or completions CompletionLogProbs.</summary>
    /// <param name="echoPieces">Completions echo: the prompt's pieces, listed before the output's; the first has no logprob (null), as in vLLM's prompt logprobs.</param>
    private static void WriteLogprobs(Utf8JsonWriter w, bool chat, LogprobGenerator generator, int top, IReadOnlyList<string> tokens, IReadOnlyList<string>? echoPieces = null)
    {
        w.WriteStartObject(P.Logprobs);
        if (chat)
        {
            w.WriteStartArray(P.Content);
            for (var k = 0; k < tokens.Count; k++)
            {
                WriteChatContent(w, generator, top, tokens[k], k);
            }

            w.WriteEndArray();
        }
        else
        {
            IReadOnlyList<string> all = echoPieces is { Count: > 0 } ? [.. echoPieces, .. tokens] : tokens;
            var unscored = echoPieces is { Count: > 0 } ? 1 : 0;
            w.WriteStartArray(P.TextOffset);
            var offset = 0;
            foreach (var token in all)
            {
                w.WriteNumberValue(offset);
                offset += LogprobGenerator.CodePointLength(token);
            }

            w.WriteEndArray();
            w.WriteStartArray(P.TokenLogprobs);
            for (var k = 0; k < all.Count; k++)
            {
                if (k < unscored)
                {
                    w.WriteNullValue();
                }
                else
                {
                    w.WriteNumberValue(LogprobGenerator.ChosenLogprob(k));
                }
            }

            w.WriteEndArray();
            w.WriteStartArray(P.Tokens);
            foreach (var token in all)
            {
                w.WriteStringValue(token);
            }

            w.WriteEndArray();
            w.WriteStartArray(P.TopLogprobs);
            for (var k = 0; k < all.Count; k++)
            {
                if (k < unscored)
                {
                    w.WriteNullValue();
                }
                else
                {
                    WriteCompletionTop(w, generator, top, all[k], k);
                }
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    /// <summary>The logprobs of a chunk's single token, in the same shapes as <see cref="WriteLogprobs"/>.</summary>
    private static void WriteChunkLogprobs(Utf8JsonWriter w, bool chat, ChunkLogprobs lp)
    {
        if (!chat && lp.EchoPieces is { Count: > 0 } echoPieces)
        {
            // The first chunk of an echoed completion: the prompt's pieces, then its token, as the whole-body form.
            WriteLogprobs(w, chat, lp.Generator, lp.TopLogprobs, lp.Token is null ? [] : [lp.Token], echoPieces);
            return;
        }

        var token = lp.Token ?? "";
        w.WriteStartObject(P.Logprobs);
        if (chat)
        {
            w.WriteStartArray(P.Content);
            WriteChatContent(w, lp.Generator, lp.TopLogprobs, token, lp.Position);
            w.WriteEndArray();
        }
        else
        {
            w.WriteStartArray(P.TextOffset);
            w.WriteNumberValue(lp.TextOffset);
            w.WriteEndArray();
            w.WriteStartArray(P.TokenLogprobs);
            w.WriteNumberValue(LogprobGenerator.ChosenLogprob(lp.Position));
            w.WriteEndArray();
            w.WriteStartArray(P.Tokens);
            w.WriteStringValue(token);
            w.WriteEndArray();
            w.WriteStartArray(P.TopLogprobs);
            WriteCompletionTop(w, lp.Generator, lp.TopLogprobs, token, lp.Position);
            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    /// <summary>ChatCompletionLogProbsContent: token, logprob, bytes, top_logprobs (the first <paramref name="top"/> entries, chosen first).</summary>
    private static void WriteChatContent(Utf8JsonWriter w, LogprobGenerator generator, int top, string token, int position)
    {
        w.WriteStartObject();
        WriteChatLogprob(w, token, LogprobGenerator.ChosenLogprob(position));
        w.WriteStartArray(P.TopLogprobs);
        foreach (var entry in generator.TopLogprobs(token, position, top))
        {
            w.WriteStartObject();
            WriteChatLogprob(w, entry.Token, entry.Logprob);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>ChatCompletionLogProb's fields: token, logprob, bytes (the token's UTF-8 bytes).</summary>
    private static void WriteChatLogprob(Utf8JsonWriter w, string token, double logprob)
    {
        w.WriteString(P.Token, token);
        w.WriteNumber(P.Logprob, logprob);
        w.WriteStartArray(P.Bytes);
        var count = Encoding.UTF8.GetByteCount(token);
        Span<byte> bytes = count <= 256 ? stackalloc byte[count] : new byte[count];
        Encoding.UTF8.GetBytes(token, bytes);
        foreach (var b in bytes)
        {
            w.WriteNumberValue(b);
        }

        w.WriteEndArray();
    }

    /// <summary>
    /// One completions top_logprobs map {token: logprob}: the chosen token and the best alternatives, as vLLM's
    /// entries 0..logprobs of the step (the sampled token is the top one here, so max(logprobs, 1) entries).
    /// </summary>
    private static void WriteCompletionTop(Utf8JsonWriter w, LogprobGenerator generator, int top, string token, int position)
    {
        w.WriteStartObject();
        foreach (var entry in generator.TopLogprobs(token, position, Math.Max(top, 1)))
        {
            w.WriteNumber(entry.Token, entry.Logprob);
        }

        w.WriteEndObject();
    }

    /// <summary>vLLM's stop_reason: the stop string that matched, else null.</summary>
    private static void WriteStopReason(Utf8JsonWriter w, string? stopReason)
    {
        if (stopReason is null)
        {
            w.WriteNull(P.StopReason);
        }
        else
        {
            w.WriteString(P.StopReason, stopReason);
        }
    }

    public static void WriteUsage(Utf8JsonWriter w, Usage usage, bool omitNullDetails = false)
    {
        w.WriteStartObject(P.Usage);
        w.WriteNumber(P.PromptTokens, usage.PromptTokens);
        w.WriteNumber(P.TotalTokens, usage.TotalTokens);
        w.WriteNumber(P.CompletionTokens, usage.CompletionTokens);
        if (usage.CachedTokens is { } cached)
        {
            w.WriteStartObject(P.PromptTokensDetails);
            w.WriteNumber(P.CachedTokens, cached);
            w.WriteEndObject();
        }
        else if (!omitNullDetails)
        {
            w.WriteNull(P.PromptTokensDetails);
        }
        w.WriteEndObject();
    }
}
