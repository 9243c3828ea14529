using System.Globalization;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Engine;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Scheduling;

/// <summary>
/// <c>--latency-calculator step</c> seen from outside: real server, real HTTP. Timing assertions are lower bounds the
/// engine guarantees by construction (a token never leaves before the end of its step) or wide ratios.
/// </summary>
public sealed class EngineClockTests
{
    private static Func<SimulatorOptions, SimulatorOptions> Step(StepProfile profile, int maxNumSeqs = 64) =>
        o => o with { LatencyCalculator = "step", StepProfile = profile, MaxNumSeqs = maxNumSeqs };

    private static string Completion(int maxTokens, string prompt = "one two three four", bool stream = true) =>
        $$"""{"model":"test-model","prompt":"{{prompt}}","max_tokens":{{maxTokens}},"ignore_eos":true,"stream":{{(stream ? "true" : "false")}}}""";

    /// <summary>Arrival times of the content chunks of one stream.</summary>
    private static async Task<List<TimeSpan>> StreamTimesAsync(HttpClient client, string body)
    {
        using var response = await client.PostStreamAsync("/v1/completions", body);
        Assert.Equal(200, (int)response.StatusCode);
        var events = await Sse.ReadAllAsync(response);
        return [.. events.Where(e => !e.IsDone).Select(e => e.At)];
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static IEnumerable<double> Gaps(List<TimeSpan> times) =>
        times.Zip(times.Skip(1), (a, b) => (b - a).TotalMilliseconds);

    [Fact]
    public async Task InterTokenLatencyGrowsWithTheBatch()
    {
        // A decode step costs 2 ms + 3 ms per sequence: 5 ms alone, 98 ms with 32 streams.
        var profile = new StepProfile { Overhead = TimeSpan.FromMilliseconds(2), DecodePerSequence = TimeSpan.FromMilliseconds(3), PrefillPerToken = TimeSpan.Zero, KvReadPer1kTokens = TimeSpan.Zero };
        await using var host = await SimHost.StartAsync(Step(profile));

        // A busy machine only makes gaps longer, so the shortest gap alone is the robust measure of a lone step, and
        // the median with 32 streams can only be checked against its lower bound.
        var alone = Gaps(await StreamTimesAsync(host.Client, Completion(12))).Min();
        var batch = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => StreamTimesAsync(host.Client, Completion(12))));
        var together = Median(batch.SelectMany(Gaps));

        Assert.True(together >= 60, $"median ITL with 32 streams {together:F1} ms (steps take 98 ms)");
        Assert.True(together > 4 * alone, $"shortest ITL alone {alone:F1} ms, median with 32 streams {together:F1} ms");
    }

    [Fact]
    public async Task ALongPromptSlowsTheRunningStreamsNextToken()
    {
        // Prefill costs 0.2 ms per token: a ~1,500-token prompt makes the step it joins last ~300 ms.
        var profile = new StepProfile { Overhead = TimeSpan.FromMilliseconds(5), PrefillPerToken = TimeSpan.FromMilliseconds(0.2), DecodePerSequence = TimeSpan.Zero, KvReadPer1kTokens = TimeSpan.Zero };
        await using var host = await SimHost.StartAsync(o => Step(profile)(o) with { MaxModelLen = 4096 });

        // 400 tokens of 5 ms steps: the stream is still running when the long prompt arrives, even on a loaded machine.
        var running = StreamTimesAsync(host.Client, Completion(400));
        // The long prompt must join while the stream runs (a loaded machine may admit the stream late).
        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client), s => s.Value("vllm:num_requests_running") == 1, what: "the stream running");
        var longPrompt = string.Join(' ', Enumerable.Repeat("lorem ipsum", 700));
        var (response, body) = await host.Client.PostJsonAsync("/v1/completions", Completion(1, longPrompt, stream: false));
        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 1000);

        var gaps = Gaps(await running).ToList();
        Assert.True(gaps.Max() >= 250, $"largest gap {gaps.Max():F1} ms; the shared step costs >= 305 ms");
        Assert.True(Median(gaps) < 100, $"median gap {Median(gaps):F1} ms; plain steps cost 5 ms");
    }

    [Fact]
    public async Task TinyCachePreemptsAndEveryStreamStillCompletes()
    {
        // 24 blocks of 8 tokens for 6 streams of ~10 prompt + 40 output tokens (7 blocks each at the end): they cannot all fit.
        var profile = new StepProfile { Overhead = TimeSpan.FromMilliseconds(1) };
        await using var host = await SimHost.StartAsync(o => Step(profile)(o) with { EnableKvCache = true, KvCacheSize = 24, BlockSize = 8, ZmqEndpoint = "" });

        var streams = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            StreamTimesAsync(host.Client, Completion(40, $"stream {i} asks for forty tokens"))));
        Assert.All(streams, s => Assert.Equal(40, s.Count)); // every token delivered once, in order, despite preemption

        var metrics = await PromText.ScrapeAsync(host.Client);
        Assert.True(metrics.Value("vllm:num_preemptions_total") > 0, "no preemption with a 24-block cache");
        Assert.Equal(0, metrics.Value("vllm:kv_cache_usage_perc")); // every block given back
        Assert.Equal(0, metrics.Value("vllm:num_requests_running"));
    }

    [Fact]
    public async Task IterationTokensCountWholeStepsAndQueueTimeGrowsPastTheSlots()
    {
        var profile = new StepProfile { Overhead = TimeSpan.FromMilliseconds(10), DecodePerSequence = TimeSpan.Zero, PrefillPerToken = TimeSpan.Zero, KvReadPer1kTokens = TimeSpan.Zero };
        await using var host = await SimHost.StartAsync(Step(profile, maxNumSeqs: 1));

        var (response, body) = await host.Client.PostJsonAsync("/v1/completions", Completion(5, stream: false));
        Assert.Equal(200, (int)response.StatusCode);
        var prompt = body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        var metrics = await PromText.ScrapeAsync(host.Client);
        // One prefill step (the prompt, producing token 1) and four decode steps of one token.
        Assert.Equal(5, metrics.Value("vllm:iteration_tokens_total_count"));
        Assert.Equal(prompt + 4, metrics.Value("vllm:iteration_tokens_total_sum"));

        // One slot: a long stream holds it while two requests of 5 steps × 10 ms queue behind it (both seen waiting, so
        // their arrival times do not matter). The one admitted last waits at least the other's 5 steps: sum >= 50 ms.
        var holder = StreamTimesAsync(host.Client, Completion(300));
        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client), s => s.Value("vllm:num_requests_running") == 1, what: "the stream running");
        var queued = Task.WhenAll(Enumerable.Range(0, 2).Select(_ => host.Client.PostJsonAsync("/v1/completions", Completion(5, stream: false))));
        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client), s => s.Value("vllm:num_requests_waiting") == 2, what: "two requests waiting");
        Assert.Equal(300, (await holder).Count);
        Assert.All(await queued, r => Assert.Equal(200, (int)r.Response.StatusCode));
        metrics = await PromText.ScrapeAsync(host.Client);
        Assert.Equal(4, metrics.Value("vllm:request_queue_time_seconds_count"));
        Assert.True(metrics.Value("vllm:request_queue_time_seconds_sum") >= 0.045, metrics.Value("vllm:request_queue_time_seconds_sum").ToString(CultureInfo.InvariantCulture));
        Assert.True(metrics.Value("vllm:request_prefill_time_seconds_sum") > 0);
        Assert.True(metrics.Value("vllm:request_decode_time_seconds_sum") >= 4 * 0.04 - 0.01);
    }

    [Fact]
    public async Task KvCacheUsageFollowsTheBlocksARunningStreamHolds()
    {
        // 100 blocks of 16 tokens; one stream of a ~40-token prompt and 200 tokens of 10 ms steps holds 3..16 blocks while it runs.
        var profile = new StepProfile { Overhead = TimeSpan.FromMilliseconds(10), PrefillPerToken = TimeSpan.Zero, DecodePerSequence = TimeSpan.Zero, KvReadPer1kTokens = TimeSpan.Zero };
        await using var host = await SimHost.StartAsync(o => Step(profile)(o) with { EnableKvCache = true, KvCacheSize = 100, BlockSize = 16, ZmqEndpoint = "" });

        var prompt = string.Join(' ', Enumerable.Repeat("one two three four", 10));
        var running = StreamTimesAsync(host.Client, Completion(200, prompt));
        var during = await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client), s => s.Value("vllm:kv_cache_usage_perc") > 0, what: "blocks held");
        var usage = during.Value("vllm:kv_cache_usage_perc");
        Assert.InRange(usage, 0.03, 0.16); // at least the prompt's blocks, at most prompt + 200 tokens' (16 of 100)
        Assert.Equal(200, (await running).Count);

        var after = await PromText.ScrapeAsync(host.Client);
        Assert.Equal(0, after.Value("vllm:kv_cache_usage_perc"));
        Assert.Equal(0, after.Value("vllm:num_preemptions_total")); // plenty of blocks: nobody was preempted
    }

    [Fact]
    public async Task PrefillAndDecodeTimeSplitFollowsTheProfile()
    {
        // Prefill costs 0.2 ms per token, a step 5 ms: a ~1,400-token prompt takes ~285 ms to prefill, its 4 decode steps 20 ms.
        var profile = new StepProfile { Overhead = TimeSpan.FromMilliseconds(5), PrefillPerToken = TimeSpan.FromMilliseconds(0.2), DecodePerSequence = TimeSpan.Zero, KvReadPer1kTokens = TimeSpan.Zero };
        await using var host = await SimHost.StartAsync(o => Step(profile)(o) with { MaxModelLen = 4096 });

        var prompt = string.Join(' ', Enumerable.Repeat("lorem ipsum", 700));
        var (response, body) = await host.Client.PostJsonAsync("/v1/completions", Completion(5, prompt, stream: false));
        Assert.Equal(200, (int)response.StatusCode);
        var tokens = body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        var metrics = await PromText.ScrapeAsync(host.Client);
        var prefill = metrics.Value("vllm:request_prefill_time_seconds_sum");
        var decode = metrics.Value("vllm:request_decode_time_seconds_sum");
        // Lower bounds only: a starved machine wakes the engine late and lengthens any step, but never shortens one.
        // Prefill holds the prompt's steps (a request whose prefill landed in decode would miss the first bound).
        Assert.True(prefill >= (0.005 + (tokens * 0.0002)) - 0.002, $"prefill {prefill:F3} s for {tokens} prompt tokens");
        Assert.True(decode >= 4 * 0.005 - 0.002, $"decode {decode:F3} s for 4 steps of 5 ms");
        // The chunked prompt shows in the iteration tokens: every prompt token once, then one token per decode step.
        Assert.Equal(tokens + 4, metrics.Value("vllm:iteration_tokens_total_sum"));
    }

    [Fact]
    public async Task EveryStreamedTokenIsTimedAgainstTheEndOfItsStep()
    {
        var profile = new StepProfile { Overhead = TimeSpan.FromMilliseconds(4) };
        await using var host = await SimHost.StartAsync(Step(profile));

        var streams = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => StreamTimesAsync(host.Client, Completion(20))));
        Assert.All(streams, s => Assert.Equal(20, s.Count));
        var metrics = await PromText.ScrapeAsync(host.Client);
        var name = OrleansSim.Server.Metrics.RankMetrics.TokenLatenessName;
        Assert.Equal(80, metrics.Value(name + "_count")); // one observation per streamed token step
        // A token never leaves more than the pacer's 0.5 ms release window before the end of its step.
        Assert.True(metrics.Value(name + "_sum") >= -0.0005 * 80, metrics.Value(name + "_sum").ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task AChaosLatencyFaultSlowsTheEngineClock()
    {
        var profile = new StepProfile { Overhead = TimeSpan.FromMilliseconds(5), PrefillPerToken = TimeSpan.Zero, DecodePerSequence = TimeSpan.Zero, KvReadPer1kTokens = TimeSpan.Zero };
        await using var host = await SimHost.StartAsync(Step(profile));
        var (added, fault) = await host.Client.PostJsonAsync("/admin/chaos", """{"kind":"latency","itl_ms":20,"factor":2}""");
        Assert.True(added.StatusCode == System.Net.HttpStatusCode.Created, fault.ToString());

        // Every step now takes (5 + 20) × 2 = 50 ms: the 10th token is due 10 steps (prefill included) after the request
        // joined, and a token never leaves before it is due (a loaded machine can only make it later).
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var times = await StreamTimesAsync(host.Client, Completion(10));
        var elapsed = watch.Elapsed.TotalMilliseconds;
        Assert.Equal(10, times.Count);
        Assert.True(elapsed >= (10 * 50) - 1, $"10 tokens after {elapsed:F0} ms; unslowed steps take 5 ms");
    }
}
