using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OrleansSim.Grains.Ranks;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Scheduling;

/// <summary>Slots, queueing and rank independence observed from outside (generous timing bounds).</summary>
public sealed class RankSchedulingTests
{
    private const string Chat = """{"model":"test-model","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task RequestsBeyondMaxNumSeqsWaitForASlot()
    {
        await using var host = await SimHost.StartAsync(o => o with { MaxNumSeqs = 2, TimeToFirstToken = TimeSpan.FromMilliseconds(600) });
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, 4).Select(async _ =>
        {
            var (response, _) = await host.Client.PostJsonAsync("/v1/chat/completions", Chat);
            Assert.Equal(200, (int)response.StatusCode);
            return clock.Elapsed;
        }).ToList();
        var done = (await Task.WhenAll(tasks)).OrderBy(t => t).ToList();

        // Two run at once (600 ms each); the other two wait for those slots, so they cannot finish before two
        // TTFTs. Only the lower bounds are guaranteed on a busy machine; the upper ones are generous.
        Assert.InRange(done[1].TotalMilliseconds, 550, 30_000);
        Assert.InRange(done[2].TotalMilliseconds, 1150, 30_000);
    }

    [Fact]
    public async Task ARequestWithNoSimulatedTimeIsFreedInTheTurnThatStartsIt()
    {
        await using var host = await SimHost.StartAsync(o => o with { MaxNumSeqs = 1 });
        var rank = host.Services.GetRequiredService<IGrainFactory>().GetGrain<IRankGrain>(RankKey.For(host.Options.PodName, 0));
        var ct = TestContext.Current.CancellationToken;

        // A request that is not instant holds the one slot until its lease is released.
        await using var holder = new RankLease(rank);
        var held = await holder.AdmitAsync(new AdmitRequest("held", null, [[1, 2]]), ct);
        Assert.True(held is { Status: AdmitStatus.Admitted, Finished: false });

        // An instant one waits behind it like any other, then is started and freed in one turn.
        await using var queued = new RankLease(rank);
        var waiting = queued.AdmitAsync(new AdmitRequest("queued", null, [[1, 2]]) { Instant = true }, ct);
        await Poll.UntilAsync(rank.GetStatus, s => s.Waiting == 1, what: "the instant request waits for the slot");
        Assert.False(waiting.IsCompleted);
        await holder.ReleaseAsync();
        var started = await waiting;
        Assert.True(started is { Status: AdmitStatus.Admitted, Finished: true });
        var status = await rank.GetStatus();
        Assert.True(status is { Running: 0, Waiting: 0, Admitted: 2, Completed: 2 }, $"nothing held: {status}");

        // With the slot free it is done at once.
        await using var instant = new RankLease(rank);
        Assert.True(await instant.AdmitAsync(new AdmitRequest("instant", null, [[1, 2]]) { Instant = true }, ct) is { Status: AdmitStatus.Admitted, Finished: true });

        // Over HTTP with no latency configured, the slot is free by the time the answer arrives.
        var (response, _) = await host.Client.PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal(200, (int)response.StatusCode);
        status = await rank.GetStatus();
        Assert.True(status is { Running: 0, Waiting: 0, Admitted: 4, Completed: 4 }, $"nothing held after the answer: {status}");
    }

    [Fact]
    public async Task FullWaitQueueAnswers429()
    {
        await using var host = await SimHost.StartAsync(o => o with { MaxNumSeqs = 1, MaxWaitingQueueLength = 1, InterTokenLatency = TimeSpan.FromMilliseconds(50) });
        // The slot is held by a long stream until the test lets it go; no step depends on timing.
        using var running = await RawHttp.PostAsync(host.Options.Port, "/v1/completions",
            """{"model":"test-model","prompt":"x","max_tokens":1000,"ignore_eos":true,"stream":true}""");
        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client), s => s.Value("vllm:num_requests_running") == 1, what: "one running");
        var waiting = host.Client.PostJsonAsync("/v1/chat/completions", Chat);
        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client), s => s.Value("vllm:num_requests_waiting") == 1, what: "one waiting");
        var (rejected, body) = await host.Client.PostJsonAsync("/v1/chat/completions", Chat);
        var message = Http.AssertError(rejected, body, 429, "RateLimitError");
        Assert.Contains("queue is full", message, StringComparison.Ordinal);
        running.Close(reset: false);
        Assert.Equal(200, (int)(await waiting).Response.StatusCode);
    }

    [Fact]
    public async Task EachDataParallelPortHasItsOwnRank()
    {
        await using var host = await SimHost.StartAsync(o => o with { MaxNumSeqs = 1, TimeToFirstToken = TimeSpan.FromMilliseconds(700), InterTokenLatency = TimeSpan.FromMilliseconds(50) }, ranks: 3);
        for (var rank = 0; rank < 3; rank++)
        {
            var (response, body) = await host.ClientFor(rank).PostJsonAsync("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"port check"}]}""");
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Equal("port check", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        }

        // Block rank 0 (its one slot held by a stream the test keeps open, one request queued): a request on
        // rank 1 is still answered while rank 0 stays blocked, so it did not wait for rank 0.
        using var blocker = await RawHttp.PostAsync(host.Options.Port, "/v1/completions",
            """{"model":"test-model","prompt":"x","max_tokens":1000,"ignore_eos":true,"stream":true}""");
        // The blocker must hold the slot before the short request arrives, else the short one may run first and leave.
        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.ClientFor(0)),
            s => s.Value("vllm:num_requests_running") == 1, what: "rank 0's slot held by the stream");
        var queued = host.ClientFor(0).PostJsonAsync("/v1/chat/completions", Chat);
        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.ClientFor(0)),
            s => s.Value("vllm:num_requests_running") == 1 && s.Value("vllm:num_requests_waiting") == 1, what: "rank 0 blocked");
        var (other, _) = await host.ClientFor(1).PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal(200, (int)other.StatusCode);
        var rank0 = await PromText.ScrapeAsync(host.ClientFor(0));
        Assert.Equal(1, rank0.Value("vllm:num_requests_waiting"));
        blocker.Close(reset: false);
        Assert.Equal(200, (int)(await queued).Response.StatusCode);
    }

    [Fact]
    public async Task StreamingChunksAreSpacedByInterTokenLatency()
    {
        await using var host = await SimHost.StartAsync(o => o with { TimeToFirstToken = TimeSpan.FromMilliseconds(300), InterTokenLatency = TimeSpan.FromMilliseconds(100) });
        var clock = Stopwatch.StartNew();
        using var response = await host.Client.PostStreamAsync("/v1/chat/completions",
            """{"model":"test-model","stream":true,"max_tokens":6,"ignore_eos":true,"messages":[{"role":"user","content":"a b c d e f"}]}""");
        var headersAt = clock.Elapsed;
        var events = await Sse.ReadAllAsync(response);
        var tokenEvents = events.Where(e => !e.IsDone)
            .Where(e => e.Json.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) && c.GetString()!.Length > 0)
            .ToList();
        Assert.Equal(6, tokenEvents.Count);
        // Token k is never due before TTFT + k ITLs after the slot was held (which is after the request was sent);
        // a busy machine can only make it later, so the upper bound is generous.
        for (var k = 0; k < tokenEvents.Count; k++)
        {
            Assert.InRange((headersAt + tokenEvents[k].At).TotalMilliseconds, 300 + (100 * k) - 5, 30_000);
        }
    }

    [Fact]
    public async Task NonStreamingReturnsAfterTheWholePlannedTime()
    {
        await using var host = await SimHost.StartAsync(o => o with { TimeToFirstToken = TimeSpan.FromMilliseconds(200), InterTokenLatency = TimeSpan.FromMilliseconds(50) });
        var clock = Stopwatch.StartNew();
        var (response, _) = await host.Client.PostJsonAsync("/v1/chat/completions",
            """{"model":"test-model","max_tokens":10,"ignore_eos":true,"messages":[{"role":"user","content":"x"}]}""");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.InRange(clock.Elapsed.TotalMilliseconds, 645, 30_000); // not before 200 + 9 × 50 = 650 ms
    }

    [Fact]
    public async Task ClientDisconnectWhileQueuedFreesTheQueue()
    {
        // One slot, one queue place. A long stream holds the slot for as long as the test needs it (no race with a TTFT).
        await using var host = await SimHost.StartAsync(o => o with { MaxNumSeqs = 1, MaxWaitingQueueLength = 1, InterTokenLatency = TimeSpan.FromMilliseconds(50) });
        using var holder = await RawHttp.PostAsync(host.Options.Port, "/v1/completions",
            """{"model":"test-model","prompt":"hi","max_tokens":1000,"ignore_eos":true,"stream":true}""");
        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client), m => m.Value("vllm:num_requests_running") == 1, TimeSpan.FromSeconds(30), "the stream holding the slot");
        using (var cts = new CancellationTokenSource())
        {
            var waiter = host.Client.SendAsync(Http.Post("/v1/chat/completions", Chat), cts.Token);
            await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client), m => m.Value("vllm:num_requests_waiting") == 1, TimeSpan.FromSeconds(30), "the waiter queued");
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter);
        }

        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client), m => m.Value("vllm:num_requests_waiting") == 0, TimeSpan.FromSeconds(30), "the abandoned waiter gone");

        // The abandoned waiter left the queue, so a new request can queue instead of getting 429; it runs once the stream leaves.
        var queued = host.Client.PostJsonAsync("/v1/chat/completions", Chat);
        await Poll.UntilAsync(async () => (Done: queued.IsCompleted, Scrape: await PromText.ScrapeAsync(host.Client)),
            x => x.Done || x.Scrape.Value("vllm:num_requests_waiting") == 1, TimeSpan.FromSeconds(30), "the new request queued");
        if (queued.IsCompleted)
        {
            Assert.Fail($"answered {(int)(await queued).Response.StatusCode} while the slot was held (the queue place was not freed)");
        }

        holder.Close(reset: true);
        Assert.Equal(200, (int)(await queued).Response.StatusCode);
    }
}
