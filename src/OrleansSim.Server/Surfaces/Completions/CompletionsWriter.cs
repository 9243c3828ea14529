using System.Text.Json;
using OrleansSim.Core.Generation;
using OrleansSim.Server.Inference;
using OrleansSim.Server.Surfaces.OpenAI;
using static OrleansSim.Server.Surfaces.OpenAI.OpenAiWire;

namespace OrleansSim.Server.Surfaces.Completions;

/// <summary>
/// vLLM's text-completion shapes (vllm/entrypoints/openai/protocol.py: CompletionResponse, CompletionStreamResponse,
/// CompletionLogProbs), written field by field in vLLM's order.
/// </summary>
public sealed class CompletionsWriter(InferenceRun run, string fingerprint) : OpenAiStreamWriter(run, fingerprint)
{
    public const string IdPrefix = "cmpl-";

    private static readonly JsonEncodedText Text = Encode("text");
    private static readonly JsonEncodedText TextCompletion = Encode("text_completion");
    private static readonly JsonEncodedText TextOffset = Encode("text_offset");
    private static readonly JsonEncodedText TokenLogprobs = Encode("token_logprobs");
    private static readonly JsonEncodedText Tokens = Encode("tokens");

    // The fields vLLM's non-streaming models always carry (model_dump() keeps None values) that a simulator leaves null
    // (CompletionResponseChoice, CompletionResponse).
    private static readonly JsonEncodedText[] NullChoiceFields = [OpenAiWire.TokenIds, Encode("prompt_logprobs"), OpenAiWire.PromptTokenIds, Encode("routed_experts")];
    // After kv_transfer_params (null unless a P/D prefill answer, KvTransferResult).
    private static readonly JsonEncodedText[] NullLastFields = [Encode("ec_transfer_params"), Encode("metrics")];

    // A stream chunk's choice sets prompt_token_ids and token_ids explicitly (None without return_token_ids).
    private static readonly JsonEncodedText[] NullChunkChoiceFields = [OpenAiWire.PromptTokenIds, OpenAiWire.TokenIds];

    protected override UsageShape ContinuousUsageShape => UsageShape.CountsOnly;

    public override void WriteBody(Utf8JsonWriter w)
    {
        var choices = Run.Choices;
        w.WriteStartObject();
        WriteHeader(w, IdPrefix, Request, TextCompletion, Run.Created);
        w.WriteStartArray(OpenAiWire.Choices);
        for (var i = 0; i < choices.Length; i++)
        {
            w.WriteStartObject();
            w.WriteNumber(OpenAiWire.Index, i);
            var prompt = Run.PromptOf(i);
            w.WriteString(Text, Request.Echo ? prompt.EchoText + choices[i].Text : choices[i].Text);
            if (Request.TopLogprobs is { } top)
            {
                WriteLogprobs(w, Run.Logprobs, top, choices[i].Tokens, Request.Echo ? prompt.EchoPieces : null);
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
        KvTransferResult.Write(w, Run.KvTransfer);
        WriteNulls(w, NullLastFields);
        w.WriteEndObject();
    }

    protected override string? EmptyOutputContent(int c) => EchoPrefix(c);

    protected override void WriteChunk(Utf8JsonWriter w, int c, string? content, string? finishReason, Usage? continuousUsage, string? stopReason, ChunkLogprobs? logprobs)
    {
        w.WriteStartObject();
        WriteHeader(w, IdPrefix, Request, TextCompletion, Run.Created);
        w.WriteStartArray(OpenAiWire.Choices);
        w.WriteStartObject();
        w.WriteNumber(OpenAiWire.Index, c);
        w.WriteString(Text, content ?? "");
        if (logprobs is { } lp)
        {
            WriteChunkLogprobs(w, lp);
        }
        else
        {
            w.WriteNull(OpenAiWire.Logprobs);
        }

        WriteFinishReason(w, finishReason);
        WriteStopReason(w, stopReason);
        WriteNulls(w, NullChunkChoiceFields);
        EndChunk(w, continuousUsage, finishReason);
    }

    protected override void WriteUsageChunk(Utf8JsonWriter w, Usage usage) => WriteUsageChunk(w, IdPrefix, TextCompletion, usage);

    /// <summary>A whole choice's CompletionLogProbs.</summary>
    /// <param name="echoPieces">echo: the prompt's pieces, listed before the output's; the first has no logprob (null), as in vLLM's prompt logprobs.</param>
    private static void WriteLogprobs(Utf8JsonWriter w, LogprobGenerator generator, int top, IReadOnlyList<string> tokens, IReadOnlyList<string>? echoPieces)
    {
        w.WriteStartObject(OpenAiWire.Logprobs);
        IReadOnlyList<string> all = echoPieces is { Count: > 0 } ? [.. echoPieces, .. tokens] : tokens;
        var unscored = echoPieces is { Count: > 0 } ? 1 : 0;
        w.WriteStartArray(TextOffset);
        var offset = 0;
        foreach (var token in all)
        {
            w.WriteNumberValue(offset);
            offset += LogprobGenerator.CodePointLength(token);
        }

        w.WriteEndArray();
        w.WriteStartArray(TokenLogprobs);
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
        w.WriteStartArray(Tokens);
        foreach (var token in all)
        {
            w.WriteStringValue(token);
        }

        w.WriteEndArray();
        w.WriteStartArray(TopLogprobs);
        for (var k = 0; k < all.Count; k++)
        {
            if (k < unscored)
            {
                w.WriteNullValue();
            }
            else
            {
                WriteTop(w, generator, top, all[k], k);
            }
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The logprobs of a chunk's single token, in the same shape as <see cref="WriteLogprobs"/>.</summary>
    private static void WriteChunkLogprobs(Utf8JsonWriter w, ChunkLogprobs lp)
    {
        if (lp.EchoPieces is { Count: > 0 } echoPieces)
        {
            // The first chunk of an echoed completion: the prompt's pieces, then its token, as the whole-body form.
            WriteLogprobs(w, lp.Generator, lp.TopLogprobs, lp.Token is null ? [] : [lp.Token], echoPieces);
            return;
        }

        var token = lp.Token ?? "";
        w.WriteStartObject(OpenAiWire.Logprobs);
        w.WriteStartArray(TextOffset);
        w.WriteNumberValue(lp.TextOffset);
        w.WriteEndArray();
        w.WriteStartArray(TokenLogprobs);
        w.WriteNumberValue(LogprobGenerator.ChosenLogprob(lp.Position));
        w.WriteEndArray();
        w.WriteStartArray(Tokens);
        w.WriteStringValue(token);
        w.WriteEndArray();
        w.WriteStartArray(TopLogprobs);
        WriteTop(w, lp.Generator, lp.TopLogprobs, token, lp.Position);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// One top_logprobs map {token: logprob}: the chosen token and the best alternatives, as vLLM's entries
    /// 0..logprobs of the step (the sampled token is the top one here, so max(logprobs, 1) entries).
    /// </summary>
    private static void WriteTop(Utf8JsonWriter w, LogprobGenerator generator, int top, string token, int position)
    {
        w.WriteStartObject();
        foreach (var entry in generator.TopLogprobs(token, position, Math.Max(top, 1)))
        {
            w.WriteNumber(entry.Token, entry.Logprob);
        }

        w.WriteEndObject();
    }
}
