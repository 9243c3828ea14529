using System.Text.Json.Nodes;
using OrleansSim.Core.Metrics;
using OrleansSim.Server.Metrics;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Metrics;

/// <summary>--fake-metrics end to end: the host started with pinned values, scraped over HTTP, under real traffic.</summary>
public sealed class FakeMetricsTests
{
    private const string Spec = """
        {"running-requests":7,"waiting-requests":"ramp:0:1000:100s","kv-cache-usage":0.3,
         "loras":[{"running":"a,b","waiting":"c","timestamp":1257894567}],
         "ttft-buckets-values":[1,2,0,3],
         "e2erl-buckets-values":[0,4],
         "request-success-total":{"stop":20,"length":5},
         "request-prompt-tokens":[2,3],
         "total-generation-tokens":600,
         "prefix-cache-hits":10,"prefix-cache-queries":40}
        """;

    private const string Ttft = "vllm:time_to_first_token_seconds";

    [Fact]
    public async Task PinnedValuesAreReportedAndRealTrafficMovesNothing()
    {
        await using var host = await SimHost.StartAsync(o => o with
        {
            FakeMetrics = FakeMetricsSpec.Parse(JsonNode.Parse(Spec)!.AsObject()),
            FakeMetricsRefreshInterval = TimeSpan.FromMilliseconds(50),
            MaxNumSeqs = 1,
            TimeToFirstToken = TimeSpan.FromMilliseconds(300),
        }, ranks: 2);

        var first = await PromText.ScrapeAsync(host.Client);
        AssertPinned(first);

        // Real traffic, with a queue on rank 0: the real scheduler would report 1 running and 2 waiting.
        var requests = Enumerable.Range(0, 3)
            .Select(_ => host.Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"a b c","max_tokens":3}"""))
            .ToList();
        var stream = await host.Client.PostStreamAsync("/v1/chat/completions",
            """{"model":"test-model","stream":true,"max_tokens":4,"messages":[{"role":"user","content":"hi"}]}""");
        var during = await PromText.ScrapeAsync(host.Client);
        AssertPinned(during);
        await Sse.ReadAllAsync(stream);
        foreach (var (response, _) in await Task.WhenAll(requests))
        {
            Assert.Equal(200, (int)response.StatusCode);
        }

        // The ramp climbs 10 per second, in steps of the 50 ms refresh interval.
        var last = await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
            s => s.Value("vllm:num_requests_waiting") > first.Value("vllm:num_requests_waiting"),
            what: "the waiting ramp to climb");
        AssertPinned(last);
        Assert.InRange(last.Value("vllm:num_requests_waiting"), 1, 1000);
        Assert.Equal(Math.Floor(last.Value("vllm:num_requests_waiting")), last.Value("vllm:num_requests_waiting"));

        // Every other sample, pinned or not, is exactly as at the start.
        string[] Stable(PromText scrape) => [.. scrape.Samples.Where(s => s.Name != "vllm:num_requests_waiting").Select(s => s.Line)];
        Assert.Equal(Stable(first), Stable(last));

        // Rank 1 (its own registry) reports the same pinned values, functions in phase.
        AssertPinned(await PromText.ScrapeAsync(host.ClientFor(1)));

        var (problems, _) = await Promtool.CheckAsync(last.Text);
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public async Task UnpinnedGaugesStayAtZeroUnderLoad()
    {
        await using var host = await SimHost.StartAsync(o => o with
        {
            FakeMetrics = FakeMetricsSpec.Parse(JsonNode.Parse("""{"kv-cache-usage":"squarewave:0.25:0.75:1h"}""")!.AsObject()),
            MaxNumSeqs = 1,
            TimeToFirstToken = TimeSpan.FromMilliseconds(400),
        });
        var requests = Enumerable.Range(0, 2)
            .Select(_ => host.Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"x","max_tokens":1}"""))
            .ToList();
        await Task.Delay(150);
        var busy = await PromText.ScrapeAsync(host.Client);
        await Task.WhenAll(requests);
        var idle = await PromText.ScrapeAsync(host.Client);

        foreach (var scrape in new[] { busy, idle })
        {
            Assert.Equal(0.25, scrape.Value("vllm:kv_cache_usage_perc"));
            Assert.Equal(0, scrape.Value("vllm:num_requests_running"));
            Assert.Equal(0, scrape.Value("vllm:num_requests_waiting"));
            Assert.Equal(0, scrape.Value("vllm:prompt_tokens_total"));
            Assert.Equal(0, scrape.All("vllm:request_success_total").Sum(s => s.Value));
            // Without fake loras: the one series with empty adapter lists.
            var lora = Assert.Single(scrape.All(VllmMetrics.LoraRequestsInfo));
            Assert.Equal(("", ""), (lora.Labels["running_lora_adapters"], lora.Labels["waiting_lora_adapters"]));
        }
    }

    private static void AssertPinned(PromText s)
    {
        Assert.Equal(7, s.Value("vllm:num_requests_running"));
        Assert.Equal(0.3, s.Value("vllm:kv_cache_usage_perc"));
        Assert.InRange(s.Value("vllm:num_requests_waiting"), 0, 1000);

        // TTFT: 1 sample at 0.001, 2 at 0.005, 3 at 0.02 (cumulative buckets), each counted at its bound.
        Assert.Equal(1, s.Bucket(Ttft, "0.001"));
        Assert.Equal(3, s.Bucket(Ttft, "0.005"));
        Assert.Equal(3, s.Bucket(Ttft, "0.01"));
        Assert.Equal(6, s.Bucket(Ttft, "0.02"));
        Assert.Equal(6, s.Bucket(Ttft, "+Inf"));
        Assert.Equal(6, s.Value(Ttft + "_count"));
        Assert.Equal((1 * 0.001) + (2 * 0.005) + (3 * 0.02), s.Value(Ttft + "_sum"), 9);
        Assert.Equal(4, s.Bucket("vllm:e2e_request_latency_seconds", "0.5"));
        Assert.Equal(0, s.Bucket("vllm:e2e_request_latency_seconds", "0.3"));

        Assert.Equal(20, s.Value("vllm:request_success_total", ("finished_reason", "stop")));
        Assert.Equal(5, s.Value("vllm:request_success_total", ("finished_reason", "length")));
        Assert.Equal(0, s.Value("vllm:request_success_total", ("finished_reason", "abort")));
        // prompt tokens: 2 requests of 1 token + 3 of 2 (bucket bounds); generation: the explicit total.
        Assert.Equal(5, s.Value("vllm:request_prompt_tokens_count"));
        Assert.Equal(8, s.Value("vllm:prompt_tokens_total"));
        Assert.Equal(600, s.Value("vllm:generation_tokens_total"));
        Assert.Equal(0, s.Value("vllm:request_generation_tokens_count"));
        Assert.Equal(10, s.Value("vllm:prefix_cache_hits_total"));
        Assert.Equal(40, s.Value("vllm:prefix_cache_queries_total"));

        // Unpinned families stay as at startup whatever the traffic.
        Assert.Equal(0, s.Value("vllm:inter_token_latency_seconds_count"));
        Assert.Equal(0, s.Value("vllm:iteration_tokens_total_count"));
        Assert.Equal(0, s.Value("vllm:request_params_n_count"));

        var lora = Assert.Single(s.All(VllmMetrics.LoraRequestsInfo));
        Assert.Equal(("a,b", "c", "1"), (lora.Labels["running_lora_adapters"], lora.Labels["waiting_lora_adapters"], lora.Labels["max_lora"]));
        Assert.Equal(1257894567, lora.Value);
    }
}
