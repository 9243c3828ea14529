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
        public static readonly JsonEncodedText Delta = JsonEncodedText.Encode("delta");
        public static readonly JsonEncodedText Usage = JsonEncodedText.Encode("usage");
        public static readonly JsonEncodedText PromptTokens = JsonEncodedText.Encode("prompt_tokens");
        public static readonly JsonEncodedText TotalTokens = JsonEncodedText.Encode("total_tokens");
        public static readonly JsonEncodedText CompletionTokens = JsonEncodedText.Encode("completion_tokens");
        public static readonly JsonEncodedText PromptTokensDetails = JsonEncodedText.Encode("prompt_tokens_details");
        public static readonly JsonEncodedText CachedTokens = JsonEncodedText.Encode("cached_tokens");
    }

    /// <summary>Constant values, encoded once.</summary>
    private static class V
    {
        public static readonly JsonEncodedText ChatCompletion = JsonEncodedText.Encode("chat.completion");
        public static readonly JsonEncodedText ChatChunk = JsonEncodedText.Encode("chat.completion.chunk");
        public static readonly JsonEncodedText TextCompletion = JsonEncodedText.Encode("text_completion");
        public static readonly JsonEncodedText Assistant = JsonEncodedText.Encode("assistant");
    }

    /// <summary>The complete non-streaming body.</summary>
    public static void WriteResponse(Utf8JsonWriter w, InferenceRequest request, long created, IReadOnlyList<GeneratedText> choices, Usage usage)
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
                w.WriteStartObject(P.Message);
                w.WriteString(P.Role, V.Assistant);
                w.WriteString(P.Content, choices[i].Text);
                w.WriteStartArray(P.ToolCalls);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            else
            {
                w.WriteString(P.Text, choices[i].Text);
            }

            w.WriteNull(P.Logprobs);
            w.WriteString(P.FinishReason, choices[i].FinishReason);
            WriteStopReason(w, choices[i].StopReason);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteUsage(w, usage);
        w.WriteEndObject();
    }

    /// <summary>
    /// One streaming chunk for one choice. <paramref name="role"/> marks the chat role chunk;
    /// <paramref name="finishReason"/> the final chunk (empty delta / text).
    /// </summary>
    public static void WriteChunk(Utf8JsonWriter w, InferenceRequest request, long created, int index, string? content, bool role, string? finishReason, Usage? continuousUsage, string? stopReason = null)
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

        w.WriteNull(P.Logprobs);
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
        WriteUsage(w, usage);
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

    public static void WriteUsage(Utf8JsonWriter w, Usage usage)
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
        else
        {
            w.WriteNull(P.PromptTokensDetails);
        }
        w.WriteEndObject();
    }
}
