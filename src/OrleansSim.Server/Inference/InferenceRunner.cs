using OrleansSim.Core.Chaos;
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
/// The one run loop every API surface shares. For a validated request: <b>admit</b> (one grain call, returns once a
/// slot is held), <b>plan</b> the output (<see cref="OutputPlanner"/>) and its token deadlines, <b>pace</b> it out
/// at those deadlines through the surface's <see cref="ResponseWriter"/> (SSE events per step, or one body once the
/// last token is due), <b>release</b> (one grain call, through the request's <see cref="RankLease"/>, whatever happened). A client that disconnects cancels the wait or the stream and
/// frees its slot. Each request is <b>traced</b> into its rank's metrics (<see cref="RequestTrace"/>).
/// Surfaces never see the rank: what they differ in is the parser and the writer.
/// </summary>
public sealed class InferenceRunner(SimulatorOptions options, RuntimeSettings settings, OutputPlanner planner, LogprobGenerator logprobs, TimeProvider time, IPacer pacer, RankMetricsSet metrics, EngineBoard? board = null, SleepAborts? sleepAborts = null)
{
    /// <summary>vLLM's (and llm-d-inference-sim's) answer when the wait queue is full.</summary>
    public const string QueueFullMessage = "Failed to enqueue request, waiting requests queue is full.";

    /// <param name="chaos">
    /// The rank's chaos faults at arrival (docs/chaos.md): <c>latency</c> stretches the plan (with the engine clock: delays
    /// the join by <c>ttft_ms</c>; the engine itself stretches its steps), <c>drop</c> cuts streams.
    /// </param>
    public async Task RunAsync(HttpContext context, IRankGrain rank, InferenceRequest request, RankChaos? chaos = null)
    {
        var gone = context.RequestAborted;
        var trace = metrics.For(context).Begin(request, context.Request.Headers);
        var arrivedAt = time.GetTimestamp();

        // 1. Admit. Everything this request takes on its rank is filed under the lease's key and freed by its one release,
        // at the latest here at the end, whatever happened (admission cancelled or timed out, stream cut, write failed).
        await using var lease = new RankLease(rank);

        // Sleep mode: a /sleep (mode=abort) ends the request through its rank, which cancels this source; 'aborted' then stops
        // every wait as the client's leaving does, and 'gone' tells the two apart.
        using var asleep = sleepAborts is null ? null : CancellationTokenSource.CreateLinkedTokenSource(gone);
        var aborted = asleep?.Token ?? gone;
        if (asleep is not null)
        {
            sleepAborts!.File(lease.Key, asleep);
        }

        try
        {
            await RunAdmittedAsync(context, rank, request, chaos, lease, trace, arrivedAt, gone, aborted);
        }
        finally
        {
            sleepAborts?.Forget(lease.Key);
        }
    }

    private async Task RunAdmittedAsync(HttpContext context, IRankGrain rank, InferenceRequest request, RankChaos? chaos, RankLease lease, RequestTrace trace, long arrivedAt, CancellationToken gone, CancellationToken aborted)
    {
        AdmitResult plan;
        try
        {
            plan = await lease.AdmitAsync(
                new AdmitRequest(request.RequestId, request.Seed, [.. request.Prompts.Select(p => p.TokenIds)])
                {
                    Lora = request.Lora,
                    RemotePrefill = request.KvTransfer?.DoRemotePrefill == true,
                    Instant = IsInstant(chaos),
                },
                aborted);
        }
        catch (OperationCanceledException) when (gone.IsCancellationRequested)
        {
            await lease.ReleaseAsync(); // the slot may have been granted as the wait was cancelled
            trace.OnAborted();
            return;
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // A sleep (mode=abort) came while the request waited for a slot or a wake-up: it ends aborted, with no token.
            await EndAbortedAsync(context, lease, trace, Unstarted(request, request.Seed ?? 0, null), 0, gone);
            return;
        }

        if (plan.Status == AdmitStatus.QueueFull)
        {
            throw new ApiException(StatusCodes.Status429TooManyRequests, QueueFullMessage);
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
        InferenceRun? run = null;
        try
        {
            // 2. Plan: the output and when each token step is due.
            var random = new SimRandom(plan.Seed);
            var choices = planner.Plan(request, random);
            var steps = InferenceRun.StepsOf(choices);
            TokenSchedule schedule;
            var queueTime = plan.QueueTime;
            if (options.EngineClock)
            {
                // The rank's engine decides every token's time: join it, then wait for the step that finishes the prefill.
                var key = rank.GetPrimaryKeyString();
                if (chaos is { AddedTimeToFirstToken.Ticks: > 0 } slow)
                {
                    // Chaos 'latency' ttft_ms: the request joins the engine that much later (× factor); itl_ms and factor
                    // stretch the rank's steps (PodChaos as the engine's IEngineChaos).
                    var delay = slow.TimeToFirstToken(TimeSpan.Zero);
                    await pacer.WaitUntilAsync(time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency), aborted);
                }

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
                schedule = TokenSchedule.Planned(TokenDeadlines(slotHeldAt, plan.TimeToFirstToken, plan.InterTokenLatencyFactor, steps, random, chaos));
            }

            run = new InferenceRun(request, choices, time.GetUtcNow().ToUnixTimeSeconds(), cached, logprobs)
            {
                KvTransfer = request.KvTransfer?.DoRemoteDecode == true ? KvTransferResult.For(options, rank.GetPrimaryKeyString(), request.PromptTokens) : null,
            };
            trace.OnAdmitted(queueTime, slotHeldAt, choices, cached);

            // 3. Pace and write.
            var writer = request.Surface.CreateWriter(run);
            if (request.Stream)
            {
                await StreamAsync(context, run, writer, schedule, steps, trace, chaos?.DropAfterTokens, lease, gone, aborted);
            }
            else
            {
                var deadlines = new long[steps];
                var known = 0;
                try
                {
                    for (var k = 0; k < steps; k++)
                    {
                        deadlines[k] = await schedule.DueAsync(k, aborted);
                        known = k + 1;
                    }

                    await pacer.WaitUntilAsync(deadlines[^1], aborted);
                }
                catch (OperationCanceledException) when (!gone.IsCancellationRequested && aborted.IsCancellationRequested)
                {
                    // A sleep (mode=abort): the answer holds the tokens whose steps had come, finish_reason abort.
                    var now = time.GetTimestamp();
                    var produced = 0;
                    while (produced < known && deadlines[produced] <= now)
                    {
                        trace.OnStep(deadlines[produced++]);
                    }

                    await EndAbortedAsync(context, lease, trace, run, produced, gone);
                    return;
                }

                foreach (var deadline in deadlines)
                {
                    trace.OnStep(deadline);
                }

                trace.OnFinished(); // recorded before the client can see the response, as vLLM's output processor does
                await JsonResponse.WriteAsync(context, writer, static (w, writer) => writer.WriteBody(w));
            }
        }
        catch (StreamDroppedException)
        {
            // A chaos 'drop' cut the connection: the slot is freed as for a client that went away.
            await lease.ReleaseAsync();
            trace.OnAborted();
            return;
        }
        catch (OperationCanceledException) when (gone.IsCancellationRequested)
        {
            // The client went away: free its slot first, so a scrape that sees the abort sees the slot free too.
            await lease.ReleaseAsync();
            trace.OnAborted();
            return;
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // A sleep (mode=abort) before the first token was due (engine clock: before the engine started the request).
            await EndAbortedAsync(context, lease, trace, run ?? Unstarted(request, plan.Seed, cached), 0, gone);
            return;
        }
        catch
        {
            await lease.ReleaseAsync();
            trace.OnFailed();
            throw;
        }

        // 4. Release: the lease's DisposeAsync, whatever happened above.
    }

    /// <summary>
    /// True when this front-end adds no time to the request (no inter-token gaps, no chaos latency; the engine clock
    /// times everything itself): with a zero time to first token its rank frees it as it admits it (<see cref="AdmitRequest.Instant"/>).
    /// </summary>
    private bool IsInstant(RankChaos? chaos) =>
        !options.EngineClock && settings.Latency.InterTokenLatency == TimeSpan.Zero && chaos is not { HasLatency: true };

    /// <summary>
    /// When token k is due (a timestamp of <c>time</c>), measured from the moment the slot was held: TTFT, then one
    /// ITL per token. Absolute deadlines keep timer error from accumulating along a stream.
    /// </summary>
    private long[] TokenDeadlines(long slotHeldAt, TimeSpan ttft, double itlFactor, int tokens, SimRandom random, RankChaos? chaos)
    {
        var deadlines = new long[tokens];
        var latency = settings.Latency;
        var stretched = chaos is { HasLatency: true } ? chaos : null;
        var at = stretched?.TimeToFirstToken(ttft) ?? ttft;
        for (var k = 0; k < tokens; k++)
        {
            if (k > 0)
            {
                var gap = latency.NextInterTokenLatency(random, itlFactor);
                at += stretched?.InterTokenLatency(gap) ?? gap;
            }

            deadlines[k] = slotHeldAt + (long)(at.TotalSeconds * time.TimestampFrequency);
        }

        return deadlines;
    }

    /// <summary>Streams the output: every choice's events of a step leave in one write, at the step's deadline.</summary>
    private async Task StreamAsync(HttpContext context, InferenceRun run, ResponseWriter writer, TokenSchedule schedule, int steps, RequestTrace trace, int? dropAfterTokens, RankLease lease, CancellationToken gone, CancellationToken aborted)
    {
        using var sse = new SseWriter(context.Response);
        await sse.StartAsync(gone);
        var k = 0;
        try
        {
            writer.WriteStreamStart(sse);
            if (sse.HasPending)
            {
                await sse.FlushAsync(gone); // writes wait for the client only: a step written is a step sent
            }

            for (; k < steps; k++)
            {
                var due = await schedule.DueAsync(k, aborted);
                await pacer.WaitUntilAsync(due, aborted);
                if (k == dropAfterTokens)
                {
                    // Chaos 'drop': when the next token is due the connection is cut instead, without [DONE].
                    context.Abort();
                    throw new StreamDroppedException();
                }

                writer.WriteStep(sse, k);
                await sse.FlushAsync(gone);
                trace.OnStep(time.GetTimestamp(), due);
            }

            writer.WriteStreamEnd(sse);
        }
        catch (OperationCanceledException ex) when (ex is not StreamDroppedException && !gone.IsCancellationRequested && aborted.IsCancellationRequested)
        {
            // A sleep (mode=abort) while step k was awaited (steps before it are written and flushed): vLLM's last output
            // of an aborted request ends the stream, finish_reason abort. The slot is freed first, as for a client leaving.
            await lease.ReleaseAsync();
            trace.OnAborted();
            run.Abort(k);
            writer.WriteStreamAborted(sse, k);
            writer.WriteStreamClose(sse);
            await sse.FlushAsync(gone);
            return;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // After the first byte the status is fixed: report the failure as an event, as vLLM does.
            trace.OnFailed();
            var status = ex is ApiException api ? api.StatusCode : StatusCodes.Status500InternalServerError;
            writer.WriteStreamError(sse, status, ex.Message, (ex as ApiException)?.Param);
        }

        trace.OnFinished(); // no-op after a failure; recorded before the stream's last frame reaches the client
        writer.WriteStreamClose(sse);
        await sse.FlushAsync(gone);
    }

    /// <summary>The output a request would have had, for answering one a sleep aborted before its output was planned.</summary>
    private InferenceRun Unstarted(InferenceRequest request, long seed, int? cached) =>
        new(request, planner.Plan(request, new SimRandom(seed)), time.GetUtcNow().ToUnixTimeSeconds(), cached, logprobs);

    /// <summary>
    /// Ends a request a sleep (mode=abort) cut after <paramref name="produced"/> token steps, before any of it was written:
    /// frees its lease first (a scrape that sees the abort sees the slot free too), counts the abort, then answers the
    /// output cut there with finish_reason abort, as one body or as a whole stream with its surface's abort ending. The
    /// status stays 200, as vLLM answers a request its engine aborted.
    /// </summary>
    private static async Task EndAbortedAsync(HttpContext context, RankLease lease, RequestTrace trace, InferenceRun run, int produced, CancellationToken gone)
    {
        await lease.ReleaseAsync();
        trace.OnAborted();
        run.Abort(produced);
        var writer = run.Request.Surface.CreateWriter(run);
        if (!run.Request.Stream)
        {
            await JsonResponse.WriteAsync(context, writer, static (w, writer) => writer.WriteBody(w));
            return;
        }

        using var sse = new SseWriter(context.Response);
        await sse.StartAsync(gone);
        writer.WriteStreamStart(sse);
        writer.WriteStreamAborted(sse, produced);
        writer.WriteStreamClose(sse);
        await sse.FlushAsync(gone);
    }
}

/// <summary>A stream cut by a chaos <c>drop</c> fault (an <see cref="OperationCanceledException"/>, so no error event is written).</summary>
public sealed class StreamDroppedException : OperationCanceledException
{
    public StreamDroppedException()
        : base("stream dropped by a chaos fault")
    {
    }

    public StreamDroppedException(string message)
        : base(message)
    {
    }

    public StreamDroppedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
