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

        // One slot, three requests of 5 steps × 10 ms: the later ones wait for the earlier ones.
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => host.Client.PostJsonAsync("/v1/completions", Completion(5, stream: false))));
        metrics = await PromText.ScrapeAsync(host.Client);
        Assert.Equal(4, metrics.Value("vllm:request_queue_time_seconds_count"));
        // Queued for at least 50 ms (one request's 5 steps) and 100 ms (two): sum over the four requests >= 0.15 s.
        Assert.True(metrics.Value("vllm:request_queue_time_seconds_sum") >= 0.14, metrics.Value("vllm:request_queue_time_seconds_sum").ToString(CultureInfo.InvariantCulture));
        Assert.True(metrics.Value("vllm:request_prefill_time_seconds_sum") > 0);
        Assert.True(metrics.Value("vllm:request_decode_time_seconds_sum") >= 4 * 0.04 - 0.01);
    }
}
