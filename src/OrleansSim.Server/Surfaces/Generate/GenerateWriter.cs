using System.Text.Json;
using OrleansSim.Core.Generation;
using OrleansSim.Core.Tokenization;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;
using OrleansSim.Server.Surfaces.OpenAI;

namespace OrleansSim.Server.Surfaces.Generate;

/// <summary>
/// vLLM's generate shapes (GenerateResponse, GenerateStreamResponse): token ids instead of text, ChatCompletionLogProbs
/// with <c>token_id:&lt;id&gt;</c> tokens. Non-streaming bodies and stream chunks are <c>model_dump</c>s (null fields kept);
/// the final usage chunk is written with <c>exclude_none</c>. A stream sends one chunk per choice per token step and none
/// for a step without tokens; the finish reason rides on the last token's chunk.
/// </summary>
public sealed class GenerateWriter : ResponseWriter
{
    private static readonly JsonEncodedText RequestId = JsonEncodedText.Encode("request_id");
    private static readonly JsonEncodedText Content = JsonEncodedText.Encode("content");
    private static readonly JsonEncodedText Token = JsonEncodedText.Encode("token");
    private static readonly JsonEncodedText Logprob = JsonEncodedText.Encode("logprob");
    private static readonly JsonEncodedText Bytes = JsonEncodedText.Encode("bytes");
    private static readonly JsonEncodedText[] NullChoiceFields = [JsonEncodedText.Encode("routed_experts"), JsonEncodedText.Encode("sampling_mask")];
    private static readonly JsonEncodedText[] NullTrailerFields =
        [JsonEncodedText.Encode("prompt_logprobs"), JsonEncodedText.Encode("kv_transfer_params"), JsonEncodedText.Encode("ec_transfer_params")];

    private readonly string _responseId;

    /// <summary>The token ids of every choice's steps: [choice][step] (a step's text piece may encode to more than one id).</summary>
    private readonly int[][][] _ids;

    /// <summary>With logprobs: per [choice][step][id of the step] the top entries (the sampled id first); else null.</summary>
    private readonly (int Id, double Logprob)[][][][]? _top;

    public GenerateWriter(InferenceRun run, ISimTokenizer tokenizer) : base(run)
    {
        _responseId = ((GenerateRequest)run.Request).ResponseId;
        var choices = run.Choices;
        _ids = new int[choices.Length][][];
        _top = Request.TopLogprobs is null ? null : new (int, double)[choices.Length][][][];
        for (var c = 0; c < choices.Length; c++)
        {
            var tokens = choices[c].Tokens;
            _ids[c] = new int[tokens.Count][];
            for (var k = 0; k < tokens.Count; k++)
            {
                _ids[c][k] = [.. tokenizer.Encode(tokens[k])];
            }

            if (_top is not null)
            {
                _top[c] = new (int, double)[tokens.Count][][];
                for (var k = 0; k < tokens.Count; k++)
                {
                    _top[c][k] = TopOf(run.Logprobs, tokenizer, _ids[c][k], tokens[k], k, Math.Max(Request.TopLogprobs!.Value, 1));
                }
            }
        }
    }

    /// <summary>
    /// A step's entries per id: the sampled id with its synthetic logprob, then the best alternatives (vLLM lists the
    /// first max(logprobs, 1) entries of the step's logprob map, the sampled token first).
    /// </summary>
    private static (int, double)[][] TopOf(LogprobGenerator generator, ISimTokenizer tokenizer, int[] ids, string piece, int position, int count)
    {
        var entries = generator.TopLogprobs(piece, position, count);
        var result = new (int, double)[ids.Length][];
        for (var j = 0; j < ids.Length; j++)
        {
            var top = new (int, double)[entries.Length];
            top[0] = (ids[j], LogprobGenerator.ChosenLogprob(position));
            for (var e = 1; e < entries.Length; e++)
            {
                var alternative = tokenizer.Encode(entries[e].Token);
                top[e] = (alternative.Count > 0 ? alternative[0] : 0, entries[e].Logprob);
            }

            result[j] = top;
        }

        return result;
    }

    public override void WriteBody(Utf8JsonWriter w)
    {
        var choices = Run.Choices;
        w.WriteStartObject();
        w.WriteString(RequestId, _responseId);
        w.WriteString(OpenAiWire.Model, Request.ResponseModel);
        w.WriteNumber(OpenAiWire.Created, Run.Created);
        w.WriteStartArray(OpenAiWire.Choices);
        for (var c = 0; c < choices.Length; c++)
        {
            w.WriteStartObject();
            w.WriteNumber(OpenAiWire.Index, c);
            WriteLogprobs(w, c, 0, choices[c].Tokens.Count);
            w.WriteString(OpenAiWire.FinishReason, choices[c].FinishReason ?? "stop");
            w.WriteStartArray(OpenAiWire.TokenIds);
            foreach (var step in _ids[c])
            {
                foreach (var id in step)
                {
                    w.WriteNumberValue(id);
                }
            }

            w.WriteEndArray();
            OpenAiWire.WriteNulls(w, NullChoiceFields);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        OpenAiWire.WriteUsage(w, Run.Usage);
        OpenAiWire.WriteNulls(w, NullTrailerFields);
        w.WriteEndObject();
    }

    public override void WriteStep(SseWriter sse, int k)
    {
        var choices = Run.Choices;
        for (var c = 0; c < choices.Length; c++)
        {
            var count = choices[c].Tokens.Count;
            if (k >= count)
            {
                continue; // vLLM sends no chunk for an output without new tokens
            }

            var w = sse.BeginEvent();
            w.WriteStartObject();
            w.WriteString(RequestId, _responseId);
            w.WriteStartArray(OpenAiWire.Choices);
            w.WriteStartObject();
            w.WriteNumber(OpenAiWire.Index, c);
            WriteLogprobs(w, c, k, k + 1);
            OpenAiWire.WriteFinishReason(w, k == count - 1 ? choices[c].FinishReason ?? "stop" : null);
            w.WriteStartArray(OpenAiWire.TokenIds);
            foreach (var id in _ids[c][k])
            {
                w.WriteNumberValue(id);
            }

            w.WriteEndArray();
            OpenAiWire.WriteNulls(w, NullChoiceFields);
            w.WriteEndObject();
            w.WriteEndArray();
            if (Request.ContinuousUsageStats)
            {
                OpenAiWire.WriteUsage(w, new Usage(Request.PromptTokens, k + 1) { CachedTokens = Run.CachedTokens });
            }
            else
            {
                w.WriteNull(OpenAiWire.Usage);
            }

            w.WriteEndObject();
            sse.EndEvent();
        }
    }

    public override void WriteStreamEnd(SseWriter sse)
    {
        if (!Request.IncludeUsage)
        {
            return;
        }

        var w = sse.BeginEvent();
        w.WriteStartObject();
        w.WriteString(RequestId, _responseId);
        w.WriteStartArray(OpenAiWire.Choices);
        w.WriteEndArray();
        OpenAiWire.WriteUsage(w, Run.Usage, UsageShape.ExcludeNone);
        w.WriteEndObject();
        sse.EndEvent();
    }

    /// <summary>ChatCompletionLogProbs over steps [from, to) of choice <paramref name="c"/>, or null without logprobs.</summary>
    private void WriteLogprobs(Utf8JsonWriter w, int c, int from, int to)
    {
        if (_top is null)
        {
            w.WriteNull(OpenAiWire.Logprobs);
            return;
        }

        w.WriteStartObject(OpenAiWire.Logprobs);
        w.WriteStartArray(Content);
        for (var k = from; k < to; k++)
        {
            foreach (var top in _top[c][k])
            {
                // ChatCompletionLogProbsContent: token, logprob, bytes, top_logprobs.
                w.WriteStartObject();
                WriteEntry(w, top[0]);
                w.WriteStartArray(OpenAiWire.TopLogprobs);
                foreach (var entry in top)
                {
                    w.WriteStartObject();
                    WriteEntry(w, entry);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>ChatCompletionLogProb as generate writes it: <c>token_id:&lt;id&gt;</c>, the logprob, no bytes.</summary>
    private static void WriteEntry(Utf8JsonWriter w, (int Id, double Logprob) entry)
    {
        Span<char> token = stackalloc char[32];
        "token_id:".CopyTo(token);
        entry.Id.TryFormat(token[9..], out var digits, provider: System.Globalization.CultureInfo.InvariantCulture);
        w.WriteString(Token, token[..(9 + digits)]);
        w.WriteNumber(Logprob, entry.Logprob);
        w.WriteNull(Bytes);
    }
}
