using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Engine;
using OrleansSim.Core.Generation;
using OrleansSim.Core.Scheduling;
using OrleansSim.Core.Timing;
using OrleansSim.Grains.Ranks;
using OrleansSim.Server.Api;
using OrleansSim.Server.Metrics;

namespace OrleansSim.Server.Inference;

/// <summary>
/// Runs one validated request against its rank: admit (one grain call, returns once a slot is held),
/// generate the choices, pace them out at the planned times (SSE chunks or one JSON body), release
/// (one grain call, through the request's <see cref="RankLease"/>, whatever happened). A client that disconnects
/// cancels the wait or the stream; the lease's release frees whatever the rank holds for it.
/// Each request is traced into its rank's metrics (<see cref="RequestTrace"/>).
/// </summary>
public sealed class InferenceRunner(SimulatorOptions options, RuntimeSettings settings, ITextGenerator generator, LogprobGenerator logprobs, TimeProvider time, IPacer pacer, RankMetricsSet metrics, EngineBoard? board = null)
{
    public async Task RunAsync(HttpContext context, IRankGrain rank, InferenceRequest request)
    {
        var aborted = context.RequestAborted;
        var trace = metrics.For(context).Begin(request);
        var arrivedAt = time.GetTimestamp();
        // Everything this request takes on its rank is filed under the lease's key and freed by its one release,
        // at the latest here at the end, whatever happened (admission cancelled or timed out, stream cut, write failed).
        await using var lease = new RankLease(rank);
        AdmitResult plan;
        try
        {
            plan = await lease.AdmitAsync(new AdmitRequest(request.RequestId, request.Seed, [.. request.Prompts.Select(p => p.TokenIds)]) { Lora = request.Lora }, aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            await lease.ReleaseAsync(); // the slot may have been granted as the wait was cancelled
            trace.OnAborted();
            return;
        }

        if (plan.Status == AdmitStatus.QueueFull)
        {
            throw new ApiException(StatusCodes.Status429TooManyRequests, "Failed to enqueue request, waiting requests queue is full.");
        }

        if (plan.Status == AdmitStatus.KvCacheTooSmall)
        {
            throw new ApiException(StatusCodes.Status500InternalServerError, "the kv cache does not have sufficient capacity to store this request");
        }

        if (plan.Status == AdmitStatus.Released)
        {
            trace.OnAborted();
            return;
        }

        int? cached = options.EnableKvCache ? plan.CachedTokens : null;

        var slotHeldAt = time.GetTimestamp();
        try
        {
            var random = new Random(unchecked((int)(plan.Seed ^ (plan.Seed >> 32))));
            var choices = Generate(request, random);
            // At least one step: even an empty output is answered after the time to first token.
            var steps = Math.Max(1, choices.Max(c => c.Tokens.Count));
            TokenSchedule schedule;
            var queueTime = plan.QueueTime;
            if (options.EngineClock)
            {
                // The rank's engine decides every token's time: join it, then wait for the step that finishes the prefill.
                var key = rank.GetPrimaryKeyString();
                var stream = board!.Open(key, plan.Ticket);
                if (!await rank.Join(plan.Ticket, choices.Max(c => c.Tokens.Count)))
                {
                    board.Forget(key, plan.Ticket);
                    throw new ApiException(StatusCodes.Status500InternalServerError, "the rank's engine is not in this front-end's process");
                }

                var first = await stream.NextDueAsync(aborted);
                slotHeldAt = stream.StartedAt;
                queueTime = time.GetElapsedTime(arrivedAt, slotHeldAt);
                cached = options.EnableKvCache ? stream.CachedTokens : null;
                schedule = TokenSchedule.FromEngine(stream, first);
            }
            else
            {
                schedule = TokenSchedule.Planned(TokenDeadlines(slotHeldAt, plan.TimeToFirstToken, plan.InterTokenLatencyFactor, steps, random));
            }

            var created = time.GetUtcNow().ToUnixTimeSeconds();
            trace.OnAdmitted(queueTime, slotHeldAt, choices, cached);
            if (request.Stream)
            {
                await StreamAsync(context, request, choices, schedule, steps, created, cached, trace, aborted);
            }
            else
            {
                var deadlines = new long[steps];
                for (var k = 0; k < steps; k++)
                {
                    deadlines[k] = await schedule.DueAsync(k, aborted);
                }

                await pacer.WaitUntilAsync(deadlines[^1], aborted);
                foreach (var deadline in deadlines)
                {
                    trace.OnStep(deadline);
                }

                trace.OnFinished(); // recorded before the client can see the response, as vLLM's output processor does
                await WriteResponseAsync(context, request, choices, created, cached, logprobs);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away: free its slot first, so a scrape that sees the abort sees the slot free too.
            await lease.ReleaseAsync();
            trace.OnAborted();
            return;
        }
        catch
        {
            await lease.ReleaseAsync();
            trace.OnFailed();
            throw;
        }
    }

    private GeneratedText[] Generate(InferenceRequest request, Random random)
    {
        var choices = new GeneratedText[request.ChoiceCount];
        var c = 0;
        foreach (var prompt in request.Prompts)
        {
            // Without max_tokens the output may fill the context window, as in vLLM.
            var room = options.MaxModelLen - prompt.PromptTokens;
            var maxTokens = request.MaxTokens ?? (request.IgnoreEos ? room : null);
            var generation = new GenerationRequest(prompt.EchoText, prompt.PromptTokens, maxTokens, request.IgnoreEos, request.Stop) { PromptTokenIds = prompt.TokenIds };
            for (var i = 0; i < request.N; i++)
            {
                if (request.MaxTokens == 0)
                {
                    choices[c++] = new GeneratedText([], "length"); // echo without generation
                    continue;
                }

                var text = generator.Generate(generation, random);
                choices[c++] = text.Tokens.Count > room ? new GeneratedText(text.Tokens.Take(room).ToArray(), "length") : text;
            }
        }

        return choices;
    }

    /// <summary>
    /// When token k is due (a timestamp of <c>time</c>), measured from the moment the slot was held: TTFT, then one
    /// ITL per token. Absolute deadlines keep timer error from accumulating along a stream.
    /// </summary>
    private long[] TokenDeadlines(long slotHeldAt, TimeSpan ttft, double itlFactor, int tokens, Random random)
    {
        var deadlines = new long[tokens];
        var latency = settings.Latency;
        var at = ttft;
        for (var k = 0; k < tokens; k++)
        {
            if (k > 0)
            {
                at += latency.NextInterTokenLatency(random, itlFactor);
            }

            deadlines[k] = slotHeldAt + (long)(at.TotalSeconds * time.TimestampFrequency);
        }

        return deadlines;
    }

    private async Task StreamAsync(HttpContext context, InferenceRequest request, GeneratedText[] choices, TokenSchedule schedule, int steps, long created, int? cached, RequestTrace trace, CancellationToken aborted)
    {
        using var sse = new SseWriter(context.Response);
        await sse.StartAsync(aborted);
        var chat = request.Kind == EndpointKind.Chat;
        var promptTokensOf = new int[choices.Length];
        for (var c = 0; c < choices.Length; c++)
        {
            promptTokensOf[c] = request.Prompts[c / request.N].PromptTokens;
        }

        Usage? Continuous(int c, int produced) =>
            request.ContinuousUsageStats ? new Usage(promptTokensOf[c], produced) { CachedTokens = cached } : null;

        // Logprobs off: no per-choice offsets and a null ChunkLogprobs per token, so nothing is allocated per token.
        var textOffsets = request.TopLogprobs is null ? null : new int[choices.Length];
        if (textOffsets is not null && request.Echo)
        {
            // Echoed completions: the output's offsets and positions continue after the prompt's pieces.
            for (var c = 0; c < choices.Length; c++)
            {
                textOffsets[c] = LogprobGenerator.CodePointLength(request.Prompts[c / request.N].EchoText);
            }
        }

        try
        {
            for (var k = 0; k < steps; k++)
            {
                await pacer.WaitUntilAsync(await schedule.DueAsync(k, aborted), aborted);

                for (var c = 0; c < choices.Length; c++)
                {
                    var tokens = choices[c].Tokens;
                    if (k == 0 && chat)
                    {
                        CompletionWire.WriteChunk(sse.BeginEvent(), request, created, c, null, role: true, null, Continuous(c, 0));
                        sse.EndEvent();
                    }

                    // vLLM puts finish_reason (and stop_reason) on the chunk that carries the last token; only an
                    // empty output gets a chunk of its own.
                    var last = k == tokens.Count - 1;
                    if (k < tokens.Count)
                    {
                        ChunkLogprobs? chunkLogprobs = null;
                        if (textOffsets is not null)
                        {
                            var echoPieces = EchoPieces(request, c);
                            chunkLogprobs = new ChunkLogprobs(logprobs, request.TopLogprobs!.Value, (echoPieces?.Count ?? 0) + k, textOffsets[c], tokens[k], k == 0 ? echoPieces : null);
                            textOffsets[c] += LogprobGenerator.CodePointLength(tokens[k]);
                        }

                        CompletionWire.WriteChunk(sse.BeginEvent(), request, created, c, k == 0 ? EchoPrefix(request, c) + tokens[k] : tokens[k], role: false,
                            last ? choices[c].FinishReason : null, Continuous(c, k + 1), last ? choices[c].StopReason : null, chunkLogprobs);
                        sse.EndEvent();
                    }
                    else if (k == 0)
                    {
                        // An empty output (echo without generation): the prompt's logprobs still ride on this chunk.
                        ChunkLogprobs? promptLogprobs = textOffsets is not null && EchoPieces(request, c) is { } pieces
                            ? new ChunkLogprobs(logprobs, request.TopLogprobs!.Value, pieces.Count, 0, null, pieces)
                            : null;
                        CompletionWire.WriteChunk(sse.BeginEvent(), request, created, c, chat ? null : EchoPrefix(request, c), role: false, choices[c].FinishReason, Continuous(c, 0), choices[c].StopReason, promptLogprobs);
                        sse.EndEvent();
                    }
                }

                await sse.FlushAsync(aborted);
                trace.OnStep(time.GetTimestamp());
            }

            if (request.IncludeUsage)
            {
                CompletionWire.WriteUsageChunk(sse.BeginEvent(), request, created, UsageOf(request, choices, cached));
                sse.EndEvent();
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // After the first byte the status is fixed: report the failure as an event, as vLLM does.
            trace.OnFailed();
            var status = ex is ApiException api ? api.StatusCode : StatusCodes.Status500InternalServerError;
            sse.WriteError(status, ex.Message, (ex as ApiException)?.Param);
        }

        trace.OnFinished(); // no-op after a failure; recorded before [DONE] reaches the client
        sse.WriteDone();
        await sse.FlushAsync(aborted);
    }

    private static Task WriteResponseAsync(HttpContext context, InferenceRequest request, GeneratedText[] choices, long created, int? cached, LogprobGenerator logprobs) =>
        JsonResponse.WriteAsync(context, (request, choices, created, usage: UsageOf(request, choices, cached), logprobs),
            static (w, s) => CompletionWire.WriteResponse(w, s.request, s.created, s.choices, s.usage, s.logprobs));

    /// <summary>Completions <c>echo</c>: the prompt of choice <paramref name="c"/>, sent before its first token.</summary>
    private static string EchoPrefix(InferenceRequest request, int c) =>
        request.Echo ? request.Prompts[c / request.N].EchoText : "";

    /// <summary>Completions <c>echo</c> with logprobs: the prompt pieces of choice <paramref name="c"/>, else null.</summary>
    private static IReadOnlyList<string>? EchoPieces(InferenceRequest request, int c) =>
        request.Echo ? request.Prompts[c / request.N].EchoPieces : null;

    private static Usage UsageOf(InferenceRequest request, GeneratedText[] choices, int? cached) =>
        new(request.PromptTokens, choices.Sum(c => c.Tokens.Count)) { CachedTokens = cached };
}
