using System.Text;
using System.Text.Json;
using OrleansSim.Core.Generation;
using OrleansSim.Core.Generation.Tools;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;
using OrleansSim.Server.Surfaces.OpenAI;
using static OrleansSim.Server.Surfaces.OpenAI.OpenAiWire;

namespace OrleansSim.Server.Surfaces.Chat;

/// <summary>
/// vLLM's chat shapes (vllm/entrypoints/openai/protocol.py: ChatCompletionResponse, ChatCompletionStreamResponse,
/// ChatCompletionLogProbs), written field by field in vLLM's order.
/// </summary>
public sealed class ChatWriter(InferenceRun run, string fingerprint) : OpenAiStreamWriter(run, fingerprint)
{
    public const string IdPrefix = "chatcmpl-";

    private static readonly JsonEncodedText Message = Encode("message");
    private static readonly JsonEncodedText Role = Encode("role");
    private static readonly JsonEncodedText Content = Encode("content");
    private static readonly JsonEncodedText ToolCalls = Encode("tool_calls");
    private static readonly JsonEncodedText Reasoning = Encode("reasoning");
    private static readonly JsonEncodedText Delta = Encode("delta");
    private static readonly JsonEncodedText Token = Encode("token");
    private static readonly JsonEncodedText Logprob = Encode("logprob");
    private static readonly JsonEncodedText Bytes = Encode("bytes");
    private static readonly JsonEncodedText ChatCompletion = Encode("chat.completion");
    private static readonly JsonEncodedText ChatChunk = Encode("chat.completion.chunk");
    private static readonly JsonEncodedText Assistant = Encode("assistant");
    private static readonly JsonEncodedText Type = Encode("type");
    private static readonly JsonEncodedText Function = Encode("function");
    private static readonly JsonEncodedText Name = Encode("name");
    private static readonly JsonEncodedText Arguments = Encode("arguments");

    // The fields vLLM's non-streaming models always carry (model_dump() keeps None values) that a simulator leaves null
    // (ChatMessage, ChatCompletionResponseChoice, ChatCompletionResponse).
    private static readonly JsonEncodedText[] NullMessageFields = [Encode("refusal"), Encode("annotations"), Encode("audio"), Encode("function_call")];
    private static readonly JsonEncodedText[] NullChoiceFields = [OpenAiWire.TokenIds, Encode("routed_experts")];
    private static readonly JsonEncodedText[] NullTrailerFields = [Encode("prompt_logprobs"), OpenAiWire.PromptTokenIds, Encode("prompt_text")];

    // After kv_transfer_params (null unless a P/D prefill answer, KvTransferResult).
    private static readonly JsonEncodedText[] NullLastFields = [Encode("ec_transfer_params"), Encode("metrics")];

    // The role chunk sets prompt_token_ids and prompt_text explicitly (None without return_token_ids / return_prompt_text),
    // so exclude_unset keeps them.
    private static readonly JsonEncodedText[] NullRoleChunkFields = [OpenAiWire.PromptTokenIds, Encode("prompt_text")];

    protected override UsageShape ContinuousUsageShape => UsageShape.ChatContinuous;

    public override void WriteBody(Utf8JsonWriter w)
    {
        var choices = Run.Choices;
        w.WriteStartObject();
        WriteHeader(w, IdPrefix, Request, ChatCompletion, Run.Created);
        w.WriteStartArray(OpenAiWire.Choices);
        for (var i = 0; i < choices.Length; i++)
        {
            w.WriteStartObject();
            w.WriteNumber(OpenAiWire.Index, i);
            // vLLM ChatMessage, every field as model_dump() writes it.
            w.WriteStartObject(Message);
            w.WriteString(Role, Assistant);
            var calls = choices[i].ToolCalls;
            if (calls is null)
            {
                w.WriteString(Content, choices[i].Text);
            }
            else if (Request.Tools?.Choice == ToolChoiceKind.Auto)
            {
                w.WriteNull(Content); // vLLM's auto tool parsing: no text before the calls
            }
            else
            {
                w.WriteString(Content, ""); // vLLM: required and named tool choices answer with empty content
            }

            WriteNulls(w, NullMessageFields);
            if (calls is { Count: > 0 })
            {
                // ChatMessage's serializer drops an empty tool_calls list.
                w.WriteStartArray(ToolCalls);
                foreach (var call in calls)
                {
                    // vLLM ToolCall: id, type, function {name, arguments}.
                    w.WriteStartObject();
                    w.WriteString(OpenAiWire.Id, call.Id);
                    w.WriteString(Type, Function);
                    w.WriteStartObject(Function);
                    w.WriteString(Name, call.Name);
                    w.WriteString(Arguments, call.Arguments);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteNull(Reasoning);
            w.WriteEndObject();
            if (Request.TopLogprobs is { } top && calls is null)
            {
                w.WriteStartObject(OpenAiWire.Logprobs);
                w.WriteStartArray(Content);
                var tokens = choices[i].Tokens;
                for (var k = 0; k < tokens.Count; k++)
                {
                    WriteContentLogprob(w, Run.Logprobs, top, tokens[k], k);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull(OpenAiWire.Logprobs);
            }

            w.WriteString(FinishReason, choices[i].FinishReason);
            WriteStopReason(w, choices[i].StopReason);
            WriteNulls(w, NullChoiceFields);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteServiceTierAndFingerprint(w, Fingerprint);
        WriteUsage(w, Run.Usage);
        WriteNulls(w, NullTrailerFields);
        KvTransferResult.Write(w, Run.KvTransfer);
        WriteNulls(w, NullLastFields);
        w.WriteEndObject();
    }

    /// <summary>The role chunk: delta {role, content: ""}, logprobs and finish_reason null, no token_ids; then the chunk's prompt fields.</summary>
    protected override void WriteOpening(SseWriter sse, int c)
    {
        var w = sse.BeginEvent();
        BeginDeltaChunk(w, c);
        w.WriteString(Role, Assistant);
        w.WriteString(Content, "");
        w.WriteEndObject();
        w.WriteNull(OpenAiWire.Logprobs);
        w.WriteNull(FinishReason);
        w.WriteEndObject();
        w.WriteEndArray();
        if (Continuous(c, 0) is { } usage)
        {
            WriteUsage(w, usage, ContinuousUsageShape);
        }

        WriteNulls(w, NullRoleChunkFields);
        w.WriteEndObject();
        sse.EndEvent();
    }

    protected override string? EmptyOutputContent(int c) => null;

    protected override void WriteChunk(Utf8JsonWriter w, int c, string? content, string? finishReason, Usage? continuousUsage, string? stopReason, ChunkLogprobs? logprobs)
    {
        BeginDeltaChunk(w, c);
        if (content is not null)
        {
            w.WriteString(Content, content);
        }

        w.WriteEndObject();
        if (logprobs is { } lp)
        {
            w.WriteStartObject(OpenAiWire.Logprobs);
            w.WriteStartArray(Content);
            WriteContentLogprob(w, lp.Generator, lp.TopLogprobs, lp.Token ?? "", lp.Position);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull(OpenAiWire.Logprobs);
        }

        EndDeltaChunk(w, finishReason, stopReason, continuousUsage);
    }

    /// <summary>
    /// vLLM's DeltaToolCall chunks: a call opens with id, type, index and function name (arguments empty); each later
    /// chunk adds a piece of its arguments. The finish reason rides on the last piece's chunk.
    /// </summary>
    protected override void WriteToolCallChunk(Utf8JsonWriter w, int c, int k, string? finishReason, Usage? continuousUsage, string? stopReason)
    {
        var choice = Run.Choices[c];
        var index = choice.ToolCallOfStep![k];
        var call = choice.ToolCalls![index];
        BeginDeltaChunk(w, c);
        w.WriteStartArray(ToolCalls);
        w.WriteStartObject();
        var opens = choice.OpensToolCall(k);
        if (opens)
        {
            w.WriteString(OpenAiWire.Id, call.Id);
            w.WriteString(Type, Function);
        }

        w.WriteNumber(OpenAiWire.Index, index); // DeltaToolCall's order: id, type, index, function
        w.WriteStartObject(Function);
        if (opens)
        {
            w.WriteString(Name, call.Name);
        }

        w.WriteString(Arguments, choice.Tokens[k]);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteNull(OpenAiWire.Logprobs);
        EndDeltaChunk(w, finishReason, stopReason, continuousUsage);
    }

    /// <summary>Opens a streamed chunk up to its choice's <c>delta</c> object: header, the choices array, the index.</summary>
    private void BeginDeltaChunk(Utf8JsonWriter w, int c)
    {
        w.WriteStartObject();
        WriteHeader(w, IdPrefix, Request, ChatChunk, Run.Created);
        w.WriteStartArray(OpenAiWire.Choices);
        w.WriteStartObject();
        w.WriteNumber(OpenAiWire.Index, c);
        w.WriteStartObject(Delta);
    }

    /// <summary>Closes a streamed choice after its logprobs: finish and stop reason, token_ids, then the chunk.</summary>
    private void EndDeltaChunk(Utf8JsonWriter w, string? finishReason, string? stopReason, Usage? continuousUsage)
    {
        WriteFinishReason(w, finishReason);
        if (finishReason is not null)
        {
            WriteStopReason(w, stopReason); // set only on the finishing chunk
        }

        w.WriteNull(OpenAiWire.TokenIds); // set explicitly (None without return_token_ids)
        EndChunk(w, continuousUsage, finishReason);
    }

    protected override void WriteUsageChunk(Utf8JsonWriter w, Usage usage) => WriteUsageChunk(w, IdPrefix, ChatChunk, usage);

    /// <summary>ChatCompletionLogProbsContent: token, logprob, bytes, top_logprobs (the first <paramref name="top"/> entries, chosen first).</summary>
    private static void WriteContentLogprob(Utf8JsonWriter w, LogprobGenerator generator, int top, string token, int position)
    {
        w.WriteStartObject();
        WriteLogprob(w, token, LogprobGenerator.ChosenLogprob(position));
        w.WriteStartArray(TopLogprobs);
        foreach (var entry in generator.TopLogprobs(token, position, top))
        {
            w.WriteStartObject();
            WriteLogprob(w, entry.Token, entry.Logprob);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>ChatCompletionLogProb's fields: token, logprob, bytes (the token's UTF-8 bytes).</summary>
    private static void WriteLogprob(Utf8JsonWriter w, string token, double logprob)
    {
        w.WriteString(Token, token);
        w.WriteNumber(Logprob, logprob);
        w.WriteStartArray(Bytes);
        var count = Encoding.UTF8.GetByteCount(token);
        Span<byte> bytes = count <= 256 ? stackalloc byte[count] : new byte[count];
        Encoding.UTF8.GetBytes(token, bytes);
        foreach (var b in bytes)
        {
            w.WriteNumberValue(b);
        }

        w.WriteEndArray();
    }
}
