using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Metrics;

/// <summary>GET /metrics scraped before and after known workloads: exact deltas, label sets, buckets.</summary>
public sealed class MetricsTests
{
    private const string Ttft = "vllm:time_to_first_token_seconds";
    private const string Itl = "vllm:inter_token_latency_seconds";
    private const string E2e = "vllm:e2e_request_latency_seconds";

    private static readonly string[] Reasons = ["stop", "length", "abort", "error", "repetition"];

    [Fact]
    public async Task KnownWorkloadMovesCountersAndHistogramsByExactAmounts()
    {
        await using var host = await SimHost.StartAsync(o => o with
        {
            TimeToFirstToken = TimeSpan.FromMilliseconds(120),
            InterTokenLatency = TimeSpan.FromMilliseconds(30),
        });
        var before = await PromText.ScrapeAsync(host.Client);

        // One completion: echo cut to 3 tokens → finish "length".
        var (response, body) = await host.Client.PostJsonAsync("/v1/completions",
            """{"model":"test-model","prompt":"one two three four five six seven","max_tokens":3}""");
        Assert.Equal(200, (int)response.StatusCode);
        var promptTokens = body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        var completionTokens = body.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        Assert.Equal(3, completionTokens);
        Assert.Equal("length", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        // One streamed chat with n = 2: two engine requests in vLLM's terms.
        var stream = await host.Client.PostStreamAsync("/v1/chat/completions",
            """{"model":"alias-model","stream":true,"n":2,"max_tokens":50,"messages":[{"role":"user","content":"red green blue"}],"stream_options":{"include_usage":true}}""");
        var events = await Sse.ReadAllAsync(stream);
        var usage = events[^2].Json.GetProperty("usage");
        var chatPrompt = usage.GetProperty("prompt_tokens").GetInt32();
        var chatCompletion = usage.GetProperty("completion_tokens").GetInt32(); // both choices
        var perChoice = chatCompletion / 2;

        var after = await PromText.ScrapeAsync(host.Client);
        double Delta(string name, params (string, string)[] labels) => after.Value(name, labels) - before.Value(name, labels);

        Assert.Equal(promptTokens + (2 * chatPrompt), Delta("vllm:prompt_tokens_total"));
        Assert.Equal(completionTokens + chatCompletion, Delta("vllm:generation_tokens_total"));
        Assert.Equal(1, Delta("vllm:request_success_total", ("finished_reason", "length")));
        Assert.Equal(2, Delta("vllm:request_success_total", ("finished_reason", "stop")));
        Assert.Equal(0, Delta("vllm:request_success_total", ("finished_reason", "abort")));
        Assert.Equal(0, Delta("vllm:request_success_total", ("finished_reason", "error")));

        Assert.Equal(3, Delta(Ttft + "_count"));
        Assert.Equal(3, Delta(E2e + "_count"));
        Assert.Equal(3, Delta("vllm:request_queue_time_seconds_count"));
        Assert.Equal(3, Delta("vllm:request_prefill_time_seconds_count"));
        Assert.Equal(3, Delta("vllm:request_decode_time_seconds_count"));
        Assert.Equal(3, Delta("vllm:request_inference_time_seconds_count"));
        Assert.Equal((completionTokens - 1) + (2 * (perChoice - 1)), Delta(Itl + "_count"));
        Assert.Equal(promptTokens + (2 * chatPrompt), Delta("vllm:request_prompt_tokens_sum"));
        Assert.Equal(completionTokens + chatCompletion, Delta("vllm:request_generation_tokens_sum"));
        Assert.Equal(3 + (2 * 50), Delta("vllm:request_params_max_tokens_sum"));
        Assert.Equal(2, Delta("vllm:request_params_n_count")); // once per prompt (vLLM's parent request)
        Assert.Equal(1 + 2, Delta("vllm:request_params_n_sum"));
        // No KV cache (prefix caching off): no lookups, as in vLLM without prefix caching.
        Assert.Equal(0, Delta("vllm:prefix_cache_queries_total"));
        Assert.Equal(0, Delta("vllm:prefix_cache_hits_total"));

        // TTFT is at least the configured 120 ms: nothing lands at or below 0.1 s, everything in +Inf.
        Assert.Equal(0, after.Bucket(Ttft, "0.1") - before.Bucket(Ttft, "0.1"));
        Assert.Equal(3, after.Bucket(Ttft, "+Inf") - before.Bucket(Ttft, "+Inf"));
        Assert.InRange(Delta(Ttft + "_sum"), 3 * 0.1, 3 * 2.0);
        // Tokens are due every 30 ms from absolute deadlines. A late first flush makes the following gaps short
        // (they catch up with their deadlines), so only a generous upper bound holds on a loaded machine.
        Assert.InRange(Delta(Itl + "_sum") / Delta(Itl + "_count"), 0, 0.5);
        Assert.Equal(Delta(Itl + "_count"), after.Bucket(Itl, "+Inf") - before.Bucket(Itl, "+Inf"));

        // Idle again: the gauges return to zero (the slot is released just after the last byte).
        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
            s => s.Value("vllm:num_requests_running") == 0 && s.Value("vllm:num_requests_waiting") == 0,
            what: "idle gauges");
    }

    [Fact]
    public async Task NamesLabelsAndBucketsAreVllms()
    {
        await using var host = await SimHost.StartAsync();
        var scrape = await PromText.ScrapeAsync(host.Client);

        foreach (var reason in Reasons)
        {
            Assert.Equal(0, scrape.Value("vllm:request_success_total", ("finished_reason", reason)));
        }

        // model_name is the first served name, engine the rank; nothing else on the per-engine families.
        foreach (var sample in scrape.Samples.Where(s => s.Name.StartsWith("vllm:", StringComparison.Ordinal)
                     && !s.Name.StartsWith("vllm:lora_requests_info", StringComparison.Ordinal)
                     && !s.Name.StartsWith("vllm:cache_config_info", StringComparison.Ordinal)))
        {
            Assert.Equal("test-model", sample.Labels["model_name"]);
            Assert.Equal("0", sample.Labels["engine"]);
            var extra = sample.Labels.Keys.Except(["model_name", "engine", "le", "finished_reason", "sleep_state"]).ToList();
            Assert.Empty(extra);
        }

        string[] LeOf(string histogram) => [.. scrape.All(histogram + "_bucket").Select(s => s.Labels["le"])];
        Assert.Equal(["0.001", "0.005", "0.01", "0.02", "0.04", "0.06", "0.08", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5", "10.0", "20.0", "40.0", "80.0", "160.0", "640.0", "2560.0", "+Inf"], LeOf(Ttft));
        Assert.Equal(["0.01", "0.025", "0.05", "0.075", "0.1", "0.15", "0.2", "0.3", "0.4", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5", "10.0", "20.0", "40.0", "80.0", "+Inf"], LeOf(Itl));
        string[] latency = ["0.3", "0.5", "0.8", "1.0", "1.5", "2.0", "2.5", "5.0", "10.0", "15.0", "20.0", "30.0", "40.0", "50.0", "60.0", "120.0", "240.0", "480.0", "960.0", "1920.0", "7680.0", "+Inf"];
        foreach (var h in new[] { E2e, "vllm:request_queue_time_seconds", "vllm:request_inference_time_seconds", "vllm:request_prefill_time_seconds", "vllm:request_decode_time_seconds" })
        {
            Assert.Equal(latency, LeOf(h));
        }

        // build_1_2_5_buckets(max_model_len = 1024)
        string[] tokens = ["1.0", "2.0", "5.0", "10.0", "20.0", "50.0", "100.0", "200.0", "500.0", "1000.0", "+Inf"];
        foreach (var h in new[] { "vllm:request_prompt_tokens", "vllm:request_generation_tokens", "vllm:request_params_max_tokens", "vllm:request_max_num_generation_tokens" })
        {
            Assert.Equal(tokens, LeOf(h));
        }

        Assert.Equal(["1.0", "2.0", "5.0", "10.0", "20.0", "+Inf"], LeOf("vllm:request_params_n"));
        Assert.Equal(["1.0", "8.0", "16.0", "32.0", "64.0", "128.0", "256.0", "512.0", "1024.0", "2048.0", "4096.0", "8192.0", "16384.0", "+Inf"], LeOf("vllm:iteration_tokens_total"));

        Assert.Contains("# TYPE vllm:prompt_tokens_total counter\n", scrape.Text, StringComparison.Ordinal);
        Assert.Contains("# TYPE vllm:prompt_tokens_created gauge\n", scrape.Text, StringComparison.Ordinal);
        Assert.Contains("# TYPE vllm:time_to_first_token_seconds histogram\n", scrape.Text, StringComparison.Ordinal);
        Assert.Contains("# HELP vllm:num_requests_running Number of requests in model execution batches.\n", scrape.Text, StringComparison.Ordinal);

        var cache = Assert.Single(scrape.All("vllm:cache_config_info"));
        Assert.Equal(1, cache.Value);
        Assert.Equal("16", cache.Labels["block_size"]);
        Assert.Equal("1024", cache.Labels["num_gpu_blocks"]);
        Assert.Equal("0", cache.Labels["engine"]);

        var lora = Assert.Single(scrape.All("vllm:lora_requests_info"));
        Assert.Equal(["max_lora", "running_lora_adapters", "waiting_lora_adapters"], lora.Labels.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("1", lora.Labels["max_lora"]);

        // No process/runtime collectors: only vLLM's families, plus OrleansSim's own under its prefix (docs/latency.md).
        Assert.All(scrape.Samples.Where(s => !s.Name.StartsWith("orleanssim:token_lateness_seconds", StringComparison.Ordinal)),
            s => Assert.StartsWith("vllm:", s.Name, StringComparison.Ordinal));
        Assert.Equal(0, scrape.Value("orleanssim:token_lateness_seconds_count"));
    }

    [Fact]
    public async Task EachRankPortReportsItsOwnEngine()
    {
        await using var host = await SimHost.StartAsync(ranks: 2);
        var (response, _) = await host.ClientFor(1).PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"hello","max_tokens":2}""");
        Assert.Equal(200, (int)response.StatusCode);

        var rank0 = await PromText.ScrapeAsync(host.ClientFor(0));
        var rank1 = await PromText.ScrapeAsync(host.ClientFor(1));
        Assert.All(rank0.Samples.Where(s => s.Labels.ContainsKey("engine")), s => Assert.Equal("0", s.Labels["engine"]));
        Assert.All(rank1.Samples.Where(s => s.Labels.ContainsKey("engine")), s => Assert.Equal("1", s.Labels["engine"]));
        Assert.Equal(0, rank0.Value(E2e + "_count"));
        Assert.Equal(1, rank1.Value(E2e + "_count"));
        Assert.Equal(1, rank1.All("vllm:request_success_total").Sum(s => s.Value));
        Assert.Equal(0, rank0.All("vllm:request_success_total").Sum(s => s.Value));
    }

    [Fact]
    public async Task RunningAndWaitingGaugesFollowTheRankAndReturnToZero()
    {
        await using var host = await SimHost.StartAsync(o => o with { MaxNumSeqs = 1, TimeToFirstToken = TimeSpan.FromMilliseconds(300), InterTokenLatency = TimeSpan.FromMilliseconds(50) });
        // A long stream holds the one slot until the test lets it go, so "1 running, 2 waiting" lasts as long as it must.
        using var holder = await RawHttp.PostAsync(host.Options.Port, "/v1/completions",
            """{"model":"test-model","prompt":"x","max_tokens":1000,"ignore_eos":true,"stream":true}""");
        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client), s => s.Value("vllm:num_requests_running") == 1,
            TimeSpan.FromSeconds(30), "the stream holding the slot");
        var requests = Enumerable.Range(0, 2)
            .Select(_ => host.Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"x","max_tokens":1}"""))
            .ToList();

        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
            s => s.Value("vllm:num_requests_running") == 1 && s.Value("vllm:num_requests_waiting") == 2,
            TimeSpan.FromSeconds(30), "1 running, 2 waiting");
        holder.Close(reset: false);
        await Task.WhenAll(requests);
        var idle = await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
            s => s.Value("vllm:num_requests_running") == 0 && s.Value("vllm:num_requests_waiting") == 0
                 && s.Value("vllm:request_queue_time_seconds_count") == 3,
            TimeSpan.FromSeconds(30), "idle gauges and three queue times");
        // The stream did not wait; the last request waited at least for the other's 300 ms TTFT (a lower bound only).
        Assert.True(idle.Bucket("vllm:request_queue_time_seconds", "0.3") >= 1, "the stream did not wait");
        Assert.InRange(idle.Value("vllm:request_queue_time_seconds_sum"), 0.3, 60);
    }

    [Fact]
    public async Task ClientThatDisconnectsCountsAsAbort()
    {
        await using var host = await SimHost.StartAsync(o => o with { InterTokenLatency = TimeSpan.FromMilliseconds(300) });
        // A client of its own that closes the connection instead of draining the rest of the stream.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = host.BaseUri() };
        using (var cancel = new CancellationTokenSource())
        {
            var request = Http.Post("/v1/completions", """{"model":"test-model","prompt":"a b c d e f g h i j k l m n o p","max_tokens":16,"stream":true}""");
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
            Assert.StartsWith("data: ", await reader.ReadLineAsync(cancel.Token), StringComparison.Ordinal);
            await cancel.CancelAsync();
            response.Dispose();
            client.Dispose();
        }

        // One scrape reads the grain's gauges before it writes the counters (vLLM's scrape is no atomic
        // snapshot either), so wait for a scrape that shows both the abort and the freed slot.
        var scrape = await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
            s => s.Value("vllm:request_success_total", ("finished_reason", "abort")) == 1 && s.Value("vllm:num_requests_running") == 0,
            what: "an aborted request and its freed slot");
        Assert.Equal(0, scrape.Value("vllm:request_success_total", ("finished_reason", "length")));
        Assert.Equal(0, scrape.Value("vllm:num_requests_running"));
        Assert.InRange(scrape.Value("vllm:generation_tokens_total"), 1, 15);
    }

    [Fact]
    public async Task RejectedAndInvalidRequestsAreNotEngineRequests()
    {
        await using var host = await SimHost.StartAsync();
        var (bad, _) = await host.Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"x","max_tokens":0}""");
        Assert.Equal(400, (int)bad.StatusCode);
        var (unknown, _) = await host.Client.PostJsonAsync("/v1/completions", """{"model":"nope","prompt":"x"}""");
        Assert.Equal(404, (int)unknown.StatusCode);
        var scrape = await PromText.ScrapeAsync(host.Client);
        Assert.Equal(0, scrape.All("vllm:request_success_total").Sum(s => s.Value));
        Assert.Equal(0, scrape.Value(E2e + "_count"));
    }

    [Fact]
    public async Task PromtoolFindsOnlyTheNamingStyleOfVllmsOwnNames()
    {
        await using var host = await SimHost.StartAsync(o => o with { LoraModules = [new("sql-lora", "/adapters/sql")] });
        await host.Client.PostJsonAsync("/v1/completions", """{"model":"sql-lora","prompt":"x y","max_tokens":2}""");
        var scrape = await PromText.ScrapeAsync(host.Client);

        var (problems, output) = await Promtool.CheckAsync(scrape.Text);
        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.Contains("vllm:num_requests_running metric names should not contain ':'", output, StringComparison.Ordinal);
    }
}

/// <summary>With the KV cache on, usage, the prefix-cache counters and the KV gauges report the same truth.</summary>
public sealed class KvCacheMetricsTests
{
    [Fact]
    public async Task PrefixCacheCountersMatchCachedTokensAndUsageGaugeFollowsPinnedBlocks()
    {
        await using var host = await SimHost.StartAsync(o => o with
        {
            EnableKvCache = true,
            BlockSize = 16,
            KvCacheSize = 64,
            ZmqEndpoint = "",
            InterTokenLatency = TimeSpan.FromMilliseconds(40),
        });
        var before = await PromText.ScrapeAsync(host.Client);
        Assert.Equal(1, before.Value("vllm:cache_config_info", ("block_size", "16"), ("num_gpu_blocks", "64"), ("enable_prefix_caching", "True")));

        var prompt = string.Join(' ', Enumerable.Range(0, 120).Select(i => $"w{i}"));
        var request = $$"""{"model":"test-model","prompt":"{{prompt}}","max_tokens":1}""";
        var (_, first) = await host.Client.PostJsonAsync("/v1/completions", request);
        var (_, second) = await host.Client.PostJsonAsync("/v1/completions", request);
        var promptTokens = first.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        var cached = second.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32();
        Assert.Equal(0, first.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.True(cached > 0);

        var after = await PromText.ScrapeAsync(host.Client);
        Assert.Equal(2 * promptTokens, after.Value("vllm:prefix_cache_queries_total") - before.Value("vllm:prefix_cache_queries_total"));
        Assert.Equal(cached, after.Value("vllm:prefix_cache_hits_total") - before.Value("vllm:prefix_cache_hits_total"));
        Assert.Equal(0, after.Value("vllm:kv_cache_usage_perc")); // idle: nothing pinned

        // While a long request runs, its prompt's blocks are pinned: usage = pinned / capacity.
        var running = host.Client.PostJsonAsync("/v1/completions", $$"""{"model":"test-model","prompt":"{{prompt}}","max_tokens":40,"ignore_eos":true}""");
        var busy = await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client), s => s.Value("vllm:kv_cache_usage_perc") > 0, what: "kv usage while running");
        Assert.Equal(promptTokens / 16 / 64.0, busy.Value("vllm:kv_cache_usage_perc"), 6);
        await running;
        await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client), s => s.Value("vllm:kv_cache_usage_perc") == 0, what: "kv usage back to zero");
    }
}
