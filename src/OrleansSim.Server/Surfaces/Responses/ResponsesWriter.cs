using System.Text.Json;
using OrleansSim.Core.Generation.Tools;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;
using OrleansSim.Server.Surfaces.OpenAI;

namespace OrleansSim.Server.Surfaces.Responses;

/// <summary>
/// vLLM's Responses shapes (vllm/entrypoints/openai/responses: ResponsesResponse.from_request, the simple streaming
/// processor), every field as <c>model_dump(mode="json")</c> writes it. The response is <c>resp_</c> + the request id
/// with status completed (incomplete with <c>incomplete_details.reason</c> max_output_tokens when the output hit its
/// limit) and one assistant message item holding one output_text part. The stream sends every event with its
/// <c>event:</c> line and a running <c>sequence_number</c>: response.created and response.in_progress when the stream
/// opens, then output_item.added, content_part.added and output_text.delta per token, and at the end
/// output_text.done, content_part.done, output_item.done and response.completed. No <c>[DONE]</c> follows. A tool-call
/// answer is a function_call item (<c>fc_</c> id, <c>call_</c> call id), streamed as output_item.added,
/// function_call_arguments.delta per piece, function_call_arguments.done and output_item.done.
/// </summary>
public sealed class ResponsesWriter(InferenceRun run) : ResponseWriter(run)
{
    public const string IdPrefix = "resp_";
    public const string ItemIdPrefix = "msg_";

    private static readonly JsonEncodedText Created = E("response.created");
    private static readonly JsonEncodedText InProgress = E("response.in_progress");
    private static readonly JsonEncodedText ItemAdded = E("response.output_item.added");
    private static readonly JsonEncodedText PartAdded = E("response.content_part.added");
    private static readonly JsonEncodedText TextDelta = E("response.output_text.delta");
    private static readonly JsonEncodedText TextDone = E("response.output_text.done");
    private static readonly JsonEncodedText PartDone = E("response.content_part.done");
    private static readonly JsonEncodedText ItemDone = E("response.output_item.done");
    private static readonly JsonEncodedText Completed = E("response.completed");
    private static readonly JsonEncodedText ErrorEvent = E("error");
    private static readonly JsonEncodedText ArgumentsDelta = E("response.function_call_arguments.delta");
    private static readonly JsonEncodedText ArgumentsDone = E("response.function_call_arguments.done");
    private static readonly JsonEncodedText Arguments = E("arguments");
    private static readonly JsonEncodedText CallId = E("call_id");
    private static readonly JsonEncodedText Name = E("name");
    private static readonly JsonEncodedText FunctionCall = E("function_call");

    private static readonly JsonEncodedText Type = E("type");
    private static readonly JsonEncodedText Response = E("response");
    private static readonly JsonEncodedText SequenceNumber = E("sequence_number");
    private static readonly JsonEncodedText Item = E("item");
    private static readonly JsonEncodedText ItemId = E("item_id");
    private static readonly JsonEncodedText OutputIndex = E("output_index");
    private static readonly JsonEncodedText ContentIndex = E("content_index");
    private static readonly JsonEncodedText Part = E("part");
    private static readonly JsonEncodedText Delta = E("delta");
    private static readonly JsonEncodedText Text = E("text");
    private static readonly JsonEncodedText Logprobs = E("logprobs");
    private static readonly JsonEncodedText Annotations = E("annotations");
    private static readonly JsonEncodedText OutputText = E("output_text");
    private static readonly JsonEncodedText Content = E("content");
    private static readonly JsonEncodedText Role = E("role");
    private static readonly JsonEncodedText Assistant = E("assistant");
    private static readonly JsonEncodedText Status = E("status");
    private static readonly JsonEncodedText Message = E("message");
    private static readonly JsonEncodedText Code = E("code");
    private static readonly JsonEncodedText Param = E("param");

    // ResponsesResponse, in field order.
    private static readonly JsonEncodedText CreatedAt = E("created_at");
    private static readonly JsonEncodedText IncompleteDetails = E("incomplete_details");
    private static readonly JsonEncodedText Reason = E("reason");
    private static readonly JsonEncodedText Instructions = E("instructions");
    private static readonly JsonEncodedText Metadata = E("metadata");
    private static readonly JsonEncodedText Output = E("output");
    private static readonly JsonEncodedText ParallelToolCalls = E("parallel_tool_calls");
    private static readonly JsonEncodedText Temperature = E("temperature");
    private static readonly JsonEncodedText ToolChoice = E("tool_choice");
    private static readonly JsonEncodedText Tools = E("tools");
    private static readonly JsonEncodedText TopP = E("top_p");
    private static readonly JsonEncodedText Background = E("background");
    private static readonly JsonEncodedText MaxOutputTokens = E("max_output_tokens");
    private static readonly JsonEncodedText[] NullsAfterMaxOutputTokens = [E("max_tool_calls"), E("previous_response_id"), E("prompt"), E("reasoning")];
    private static readonly JsonEncodedText ServiceTier = E("service_tier");
    private static readonly JsonEncodedText TextConfig = E("text");
    private static readonly JsonEncodedText[] NullsAfterText = [E("top_logprobs")];
    private static readonly JsonEncodedText Truncation = E("truncation");
    private static readonly JsonEncodedText Usage = E("usage");
    private static readonly JsonEncodedText[] NullTrailer = [E("user"), E("input_messages"), E("output_messages")];

    // ResponseUsage.
    private static readonly JsonEncodedText InputTokens = E("input_tokens");
    private static readonly JsonEncodedText InputTokensDetails = E("input_tokens_details");
    private static readonly JsonEncodedText CachedTokens = E("cached_tokens");
    private static readonly JsonEncodedText InputTokensPerTurn = E("input_tokens_per_turn");
    private static readonly JsonEncodedText CachedTokensPerTurn = E("cached_tokens_per_turn");
    private static readonly JsonEncodedText OutputTokens = E("output_tokens");
    private static readonly JsonEncodedText OutputTokensDetails = E("output_tokens_details");
    private static readonly JsonEncodedText ReasoningTokens = E("reasoning_tokens");
    private static readonly JsonEncodedText ToolOutputTokens = E("tool_output_tokens");
    private static readonly JsonEncodedText OutputTokensPerTurn = E("output_tokens_per_turn");
    private static readonly JsonEncodedText ToolOutputTokensPerTurn = E("tool_output_tokens_per_turn");
    private static readonly JsonEncodedText TotalTokens = E("total_tokens");

    private int _sequence;
    private string? _itemId;

    private new ResponsesRequest Request => (ResponsesRequest)base.Request;

    private static JsonEncodedText E(string name) => JsonEncodedText.Encode(name);

    public override void WriteBody(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        WriteResponse(w, final: true);
        w.WriteEndObject();
    }

    public override void WriteStreamStart(SseWriter sse)
    {
        foreach (var name in new[] { Created, InProgress })
        {
            var w = Begin(sse, name);
            w.WriteStartObject(Response);
            WriteResponse(w, final: false);
            w.WriteEndObject();
            End(sse, w, name);
        }
    }

    public override void WriteStep(SseWriter sse, int k)
    {
        var choice = Run.Choices[0];
        var tokens = choice.Tokens;
        if (k >= tokens.Count)
        {
            return;
        }

        Utf8JsonWriter w;
        if (choice.ToolCalls is { } calls)
        {
            // vLLM's simple processor: a function_call item per call, its arguments as function_call_arguments.delta events.
            var call = choice.ToolCallOfStep![k];
            if (choice.OpensToolCall(k))
            {
                if (k > 0)
                {
                    WriteFunctionCallDone(sse, calls, call - 1);
                }

                w = Begin(sse, ItemAdded);
                w.WriteStartObject(Item);
                WriteFunctionCallItem(w, calls[call], call, done: false);
                w.WriteEndObject();
                w.WriteNumber(OutputIndex, call);
                End(sse, w, ItemAdded);
            }

            if (tokens[k].Length > 0)
            {
                w = Begin(sse, ArgumentsDelta);
                w.WriteString(Delta, tokens[k]);
                w.WriteString(ItemId, FunctionCallId(call));
                w.WriteNumber(OutputIndex, call);
                End(sse, w, ArgumentsDelta);
            }

            return;
        }

        if (k == 0)
        {
            w = Begin(sse, ItemAdded);
            w.WriteStartObject(Item);
            WriteMessageItem(w, done: false);
            w.WriteEndObject();
            w.WriteNumber(OutputIndex, 0);
            End(sse, w, ItemAdded);

            w = Begin(sse, PartAdded);
            WritePartHeader(w);
            w.WriteStartObject(Part);
            WriteOutputText(w, "", emptyLogprobs: true);
            w.WriteEndObject();
            End(sse, w, PartAdded);
        }

        w = Begin(sse, TextDelta);
        w.WriteNumber(ContentIndex, 0);
        w.WriteString(Delta, tokens[k]);
        WriteItemId(w);
        w.WriteStartArray(Logprobs);
        w.WriteEndArray();
        w.WriteNumber(OutputIndex, 0);
        End(sse, w, TextDelta);
    }

    public override void WriteStreamEnd(SseWriter sse)
    {
        var choice = Run.Choices[0];
        if (choice.ToolCalls is { Count: > 0 } calls)
        {
            WriteFunctionCallDone(sse, calls, calls.Count - 1);
        }
        else if (choice.Tokens.Count > 0)
        {
            var text = choice.Text;
            var w = Begin(sse, TextDone);
            w.WriteNumber(ContentIndex, 0);
            WriteItemId(w);
            w.WriteStartArray(Logprobs);
            w.WriteEndArray();
            w.WriteNumber(OutputIndex, 0);
            w.WriteString(Text, text);
            End(sse, w, TextDone);

            w = Begin(sse, PartDone);
            WritePartHeader(w);
            w.WriteStartObject(Part);
            WriteOutputText(w, text, emptyLogprobs: false);
            w.WriteEndObject();
            End(sse, w, PartDone);

            w = Begin(sse, ItemDone);
            w.WriteStartObject(Item);
            WriteMessageItem(w, done: true);
            w.WriteEndObject();
            w.WriteNumber(OutputIndex, 0);
            End(sse, w, ItemDone);
        }

        var completed = Begin(sse, Completed);
        completed.WriteStartObject(Response);
        WriteResponse(completed, final: true);
        completed.WriteEndObject();
        End(sse, completed, Completed);
    }

    /// <summary>A failure after the first byte: vLLM's streamed <c>error</c> event (ResponseErrorEvent); the stream ends there.</summary>
    public override void WriteStreamError(SseWriter sse, int status, string message, string? param)
    {
        var w = sse.BeginEvent(ErrorEvent);
        w.WriteStartObject();
        w.WriteString(Code, ApiErrors.TypeFor(status));
        w.WriteString(Message, message);
        if (param is null)
        {
            w.WriteNull(Param);
        }
        else
        {
            w.WriteString(Param, param);
        }

        w.WriteNumber(SequenceNumber, _sequence++);
        w.WriteString(Type, ErrorEvent);
        w.WriteEndObject();
        sse.EndEvent();
    }

    /// <summary>The Responses stream has no <c>[DONE]</c> frame.</summary>
    public override void WriteStreamClose(SseWriter sse)
    {
    }

    /// <summary>A call's closing events: function_call_arguments.done (when it has arguments) and output_item.done.</summary>
    private void WriteFunctionCallDone(SseWriter sse, IReadOnlyList<GeneratedToolCall> calls, int call)
    {
        Utf8JsonWriter w;
        if (calls[call].Arguments.Length > 0)
        {
            w = Begin(sse, ArgumentsDone);
            w.WriteString(Arguments, calls[call].Arguments);
            w.WriteString(ItemId, FunctionCallId(call));
            w.WriteString(Name, calls[call].Name);
            w.WriteNumber(OutputIndex, call);
            End(sse, w, ArgumentsDone);
        }

        w = Begin(sse, ItemDone);
        w.WriteStartObject(Item);
        WriteFunctionCallItem(w, calls[call], call, done: true);
        w.WriteEndObject();
        w.WriteNumber(OutputIndex, call);
        End(sse, w, ItemDone);
    }

    /// <summary>The function_call item's id: <c>fc_</c> + the request id (+ the call's index after the first).</summary>
    private string FunctionCallId(int call) => call == 0 ? "fc_" + Request.RequestId : $"fc_{Request.RequestId}_{call}";

    /// <summary>ResponseFunctionToolCall: arguments (empty until done), call_id (<c>call_</c> + the call's random part), name, type, id, status.</summary>
    private void WriteFunctionCallItem(Utf8JsonWriter w, GeneratedToolCall call, int index, bool done)
    {
        w.WriteString(Arguments, done ? call.Arguments : "");
        var random = call.Id.LastIndexOf('-') is var dash and >= 0 ? call.Id[(dash + 1)..] : call.Id;
        w.WriteString(CallId, "call_" + random);
        w.WriteString(Name, call.Name);
        w.WriteString(Type, FunctionCall);
        w.WriteString(OpenAiWire.Id, FunctionCallId(index));
        w.WriteString(Status, done ? "completed" : "in_progress");
    }

    /// <summary>Opens an event's object; <see cref="End"/> adds sequence_number and type and frames it.</summary>
    private static Utf8JsonWriter Begin(SseWriter sse, JsonEncodedText name)
    {
        var w = sse.BeginEvent(name);
        w.WriteStartObject();
        return w;
    }

    private void End(SseWriter sse, Utf8JsonWriter w, JsonEncodedText name)
    {
        w.WriteNumber(SequenceNumber, _sequence++);
        w.WriteString(Type, name);
        w.WriteEndObject();
        sse.EndEvent();
    }

    private void WritePartHeader(Utf8JsonWriter w)
    {
        w.WriteNumber(ContentIndex, 0);
        WriteItemId(w);
        w.WriteNumber(OutputIndex, 0);
    }

    /// <summary>The message item's id, as the item itself writes it (<c>id</c>).</summary>
    private void WriteItemOwnId(Utf8JsonWriter w) => OpenAiWire.WriteId(w, ItemIdPrefix, Request.RequestId);

    /// <summary>The events' reference to the message item (<c>item_id</c>).</summary>
    private void WriteItemId(Utf8JsonWriter w) => w.WriteString(ItemId, _itemId ??= ItemIdPrefix + Request.RequestId);

    /// <summary>ResponseOutputText: annotations, text, type, logprobs ([] on the streamed empty part, else null).</summary>
    private static void WriteOutputText(Utf8JsonWriter w, string text, bool emptyLogprobs)
    {
        w.WriteStartArray(Annotations);
        w.WriteEndArray();
        w.WriteString(Text, text);
        w.WriteString(Type, OutputText);
        if (emptyLogprobs)
        {
            w.WriteStartArray(Logprobs);
            w.WriteEndArray();
        }
        else
        {
            w.WriteNull(Logprobs);
        }
    }

    /// <summary>ResponseOutputMessage: id, content (the output_text part once done), role, status, type.</summary>
    private void WriteMessageItem(Utf8JsonWriter w, bool done)
    {
        var choice = Run.Choices[0];
        WriteItemOwnId(w);
        w.WriteStartArray(Content);
        if (done && choice.Tokens.Count > 0)
        {
            w.WriteStartObject();
            WriteOutputText(w, choice.Text, emptyLogprobs: false);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString(Role, Assistant);
        w.WriteString(Status, done ? "completed" : "in_progress");
        w.WriteString(Type, Message);
    }

    /// <summary>
    /// The response object's fields (the caller opens and closes the object). <paramref name="final"/>: the finished response (output, status, usage);
    /// otherwise the in-progress one of response.created / response.in_progress (no output, no usage).
    /// </summary>
    private void WriteResponse(Utf8JsonWriter w, bool final)
    {
        var request = Request;
        var choice = Run.Choices[0];
        var incomplete = final && choice.FinishReason == "length";
        OpenAiWire.WriteId(w, IdPrefix, request.RequestId);
        w.WriteNumber(CreatedAt, Run.Created);
        if (incomplete)
        {
            w.WriteStartObject(IncompleteDetails);
            w.WriteString(Reason, "max_output_tokens");
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull(IncompleteDetails);
        }

        if (request.Instructions is null)
        {
            w.WriteNull(Instructions);
        }
        else
        {
            w.WriteString(Instructions, request.Instructions);
        }

        if (request.Metadata is { } metadata)
        {
            w.WritePropertyName(Metadata);
            metadata.WriteTo(w);
        }
        else
        {
            w.WriteNull(Metadata);
        }

        w.WriteString(OpenAiWire.Model, request.ResponseModel);
        w.WriteString(OpenAiWire.Object, Response);
        w.WriteStartArray(Output);
        if (final && choice.ToolCalls is { } calls)
        {
            for (var i = 0; i < calls.Count; i++)
            {
                w.WriteStartObject();
                WriteFunctionCallItem(w, calls[i], i, done: true);
                w.WriteEndObject();
            }
        }
        else if (final && choice.Tokens.Count > 0)
        {
            w.WriteStartObject();
            WriteMessageItem(w, done: true);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteBoolean(ParallelToolCalls, request.ParallelToolCalls);
        w.WriteNumber(Temperature, request.Temperature);
        if (request.ToolChoiceJson is { } toolChoice)
        {
            w.WritePropertyName(ToolChoice);
            toolChoice.WriteTo(w);
        }
        else
        {
            w.WriteString(ToolChoice, "auto");
        }

        if (request.ToolsJson is { } tools)
        {
            w.WritePropertyName(Tools);
            tools.WriteTo(w);
        }
        else
        {
            w.WriteStartArray(Tools);
            w.WriteEndArray();
        }
        w.WriteNumber(TopP, request.TopP);
        w.WriteBoolean(Background, false);
        w.WriteNumber(MaxOutputTokens, request.MaxTokens ?? 0);
        OpenAiWire.WriteNulls(w, NullsAfterMaxOutputTokens);
        w.WriteString(ServiceTier, "auto");
        // vLLM's serving_responses: an output whose finish reason is abort (a sleep's mode=abort) is status cancelled.
        w.WriteString(Status, !final ? "in_progress" : incomplete ? "incomplete" : choice.FinishReason == InferenceRun.AbortReason ? "cancelled" : "completed");
        if (request.TextJson is { } textConfig)
        {
            w.WritePropertyName(TextConfig);
            textConfig.WriteTo(w);
        }
        else
        {
            w.WriteNull(TextConfig);
        }

        OpenAiWire.WriteNulls(w, NullsAfterText);
        w.WriteString(Truncation, "disabled");
        if (final)
        {
            WriteUsage(w, Run.Usage);
        }
        else
        {
            w.WriteNull(Usage);
        }

        OpenAiWire.WriteNulls(w, NullTrailer);
    }

    /// <summary>ResponseUsage with vLLM's details (the per-turn lists stay empty for a plain generation, as in vLLM's SimpleContext).</summary>
    private static void WriteUsage(Utf8JsonWriter w, Usage usage)
    {
        w.WriteStartObject(Usage);
        w.WriteNumber(InputTokens, usage.PromptTokens);
        w.WriteStartObject(InputTokensDetails);
        w.WriteNumber(CachedTokens, usage.CachedTokens ?? 0);
        w.WriteStartArray(InputTokensPerTurn);
        w.WriteEndArray();
        w.WriteStartArray(CachedTokensPerTurn);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteNumber(OutputTokens, usage.CompletionTokens);
        w.WriteStartObject(OutputTokensDetails);
        w.WriteNumber(ReasoningTokens, 0);
        w.WriteNumber(ToolOutputTokens, 0);
        w.WriteStartArray(OutputTokensPerTurn);
        w.WriteEndArray();
        w.WriteStartArray(ToolOutputTokensPerTurn);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteNumber(TotalTokens, usage.TotalTokens);
        w.WriteEndObject();
    }
}
