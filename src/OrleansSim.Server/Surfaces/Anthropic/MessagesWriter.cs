using System.Text.Json;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Surfaces.Anthropic;

/// <summary>
/// Anthropic's error envelope as vLLM's /v1/messages answers it (translate_error_response):
/// <c>{"type":"error","error":{"type","message"}}</c>, the inner type being vLLM's error type for the status.
/// </summary>
public static class AnthropicWire
{
    public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    public static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
    public static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");

    public static void WriteError(Utf8JsonWriter w, string type, string message)
    {
        w.WriteStartObject();
        w.WriteString(Type, Error);
        w.WriteStartObject(Error);
        w.WriteString(Type, type);
        w.WriteString(Message, message);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static Task WriteErrorAsync(HttpContext context, ApiException error) =>
        JsonResponse.WriteAsync(context, error, static (w, e) => WriteError(w, e.Type ?? ApiErrors.TypeFor(e.StatusCode), e.Message), error.StatusCode);
}

/// <summary>
/// vLLM's Anthropic shapes (vllm/entrypoints/anthropic/serving.py). The body is AnthropicMessagesResponse dumped
/// without nulls: id (vLLM's chat completion id), type, role, content (a text block when there is text), model,
/// stop_reason (end_turn / max_tokens / tool_use), usage. The stream is vLLM's converted chat stream, each event
/// framed with its <c>event:</c> line: message_start (with the prompt's input_tokens), content_block_start,
/// content_block_delta text_delta per token, content_block_stop, message_delta (stop_reason, usage), message_stop,
/// and the <c>data: [DONE]</c> line vLLM's converter keeps from the chat stream. vLLM sends no ping. A tool-call answer is one tool_use block per call (id, name, input), streamed as
/// content_block_start with an empty input and input_json_delta pieces of the arguments.
/// </summary>
public sealed class MessagesWriter(InferenceRun run) : ResponseWriter(run)
{
    /// <summary>vLLM serves /v1/messages through its chat path, so the message id is the chat completion's.</summary>
    public const string IdPrefix = "chatcmpl-";

    private static readonly JsonEncodedText MessageStart = JsonEncodedText.Encode("message_start");
    private static readonly JsonEncodedText MessageDelta = JsonEncodedText.Encode("message_delta");
    private static readonly JsonEncodedText MessageStop = JsonEncodedText.Encode("message_stop");
    private static readonly JsonEncodedText BlockStart = JsonEncodedText.Encode("content_block_start");
    private static readonly JsonEncodedText BlockDelta = JsonEncodedText.Encode("content_block_delta");
    private static readonly JsonEncodedText BlockStop = JsonEncodedText.Encode("content_block_stop");
    private static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText Role = JsonEncodedText.Encode("role");
    private static readonly JsonEncodedText Assistant = JsonEncodedText.Encode("assistant");
    private static readonly JsonEncodedText Content = JsonEncodedText.Encode("content");
    private static readonly JsonEncodedText ContentBlock = JsonEncodedText.Encode("content_block");
    private static readonly JsonEncodedText Model = JsonEncodedText.Encode("model");
    private static readonly JsonEncodedText StopReason = JsonEncodedText.Encode("stop_reason");
    private static readonly JsonEncodedText StopSequence = JsonEncodedText.Encode("stop_sequence");
    private static readonly JsonEncodedText Usage = JsonEncodedText.Encode("usage");
    private static readonly JsonEncodedText InputTokens = JsonEncodedText.Encode("input_tokens");
    private static readonly JsonEncodedText OutputTokens = JsonEncodedText.Encode("output_tokens");
    private static readonly JsonEncodedText Delta = JsonEncodedText.Encode("delta");
    private static readonly JsonEncodedText Index = JsonEncodedText.Encode("index");
    private static readonly JsonEncodedText Text = JsonEncodedText.Encode("text");
    private static readonly JsonEncodedText TextDelta = JsonEncodedText.Encode("text_delta");
    private static readonly JsonEncodedText InputJsonDelta = JsonEncodedText.Encode("input_json_delta");
    private static readonly JsonEncodedText PartialJson = JsonEncodedText.Encode("partial_json");
    private static readonly JsonEncodedText ToolUse = JsonEncodedText.Encode("tool_use");
    private static readonly JsonEncodedText Name = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText Input = JsonEncodedText.Encode("input");

    private bool _failed;

    /// <summary>vLLM's stop_reason_map over the chat finish reasons; null for any other.</summary>
    public static string? StopReasonOf(string finishReason) => finishReason switch
    {
        "stop" => "end_turn",
        "length" => "max_tokens",
        "tool_calls" => "tool_use",
        _ => null,
    };

    public override void WriteBody(Utf8JsonWriter w)
    {
        var choice = Run.Choices[0];
        w.WriteStartObject();
        WriteId(w);
        w.WriteString(AnthropicWire.Type, AnthropicWire.Message);
        w.WriteString(Role, Assistant);
        w.WriteStartArray(Content);
        if (choice.ToolCalls is { } calls)
        {
            foreach (var call in calls)
            {
                w.WriteStartObject();
                WriteToolUseHeader(w, call);
                w.WritePropertyName(Input);
                WriteInput(w, call.Arguments);
                w.WriteEndObject();
            }
        }
        else if (choice.Tokens.Count > 0)
        {
            w.WriteStartObject();
            w.WriteString(AnthropicWire.Type, Text);
            w.WriteString(Text, choice.Text);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString(Model, Request.ResponseModel);
        if (StopReasonOf(choice.FinishReason) is { } stopReason)
        {
            w.WriteString(StopReason, stopReason);
        }

        WriteUsage(w, Request.PromptTokens, choice.Tokens.Count);
        w.WriteEndObject();
    }

    public override void WriteStep(SseWriter sse, int k)
    {
        var choice = Run.Choices[0];
        var tokens = choice.Tokens;
        if (k == 0)
        {
            // The chat stream's role chunk: the message opens with the prompt's tokens and no output yet.
            var w = sse.BeginEvent(MessageStart);
            w.WriteStartObject();
            w.WriteString(AnthropicWire.Type, MessageStart);
            w.WriteStartObject(AnthropicWire.Message);
            WriteId(w);
            w.WriteStartArray(Content);
            w.WriteEndArray();
            w.WriteString(Model, Request.ResponseModel);
            w.WriteNull(StopReason);
            w.WriteNull(StopSequence);
            WriteUsage(w, Request.PromptTokens, 0);
            w.WriteEndObject();
            w.WriteEndObject();
            sse.EndEvent();
            if (tokens.Count > 0 && choice.ToolCalls is null)
            {
                w = BeginBlockEvent(sse, BlockStart);
                w.WriteStartObject(ContentBlock);
                w.WriteString(AnthropicWire.Type, Text);
                w.WriteString(Text, "");
                w.WriteEndObject();
                EndBlockEvent(sse, w, 0);
            }
        }

        if (k >= tokens.Count)
        {
            return;
        }

        if (choice.ToolCalls is { } calls)
        {
            // vLLM's converter: each call is a tool_use block (opened with an empty input), its arguments input_json_delta.
            var block = choice.ToolCallOfStep![k];
            if (choice.OpensToolCall(k))
            {
                if (k > 0)
                {
                    EndBlockEvent(sse, BeginBlockEvent(sse, BlockStop), block - 1);
                }

                var start = BeginBlockEvent(sse, BlockStart);
                start.WriteStartObject(ContentBlock);
                WriteToolUseHeader(start, calls[block]);
                start.WriteStartObject(Input);
                start.WriteEndObject();
                start.WriteEndObject();
                EndBlockEvent(sse, start, block);
            }

            if (tokens[k].Length > 0)
            {
                var delta = BeginBlockEvent(sse, BlockDelta);
                delta.WriteStartObject(Delta);
                delta.WriteString(AnthropicWire.Type, InputJsonDelta);
                delta.WriteString(PartialJson, tokens[k]);
                delta.WriteEndObject();
                EndBlockEvent(sse, delta, block);
            }

            return;
        }

        var text = BeginBlockEvent(sse, BlockDelta);
        text.WriteStartObject(Delta);
        text.WriteString(AnthropicWire.Type, TextDelta);
        text.WriteString(Text, tokens[k]);
        text.WriteEndObject();
        EndBlockEvent(sse, text, 0);
    }

    /// <summary>Opens a content-block event (<c>{"type": name, …</c>); <see cref="EndBlockEvent"/> adds its index.</summary>
    private static Utf8JsonWriter BeginBlockEvent(SseWriter sse, JsonEncodedText name)
    {
        var w = sse.BeginEvent(name);
        w.WriteStartObject();
        w.WriteString(AnthropicWire.Type, name);
        return w;
    }

    private static void EndBlockEvent(SseWriter sse, Utf8JsonWriter w, int index)
    {
        w.WriteNumber(Index, index);
        w.WriteEndObject();
        sse.EndEvent();
    }

    /// <summary>A tool_use block's type, id (vLLM's tool call id) and name.</summary>
    private static void WriteToolUseHeader(Utf8JsonWriter w, Core.Generation.Tools.GeneratedToolCall call)
    {
        w.WriteString(AnthropicWire.Type, ToolUse);
        w.WriteString(Id, call.Id);
        w.WriteString(Name, call.Name);
    }

    /// <summary>A call's arguments as the block's <c>input</c> object; arguments cut short by max_tokens (not JSON) give <c>{}</c>.</summary>
    private static void WriteInput(Utf8JsonWriter w, string arguments)
    {
        try
        {
            using var parsed = JsonDocument.Parse(arguments);
            if (parsed.RootElement.ValueKind == JsonValueKind.Object)
            {
                parsed.RootElement.WriteTo(w);
                return;
            }
        }
        catch (JsonException)
        {
        }

        w.WriteStartObject();
        w.WriteEndObject();
    }

    public override void WriteStreamEnd(SseWriter sse)
    {
        var choice = Run.Choices[0];
        if (choice.Tokens.Count > 0)
        {
            EndBlockEvent(sse, BeginBlockEvent(sse, BlockStop), choice.ToolCallOfStep is { } owners ? owners[^1] : 0);
        }

        var w = sse.BeginEvent(MessageDelta);
        w.WriteStartObject();
        w.WriteString(AnthropicWire.Type, MessageDelta);
        w.WriteStartObject(Delta);
        if (StopReasonOf(choice.FinishReason) is { } stopReason)
        {
            w.WriteString(StopReason, stopReason);
        }
        else
        {
            w.WriteNull(StopReason);
        }

        w.WriteEndObject();
        WriteUsage(w, Request.PromptTokens, choice.Tokens.Count);
        w.WriteEndObject();
        sse.EndEvent();
    }

    /// <summary>
    /// A sleep aborted the stream: message_start if no token had come yet, then the closing events over the tokens produced;
    /// the chat finish reason <c>abort</c> is not in vLLM's stop_reason_map, so message_delta's stop_reason is null.
    /// </summary>
    public override void WriteStreamAborted(SseWriter sse, int produced)
    {
        if (produced == 0)
        {
            WriteStep(sse, 0); // the cut output has no token: only message_start
        }

        WriteStreamEnd(sse);
    }

    /// <summary>vLLM's converter turns a failure into an <c>error</c> event (type internal_error); only <c>[DONE]</c> follows.</summary>
    public override void WriteStreamError(SseWriter sse, int status, string message, string? param)
    {
        _failed = true;
        AnthropicWire.WriteError(sse.BeginEvent(AnthropicWire.Error), "internal_error", message);
        sse.EndEvent();
    }

    /// <summary>
    /// message_stop (unless the stream failed), then the chat stream's <c>data: [DONE]</c>, which vLLM's converter passes
    /// on after message_stop and after an error event alike. It is a data line without an event name: the Anthropic SDKs
    /// skip it.
    /// </summary>
    public override void WriteStreamClose(SseWriter sse)
    {
        if (!_failed)
        {
            var w = sse.BeginEvent(MessageStop);
            w.WriteStartObject();
            w.WriteString(AnthropicWire.Type, MessageStop);
            w.WriteEndObject();
            sse.EndEvent();
        }

        sse.WriteDone();
    }

    private void WriteId(Utf8JsonWriter w) => OpenAI.OpenAiWire.WriteId(w, IdPrefix, Request.RequestId);

    private static void WriteUsage(Utf8JsonWriter w, int input, int output)
    {
        w.WriteStartObject(Usage);
        w.WriteNumber(InputTokens, input);
        w.WriteNumber(OutputTokens, output);
        w.WriteEndObject();
    }
}
