using System.Text.Json;
using OrleansSim.Core.Generation;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Surfaces.OpenAI;

/// <summary>The logprobs of the one token a streamed chunk carries.</summary>
/// <param name="Generator">Where the synthetic values come from.</param>
/// <param name="TopLogprobs">The request's top-logprob count (<see cref="InferenceRequest.TopLogprobs"/>).</param>
/// <param name="Position">The token's index in its choice's output.</param>
/// <param name="TextOffset">Completions: characters of the choice's output before this token.</param>
/// <param name="Token">The chunk's token (null: the chunk carries none, only an echoed prompt).</param>
/// <param name="EchoPieces">Completions echo, first chunk only: the prompt's pieces, listed before the token.</param>
public readonly record struct ChunkLogprobs(LogprobGenerator Generator, int TopLogprobs, int Position, int TextOffset, string? Token, IReadOnlyList<string>? EchoPieces = null);

/// <summary>
/// The pieces the OpenAI-shaped surfaces (chat and text completions) share, written field by field in vLLM's order
/// (vllm/entrypoints/openai/protocol.py): the id/object/created/model header, UsageInfo, stop_reason, the null fields
/// <c>model_dump()</c> keeps. Property names are encoded once (writing a string name transcodes and escapes it on
/// every call).
/// </summary>
public static class OpenAiWire
{
    public static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
    public static readonly JsonEncodedText Object = JsonEncodedText.Encode("object");
    public static readonly JsonEncodedText Created = JsonEncodedText.Encode("created");
    public static readonly JsonEncodedText Model = JsonEncodedText.Encode("model");
    public static readonly JsonEncodedText Choices = JsonEncodedText.Encode("choices");
    public static readonly JsonEncodedText Index = JsonEncodedText.Encode("index");
    public static readonly JsonEncodedText Logprobs = JsonEncodedText.Encode("logprobs");
    public static readonly JsonEncodedText FinishReason = JsonEncodedText.Encode("finish_reason");
    public static readonly JsonEncodedText StopReason = JsonEncodedText.Encode("stop_reason");
    public static readonly JsonEncodedText Usage = JsonEncodedText.Encode("usage");
    public static readonly JsonEncodedText PromptTokens = JsonEncodedText.Encode("prompt_tokens");
    public static readonly JsonEncodedText TotalTokens = JsonEncodedText.Encode("total_tokens");
    public static readonly JsonEncodedText CompletionTokens = JsonEncodedText.Encode("completion_tokens");
    public static readonly JsonEncodedText PromptTokensDetails = JsonEncodedText.Encode("prompt_tokens_details");
    public static readonly JsonEncodedText CachedTokens = JsonEncodedText.Encode("cached_tokens");
    public static readonly JsonEncodedText CompletionTokensDetails = JsonEncodedText.Encode("completion_tokens_details");
    public static readonly JsonEncodedText SystemFingerprint = JsonEncodedText.Encode("system_fingerprint");
    public static readonly JsonEncodedText TokenIds = JsonEncodedText.Encode("token_ids");
    public static readonly JsonEncodedText PromptTokenIds = JsonEncodedText.Encode("prompt_token_ids");
    public static readonly JsonEncodedText TopLogprobs = JsonEncodedText.Encode("top_logprobs");

    public static readonly JsonEncodedText ServiceTier = JsonEncodedText.Encode("service_tier");

    public static JsonEncodedText Encode(string name) => JsonEncodedText.Encode(name);

    /// <summary>The fields every response and chunk starts with: id (<paramref name="idPrefix"/> + request id), object, created, model.</summary>
    public static void WriteHeader(Utf8JsonWriter w, string idPrefix, InferenceRequest request, JsonEncodedText objectName, long created)
    {
        WriteId(w, idPrefix, request.RequestId);
        w.WriteString(Object, objectName);
        w.WriteNumber(Created, created);
        w.WriteString(Model, request.ResponseModel);
    }

    /// <summary>Writes <c>"id": "&lt;prefix&gt;&lt;request id&gt;"</c> without building the string (this runs once per streamed chunk).</summary>
    public static void WriteId(Utf8JsonWriter w, string prefix, string requestId)
    {
        var length = prefix.Length + requestId.Length;
        if (length > 256)
        {
            w.WriteString(Id, prefix + requestId);
            return;
        }

        Span<char> id = stackalloc char[length];
        prefix.CopyTo(id);
        requestId.CopyTo(id[prefix.Length..]);
        w.WriteString(Id, id);
    }

    /// <summary>The non-streaming response's service_tier (null) and system_fingerprint (<see cref="Api.VllmRelease.Fingerprint"/>).</summary>
    public static void WriteServiceTierAndFingerprint(Utf8JsonWriter w, string fingerprint)
    {
        w.WriteNull(ServiceTier);
        w.WriteString(SystemFingerprint, fingerprint);
    }

    public static void WriteNulls(Utf8JsonWriter w, JsonEncodedText[] names)
    {
        foreach (var name in names)
        {
            w.WriteNull(name);
        }
    }

    /// <summary>vLLM's stop_reason: the stop string that matched, else null.</summary>
    public static void WriteStopReason(Utf8JsonWriter w, string? stopReason)
    {
        if (stopReason is null)
        {
            w.WriteNull(StopReason);
        }
        else
        {
            w.WriteString(StopReason, stopReason);
        }
    }

    public static void WriteFinishReason(Utf8JsonWriter w, string? finishReason)
    {
        if (finishReason is null)
        {
            w.WriteNull(FinishReason);
        }
        else
        {
            w.WriteString(FinishReason, finishReason);
        }
    }

    /// <summary>
    /// vLLM's UsageInfo (prompt_tokens, total_tokens, completion_tokens, prompt_tokens_details,
    /// completion_tokens_details) in the shape its serialisation leaves (<see cref="UsageShape"/>). The prompt details
    /// carry the cached-token count with the KV cache on; completion details (reasoning tokens) are always null here.
    /// </summary>
    public static void WriteUsage(Utf8JsonWriter w, Usage usage, UsageShape shape = UsageShape.Full)
    {
        w.WriteStartObject(Usage);
        w.WriteNumber(PromptTokens, usage.PromptTokens);
        w.WriteNumber(TotalTokens, usage.TotalTokens);
        w.WriteNumber(CompletionTokens, usage.CompletionTokens);
        if (shape is UsageShape.Full or UsageShape.ExcludeNone && usage.CachedTokens is { } cached)
        {
            w.WriteStartObject(PromptTokensDetails);
            w.WriteNumber(CachedTokens, cached);
            w.WriteEndObject();
        }
        else if (shape == UsageShape.Full)
        {
            w.WriteNull(PromptTokensDetails);
        }

        if (shape is UsageShape.Full or UsageShape.ChatContinuous)
        {
            w.WriteNull(CompletionTokensDetails);
        }

        w.WriteEndObject();
    }
}

/// <summary>Which of UsageInfo's fields a vLLM serialisation leaves in the body.</summary>
public enum UsageShape
{
    /// <summary><c>model_dump()</c>: every field, null ones too (non-streaming bodies, /inference/v1/generate chunks).</summary>
    Full,

    /// <summary>Chat's continuous usage under <c>exclude_unset</c>: the three counts and the explicitly set null completion details.</summary>
    ChatContinuous,

    /// <summary>Completions' continuous usage under <c>exclude_unset</c>: the three counts only.</summary>
    CountsOnly,

    /// <summary>The final <c>include_usage</c> chunk (<c>exclude_none</c>): the counts and prompt details when there are any.</summary>
    ExcludeNone,
}

/// <summary>
/// The stream both OpenAI completion surfaces send: per token step one chunk per choice (the choice's finish_reason and
/// stop_reason ride on the chunk of its last token, as in vLLM; an empty output gets one chunk of its own), optional
/// continuous usage on every chunk, the <c>include_usage</c> chunk after the last step, then <c>[DONE]</c>. A
/// surface supplies the chunk shape.
/// </summary>
public abstract class OpenAiStreamWriter : ResponseWriter
{
    private readonly int[]? _textOffsets;

    protected OpenAiStreamWriter(InferenceRun run, string fingerprint) : base(run)
    {
        Fingerprint = fingerprint;
        // Logprobs off: no per-choice offsets and a null ChunkLogprobs per token, so nothing is allocated per token.
        _textOffsets = Request.TopLogprobs is null ? null : new int[run.Choices.Length];
        if (_textOffsets is not null && Request.Echo)
        {
            // Echoed completions: the output's offsets and positions continue after the prompt's pieces.
            for (var c = 0; c < _textOffsets.Length; c++)
            {
                _textOffsets[c] = LogprobGenerator.CodePointLength(run.PromptOf(c).EchoText);
            }
        }
    }

    /// <summary>The server's system_fingerprint: on the non-streaming body, a stream's terminal chunks and its usage chunk.</summary>
    protected string Fingerprint { get; }

    /// <summary>The shape of this surface's <c>continuous_usage_stats</c> usage (what vLLM sets on the chunk's UsageInfo).</summary>
    protected abstract UsageShape ContinuousUsageShape { get; }

    /// <summary>One chunk for choice <paramref name="c"/>; <paramref name="finishReason"/> non-null on its last.</summary>
    protected abstract void WriteChunk(Utf8JsonWriter w, int c, string? content, string? finishReason, Usage? continuousUsage, string? stopReason, ChunkLogprobs? logprobs);

    /// <summary>
    /// One chunk of choice <paramref name="c"/>'s tool calls (<see cref="GeneratedText.ToolCalls"/>): step <paramref name="k"/>
    /// opens a call or carries a piece of its arguments. Only surfaces that accept tools produce such choices.
    /// </summary>
    protected virtual void WriteToolCallChunk(Utf8JsonWriter w, int c, int k, string? finishReason, Usage? continuousUsage, string? stopReason) =>
        throw new NotSupportedException("this surface does not stream tool calls");

    /// <summary>The chunk that opens choice <paramref name="c"/> before its first token (chat: the role chunk).</summary>
    protected virtual void WriteOpening(SseWriter sse, int c)
    {
    }

    /// <summary>
    /// Closes a chunk's only choice and the chunk as vLLM's <c>model_dump_json(exclude_unset=True)</c> leaves it: usage
    /// only with <c>continuous_usage_stats</c>; system_fingerprint on a choice's terminal chunk
    /// (<paramref name="finishReason"/> set) unless a usage chunk follows, which carries it instead.
    /// </summary>
    protected void EndChunk(Utf8JsonWriter w, Usage? continuousUsage, string? finishReason)
    {
        w.WriteEndObject();
        w.WriteEndArray();
        if (continuousUsage is { } usage)
        {
            OpenAiWire.WriteUsage(w, usage, ContinuousUsageShape);
        }

        if (finishReason is not null && !Request.IncludeUsage)
        {
            w.WriteString(OpenAiWire.SystemFingerprint, Fingerprint);
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// The final usage chunk of <c>stream_options.include_usage</c> (vLLM writes it with <c>exclude_none</c>): header,
    /// empty choices, usage, system_fingerprint.
    /// </summary>
    protected void WriteUsageChunk(Utf8JsonWriter w, string idPrefix, JsonEncodedText objectName, Usage usage)
    {
        w.WriteStartObject();
        OpenAiWire.WriteHeader(w, idPrefix, Request, objectName, Run.Created);
        w.WriteStartArray(OpenAiWire.Choices);
        w.WriteEndArray();
        OpenAiWire.WriteUsage(w, usage, UsageShape.ExcludeNone);
        w.WriteString(OpenAiWire.SystemFingerprint, Fingerprint);
        w.WriteEndObject();
    }

    /// <summary>The final usage chunk of <c>stream_options.include_usage</c>.</summary>
    protected abstract void WriteUsageChunk(Utf8JsonWriter w, Usage usage);

    /// <summary>Completions <c>echo</c>: the prompt of choice <paramref name="c"/>, sent before its first token.</summary>
    protected string EchoPrefix(int c) => Request.Echo ? Run.PromptOf(c).EchoText : "";

    /// <summary>Completions <c>echo</c> with logprobs: the prompt pieces of choice <paramref name="c"/>, else null.</summary>
    protected IReadOnlyList<string>? EchoPieces(int c) => Request.Echo ? Run.PromptOf(c).EchoPieces : null;

    /// <summary>The text of an empty output's only chunk (chat: none).</summary>
    protected abstract string? EmptyOutputContent(int c);

    /// <summary><c>continuous_usage_stats</c>: the usage of choice <paramref name="c"/> after <paramref name="produced"/> tokens, else null.</summary>
    protected Usage? Continuous(int c, int produced) =>
        Request.ContinuousUsageStats ? new Usage(Run.PromptOf(c).PromptTokens, produced) { CachedTokens = Run.CachedTokens } : null;

    public sealed override void WriteStep(SseWriter sse, int k)
    {
        var choices = Run.Choices;
        for (var c = 0; c < choices.Length; c++)
        {
            var tokens = choices[c].Tokens;
            if (k == 0)
            {
                WriteOpening(sse, c);
            }

            var last = k == tokens.Count - 1;
            if (k < tokens.Count && choices[c].ToolCalls is not null)
            {
                WriteToolCallChunk(sse.BeginEvent(), c, k, last ? choices[c].FinishReason : null, Continuous(c, k + 1), last ? choices[c].StopReason : null);
                sse.EndEvent();
            }
            else if (k < tokens.Count)
            {
                ChunkLogprobs? chunkLogprobs = null;
                if (_textOffsets is not null)
                {
                    var echoPieces = EchoPieces(c);
                    chunkLogprobs = new ChunkLogprobs(Run.Logprobs, Request.TopLogprobs!.Value, (echoPieces?.Count ?? 0) + k, _textOffsets[c], tokens[k], k == 0 ? echoPieces : null);
                    _textOffsets[c] += LogprobGenerator.CodePointLength(tokens[k]);
                }

                WriteChunk(sse.BeginEvent(), c, k == 0 ? EchoPrefix(c) + tokens[k] : tokens[k],
                    last ? choices[c].FinishReason : null, Continuous(c, k + 1), last ? choices[c].StopReason : null, chunkLogprobs);
                sse.EndEvent();
            }
            else if (k == 0)
            {
                // An empty output (echo without generation): the prompt's logprobs still ride on this chunk.
                ChunkLogprobs? promptLogprobs = _textOffsets is not null && EchoPieces(c) is { } pieces
                    ? new ChunkLogprobs(Run.Logprobs, Request.TopLogprobs!.Value, pieces.Count, 0, null, pieces)
                    : null;
                WriteChunk(sse.BeginEvent(), c, EmptyOutputContent(c), choices[c].FinishReason, Continuous(c, 0), choices[c].StopReason, promptLogprobs);
                sse.EndEvent();
            }
        }
    }

    /// <summary>
    /// vLLM's ending of a choice the engine aborted: the output that finishes it carries no new text, so its chunk has an
    /// empty delta text (chat: <c>"content": ""</c>; completions: <c>"text": ""</c>, the echoed prompt when nothing was
    /// produced) and finish_reason <c>abort</c>; chat opens a choice that had no token yet with its role chunk. Then the
    /// usage chunk of <c>include_usage</c> over the tokens produced.
    /// </summary>
    public override void WriteStreamAborted(SseWriter sse, int produced)
    {
        for (var c = 0; c < Run.Choices.Length; c++)
        {
            if (!Run.IsAborted(c))
            {
                continue;
            }

            if (produced == 0)
            {
                WriteOpening(sse, c);
            }

            WriteChunk(sse.BeginEvent(), c, produced == 0 ? EchoPrefix(c) : "", InferenceRun.AbortReason, Continuous(c, produced), null, null);
            sse.EndEvent();
        }

        WriteStreamEnd(sse);
    }

    public override void WriteStreamEnd(SseWriter sse)
    {
        if (Request.IncludeUsage)
        {
            WriteUsageChunk(sse.BeginEvent(), Run.Usage);
            sse.EndEvent();
        }
    }
}
