using System.Text.Json;
using OrleansSim.Server.Api;

namespace OrleansSim.Server.Inference;

/// <summary>
/// One API surface a vLLM pod serves (chat completions, text completions, …): its route, its parser and its wire
/// writer. Everything else — reading the body, failure injection, admission, planning, pacing, release, metrics —
/// is the shared run loop's (<see cref="SurfaceEndpoints"/>, <see cref="InferenceRunner"/>). A surface lives in its
/// own folder under <c>Surfaces/</c> and is registered with one line in <see cref="SurfaceRegistry"/>.
/// </summary>
public abstract class ApiSurface
{
    /// <summary>The POST route, e.g. <c>/v1/chat/completions</c>.</summary>
    public abstract string Route { get; }

    /// <summary>The OpenAPI operation id.</summary>
    public abstract string OperationName { get; }

    /// <summary>The OpenAPI summary.</summary>
    public abstract string Summary { get; }

    /// <summary>A runnable example request body for the OpenAPI document and Swagger UI.</summary>
    public abstract string ExampleJson { get; }

    /// <summary>Further runnable examples (name, summary, body) for features worth showing on their own (tools, response_format).</summary>
    public virtual IReadOnlyList<(string Name, string Summary, string Json)> MoreExamples => [];

    /// <summary>
    /// Validates the body (400s name the field) and reduces it to an <see cref="InferenceRequest"/>. The shared
    /// pieces are <see cref="PromptReader"/> (model, prompts, context window) and <see cref="SamplingParameters"/>.
    /// </summary>
    public abstract InferenceRequest Parse(JsonElement body, string requestId);

    /// <summary>The per-request writer of the planned output (a non-streaming body or a stream of events).</summary>
    public abstract ResponseWriter CreateWriter(InferenceRun run);

    /// <summary>
    /// Answers an error raised before the first response byte. vLLM's OpenAI body by default; a surface with its
    /// own error shape (Anthropic's) overrides this.
    /// </summary>
    public virtual Task WriteErrorAsync(HttpContext context, ApiException error) => ApiErrors.WriteAsync(context, error);
}

/// <summary>
/// One admitted request's planned output, handed to its surface's <see cref="ResponseWriter"/>: the choices
/// (their tokens and finish reasons), the creation time and the prefix-cache hits.
/// </summary>
public sealed class InferenceRun(InferenceRequest request, Core.Generation.GeneratedText[] choices, long created, int? cachedTokens, Core.Generation.LogprobGenerator logprobs)
{
    public InferenceRequest Request { get; } = request;

    /// <summary>Prompt-major: choice c belongs to prompt c / N.</summary>
    public Core.Generation.GeneratedText[] Choices { get; } = choices;

    /// <summary>Unix seconds, as the responses' <c>created</c>.</summary>
    public long Created { get; } = created;

    /// <summary>Prompt tokens served from the prefix cache; null without <c>--enable-kvcache</c>.</summary>
    public int? CachedTokens { get; } = cachedTokens;

    /// <summary>Where synthetic logprob values come from (used only when the request asked for logprobs).</summary>
    public Core.Generation.LogprobGenerator Logprobs { get; } = logprobs;

    /// <summary>P/D prefill side: what the response's <c>kv_transfer_params</c> tells the decode pod; null otherwise.</summary>
    public KvTransferResult? KvTransfer { get; init; }

    /// <summary>The finish reason of a request aborted by the engine (vLLM's <c>FinishReason.ABORT</c>).</summary>
    public const string AbortReason = "abort";

    /// <summary>
    /// Sleep mode's <c>mode=abort</c> came after <paramref name="produced"/> token steps: every choice still unfinished
    /// (all of them when nothing was produced) is cut to those steps and finishes with <see cref="AbortReason"/>, as vLLM's
    /// output processor finishes a request aborted by the engine. A tool-call answer keeps the calls it had opened.
    /// </summary>
    public void Abort(int produced)
    {
        for (var c = 0; c < Choices.Length; c++)
        {
            var choice = Choices[c];
            if (produced > 0 && choice.Tokens.Count <= produced)
            {
                continue; // finished before the abort
            }

            var steps = choice.ToolCallOfStep is { } owners && produced > 0 ? owners[..produced] : null;
            Choices[c] = new Core.Generation.GeneratedText([.. choice.Tokens.Take(produced)], AbortReason)
            {
                ToolCalls = steps is null ? null : [.. choice.ToolCalls!.Take(steps[^1] + 1)],
                ToolCallOfStep = steps,
            };
        }
    }

    /// <summary>True when choice <paramref name="c"/> ended with <see cref="Abort"/>.</summary>
    public bool IsAborted(int c) => Choices[c].FinishReason == AbortReason;

    /// <summary>Token steps the stream is paced in: the longest choice, at least one (even an empty output is answered after the time to first token).</summary>
    public int Steps => StepsOf(Choices);

    /// <summary>The token steps of <paramref name="choices"/>: the longest choice, at least one.</summary>
    public static int StepsOf(Core.Generation.GeneratedText[] choices)
    {
        var steps = 1;
        foreach (var choice in choices)
        {
            steps = Math.Max(steps, choice.Tokens.Count);
        }

        return steps;
    }

    /// <summary>The prompt of choice <paramref name="c"/>.</summary>
    public PromptInput PromptOf(int c) => Request.Prompts[c / Request.N];

    /// <summary>The whole request's usage.</summary>
    public Usage Usage
    {
        get
        {
            var generated = 0;
            foreach (var choice in Choices)
            {
                generated += choice.Tokens.Count;
            }

            return new Usage(Request.PromptTokens, generated) { CachedTokens = CachedTokens };
        }
    }
}

/// <summary>
/// Writes one request's output in its surface's wire format. The run loop calls either <see cref="WriteBody"/>
/// (non-streaming, once the last token is due) or, for a stream: <see cref="WriteStreamStart"/> once the stream is
/// open, <see cref="WriteStep"/> once per token step at its deadline (flushed after each step),
/// <see cref="WriteStreamEnd"/> after the last step (or <see cref="WriteStreamAborted"/> when a sleep aborted it), <see cref="WriteStreamError"/> if the stream fails after its
/// first byte, and <see cref="WriteStreamClose"/> last, whatever happened. <see cref="WriteStep"/> runs once per
/// token: it must not allocate (keep per-request state in fields of the writer).
/// </summary>
public abstract class ResponseWriter(InferenceRun run)
{
    protected InferenceRun Run { get; } = run;

    protected InferenceRequest Request => Run.Request;

    /// <summary>The complete non-streaming body.</summary>
    public abstract void WriteBody(Utf8JsonWriter w);

    /// <summary>Events sent as soon as the stream is open, before the first token is due.</summary>
    public virtual void WriteStreamStart(SseWriter sse)
    {
    }

    /// <summary>Every choice's events of token step <paramref name="k"/> (k = 0 carries the first token).</summary>
    public abstract void WriteStep(SseWriter sse, int k);

    /// <summary>Events after the last step (a usage chunk, closing events).</summary>
    public virtual void WriteStreamEnd(SseWriter sse)
    {
    }

    /// <summary>A failure after the first byte: the status is fixed, so the error goes out as an event (vLLM's shape by default).</summary>
    public virtual void WriteStreamError(SseWriter sse, int status, string message, string? param) => sse.WriteError(status, message, param);

    /// <summary>
    /// Sleep mode's <c>mode=abort</c> ended the stream after <paramref name="produced"/> token steps (the run's choices are
    /// cut, <see cref="InferenceRun.Abort"/>): the events that finish its aborted choices, then what ends a stream
    /// (<see cref="WriteStreamClose"/> follows). By default the ending of a finished stream, over the cut output.
    /// </summary>
    public virtual void WriteStreamAborted(SseWriter sse, int produced) => WriteStreamEnd(sse);

    /// <summary>The stream's last frame (<c>data: [DONE]</c> for OpenAI surfaces).</summary>
    public virtual void WriteStreamClose(SseWriter sse) => sse.WriteDone();
}
