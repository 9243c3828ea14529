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

    /// <summary>The complete non-streaming body.</summary>
    public static void WriteResponse(Utf8JsonWriter w, InferenceRequest request, long created, IReadOnlyList<GeneratedText> choices, Usage usage)
    {
        var chat = request.Kind == EndpointKind.Chat;
        w.WriteStartObject();
        w.WriteString("id", ResponseId(request.Kind, request.RequestId));
        w.WriteString("object", chat ? "chat.completion" : "text_completion");
        w.WriteNumber("created", created);
        w.WriteString("model", request.ResponseModel);
        w.WriteStartArray("choices");
        for (var i = 0; i < choices.Count; i++)
        {
            w.WriteStartObject();
            w.WriteNumber("index", i);
            if (chat)
            {
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                w.WriteString("content", choices[i].Text);
                w.WriteStartArray("tool_calls");
                w.WriteEndArray();
                w.WriteEndObject();
            }
            else
            {
                w.WriteString("text", choices[i].Text);
            }

            w.WriteNull("logprobs");
            w.WriteString("finish_reason", choices[i].FinishReason);
            w.WriteNull("stop_reason");
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
    public static void WriteChunk(Utf8JsonWriter w, InferenceRequest request, long created, int index, string? content, bool role, string? finishReason, Usage? continuousUsage)
    {
        var chat = request.Kind == EndpointKind.Chat;
        w.WriteStartObject();
        w.WriteString("id", ResponseId(request.Kind, request.RequestId));
        w.WriteString("object", chat ? "chat.completion.chunk" : "text_completion");
        w.WriteNumber("created", created);
        w.WriteString("model", request.ResponseModel);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", index);
        if (chat)
        {
            w.WriteStartObject("delta");
            if (role)
            {
                w.WriteString("role", "assistant");
                w.WriteString("content", "");
            }
            else if (content is not null)
            {
                w.WriteString("content", content);
            }

            w.WriteEndObject();
        }
        else
        {
            w.WriteString("text", content ?? "");
        }

        w.WriteNull("logprobs");
        if (finishReason is null)
        {
            w.WriteNull("finish_reason");
        }
        else
        {
            w.WriteString("finish_reason", finishReason);
        }

        if (!chat || finishReason is not null)
        {
            w.WriteNull("stop_reason");
        }

        w.WriteEndObject();
        w.WriteEndArray();
        if (continuousUsage is { } usage)
        {
            WriteUsage(w, usage);
        }
        else
        {
            w.WriteNull("usage");
        }

        w.WriteEndObject();
    }

    /// <summary>The final usage chunk of <c>stream_options.include_usage</c>: empty choices.</summary>
    public static void WriteUsageChunk(Utf8JsonWriter w, InferenceRequest request, long created, Usage usage)
    {
        w.WriteStartObject();
        w.WriteString("id", ResponseId(request.Kind, request.RequestId));
        w.WriteString("object", request.Kind == EndpointKind.Chat ? "chat.completion.chunk" : "text_completion");
        w.WriteNumber("created", created);
        w.WriteString("model", request.ResponseModel);
        w.WriteStartArray("choices");
        w.WriteEndArray();
        WriteUsage(w, usage);
        w.WriteEndObject();
    }

    public static void WriteUsage(Utf8JsonWriter w, Usage usage)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", usage.PromptTokens);
        w.WriteNumber("total_tokens", usage.TotalTokens);
        w.WriteNumber("completion_tokens", usage.CompletionTokens);
        if (usage.CachedTokens is { } cached)
        {
            w.WriteStartObject("prompt_tokens_details");
            w.WriteNumber("cached_tokens", cached);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("prompt_tokens_details");
        }
        w.WriteEndObject();
    }
}
