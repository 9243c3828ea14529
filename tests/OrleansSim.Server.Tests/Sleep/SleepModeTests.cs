using System.Net;
using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Engine;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Sleep;

/// <summary>
/// vLLM's sleep mode over real HTTP (README, "Sleep mode"): /sleep, /wake_up, /is_sleeping, requests that arrive asleep
/// waiting for the wake-up, <c>vllm:engine_sleep_state</c>, and the KV cache dropped with <c>AllBlocksCleared</c>.
/// </summary>
public sealed class SleepModeTests
{
    private const string Chat = """{"model":"test-model","messages":[{"role":"user","content":"are you awake"}],"max_tokens":3}""";

    private static SimulatorOptions Sleepy(SimulatorOptions o) => o with { EnableSleepMode = true, ServerDevMode = true };

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string pathAndQuery) =>
        await client.PostAsync(pathAndQuery, content: null);

    private static async Task<bool> IsSleepingAsync(HttpClient client)
    {
        var response = await client.GetAsync("/is_sleeping");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal("is_sleeping", Assert.Single(body.EnumerateObject()).Name);
        return body.GetProperty("is_sleeping").GetBoolean();
    }

    private static async Task AssertOkEmptyAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
    }

    /// <summary>The three series of vllm:engine_sleep_state of a rank: (awake, weights_offloaded, discard_all).</summary>
    private static async Task<(double Awake, double WeightsOffloaded, double DiscardAll)> SleepStateAsync(HttpClient client, int rank = 0)
    {
        var metrics = await PromText.ScrapeAsync(client);
        double State(string state) => metrics.Value("vllm:engine_sleep_state", ("engine", rank.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("model_name", "test-model"), ("sleep_state", state));
        return (State("awake"), State("weights_offloaded"), State("discard_all"));
    }

    private static async Task<(double Running, double Waiting)> SchedulerAsync(HttpClient client)
    {
        var metrics = await PromText.ScrapeAsync(client);
        return (metrics.Value("vllm:num_requests_running"), metrics.Value("vllm:num_requests_waiting"));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task WithoutTheFlagAndTheDevModeTheEndpointsDoNotExist(bool flag, bool devMode)
    {
        await using var host = await SimHost.StartAsync(o => o with { EnableSleepMode = flag, ServerDevMode = devMode });
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(host.Client, "/sleep?level=1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(host.Client, "/wake_up")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync("/is_sleeping")).StatusCode);
        Assert.Equal((1, 0, 0), await SleepStateAsync(host.Client));
        var (response, _) = await host.Client.PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("step")]
    public async Task ARequestArrivingAsleepWaitsForTheWakeUpAndIsThenServed(string latencyCalculator)
    {
        await using var host = await SimHost.StartAsync(o => Sleepy(o) with { LatencyCalculator = latencyCalculator });
        Assert.False(await IsSleepingAsync(host.Client));
        Assert.Equal((1, 0, 0), await SleepStateAsync(host.Client));

        await AssertOkEmptyAsync(await PostAsync(host.Client, "/sleep?level=1"));
        Assert.True(await IsSleepingAsync(host.Client));
        Assert.Equal((0, 1, 0), await SleepStateAsync(host.Client));

        // As vLLM's paused scheduler does, the rank keeps the request waiting (no answer, no error) until the wake-up.
        var pending = host.Client.PostJsonAsync("/v1/chat/completions", Chat);
        await Poll.UntilAsync(() => SchedulerAsync(host.Client), s => s == (0, 1), what: "the request waiting while asleep");
        Assert.False(pending.IsCompleted);

        await AssertOkEmptyAsync(await PostAsync(host.Client, "/wake_up"));
        var (response, body) = await pending;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(string.IsNullOrEmpty(body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));
        Assert.False(await IsSleepingAsync(host.Client));
        Assert.Equal((1, 0, 0), await SleepStateAsync(host.Client));
        await Poll.UntilAsync(() => SchedulerAsync(host.Client), s => s == (0, 0), what: "an idle rank");

        var (again, _) = await host.Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"still here","max_tokens":2}""");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task TheOpenApiDocumentListsTheEndpointsWithRunnableExamples()
    {
        await using var host = await SimHost.StartAsync(Sleepy);
        var paths = JsonDocument.Parse(await host.Client.GetStringAsync("/openapi/v1.json")).RootElement.GetProperty("paths");
        string Example(string path, string method, string name) =>
            paths.GetProperty(path).GetProperty(method).GetProperty("parameters").EnumerateArray()
                .Single(p => p.GetProperty("name").GetString() == name && p.GetProperty("in").GetString() == "query")
                .GetProperty("example").GetString()!;

        Assert.True(paths.GetProperty("/is_sleeping").TryGetProperty("get", out _));
        await AssertOkEmptyAsync(await PostAsync(host.Client, $"/sleep?level={Example("/sleep", "post", "level")}&mode={Example("/sleep", "post", "mode")}"));
        Assert.True(await IsSleepingAsync(host.Client));
        await AssertOkEmptyAsync(await PostAsync(host.Client, $"/wake_up?tags={Example("/wake_up", "post", "tags")}"));
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/wake_up"));
        Assert.False(await IsSleepingAsync(host.Client));

        await using var plain = await SimHost.StartAsync();
        var plainPaths = JsonDocument.Parse(await plain.Client.GetStringAsync("/openapi/v1.json")).RootElement.GetProperty("paths");
        Assert.False(plainPaths.TryGetProperty("/sleep", out _));
    }

    [Fact]
    public async Task EveryInferenceSurfaceWaitsWhileAsleepAndTokenizeDoesNot()
    {
        await using var host = await SimHost.StartAsync(Sleepy);
        (string Path, string Json)[] requests =
        [
            ("/v1/chat/completions", Chat),
            ("/v1/completions", """{"model":"test-model","prompt":"Once upon a time","max_tokens":4}"""),
            ("/v1/embeddings", """{"model":"test-model","input":"The food was delicious"}"""),
            ("/v1/messages", """{"model":"test-model","max_tokens":4,"messages":[{"role":"user","content":"Hello"}]}"""),
            ("/v1/responses", """{"model":"test-model","input":"Hello!","max_output_tokens":4}"""),
            ("/inference/v1/generate", """{"model":"test-model","token_ids":[9906,1917],"sampling_params":{"max_tokens":4}}"""),
        ];

        await AssertOkEmptyAsync(await PostAsync(host.Client, "/sleep"));
        var pending = requests.Select(r => host.Client.PostJsonAsync(r.Path, r.Json)).ToArray();
        await Poll.UntilAsync(() => SchedulerAsync(host.Client), s => s == (0, requests.Length), what: "every surface's request waiting");

        // What needs no engine step is answered while asleep, as in vLLM.
        var (tokenize, _) = await host.Client.PostJsonAsync("/tokenize", """{"model":"test-model","prompt":"Hello world"}""");
        Assert.Equal(HttpStatusCode.OK, tokenize.StatusCode);
        Assert.All(pending, p => Assert.False(p.IsCompleted));

        await AssertOkEmptyAsync(await PostAsync(host.Client, "/wake_up"));
        var answers = await Task.WhenAll(pending);
        Assert.All(answers.Zip(requests), a => Assert.True(a.First.Response.StatusCode == HttpStatusCode.OK, $"{a.Second.Path}: {(int)a.First.Response.StatusCode}"));
        await Poll.UntilAsync(() => SchedulerAsync(host.Client), s => s == (0, 0), what: "an idle rank");
    }

    [Fact]
    public async Task LevelsAndPartialWakeUpsFollowVllm()
    {
        await using var host = await SimHost.StartAsync(Sleepy);

        await AssertOkEmptyAsync(await PostAsync(host.Client, "/sleep?level=2"));
        Assert.Equal((0, 0, 1), await SleepStateAsync(host.Client));

        // Waking the weights only: the scheduler resumes and the metric says awake (vLLM records awake on every wake_up),
        // but the KV cache still sleeps, so is_sleeping stays true until it wakes too.
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/wake_up?tags=weights"));
        Assert.True(await IsSleepingAsync(host.Client));
        Assert.Equal((1, 0, 0), await SleepStateAsync(host.Client));
        var (served, _) = await host.Client.PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/wake_up?tags=kv_cache"));
        Assert.False(await IsSleepingAsync(host.Client));

        // Level 0 only pauses: sleeping, neither level's series set; the 'scheduling' tag resumes it.
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/sleep?level=0"));
        Assert.True(await IsSleepingAsync(host.Client));
        Assert.Equal((0, 0, 0), await SleepStateAsync(host.Client));
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/wake_up?tags=scheduling"));
        Assert.False(await IsSleepingAsync(host.Client));

        // Both tags in one call (repeated query parameter) wake everything.
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/sleep"));
        Assert.Equal((0, 1, 0), await SleepStateAsync(host.Client));
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/wake_up?tags=weights&tags=kv_cache"));
        Assert.False(await IsSleepingAsync(host.Client));
    }

    [Theory]
    [InlineData("/sleep?level=deep", "invalid literal for int() with base 10: 'deep'")]
    [InlineData("/sleep?mode=later", "Invalid pause mode: later")]
    public async Task BadSleepParametersAre400AndChangeNothing(string pathAndQuery, string message)
    {
        await using var host = await SimHost.StartAsync(Sleepy);
        var response = await PostAsync(host.Client, pathAndQuery);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(message, Http.AssertError(response, body, 400, "BadRequestError"));
        Assert.False(await IsSleepingAsync(host.Client));
    }

    [Fact]
    public async Task SleepDropsTheKvCacheWithAllBlocksClearedAndTheCacheFillsAgainAfterTheWakeUp()
    {
        using var sub = KvSubscriber.Bind();
        await using var host = await SimHost.StartAsync(o => Sleepy(o) with
        {
            EnableKvCache = true,
            BlockSize = 16,
            KvCacheSize = 64,
            EventBatchSize = 1,
            ZmqEndpoint = sub.Endpoint,
        });
        await sub.WarmUpAsync(host.Client);

        var prompt = KvSubscriber.Completion([.. Enumerable.Range(4000, 33)]);
        var (_, first) = await host.Client.PostJsonAsync("/v1/completions", prompt);
        Assert.Equal(0, first.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        var stored = sub.Receive();
        Assert.Equal("BlockStored", ((object?[])Assert.Single(stored.Events)!)[0]);

        await AssertOkEmptyAsync(await PostAsync(host.Client, "/sleep?level=1"));
        var cleared = sub.Receive();
        Assert.Equal(stored.Seq + 1, cleared.Seq);
        Assert.Equal(["AllBlocksCleared"], (object?[])Assert.Single(cleared.Events)!);

        await AssertOkEmptyAsync(await PostAsync(host.Client, "/wake_up"));
        var (_, again) = await host.Client.PostJsonAsync("/v1/completions", prompt);
        Assert.Equal(0, again.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        var restored = sub.Receive();
        Assert.Equal(cleared.Seq + 1, restored.Seq);
        Assert.Equal("BlockStored", ((object?[])Assert.Single(restored.Events)!)[0]);
    }

    [Fact]
    public async Task EveryDataParallelRankSleepsAndWakes()
    {
        await using var host = await SimHost.StartAsync(Sleepy, ranks: 2);
        var rank1 = host.ClientFor(1);

        await AssertOkEmptyAsync(await PostAsync(host.Client, "/sleep?level=2"));
        Assert.True(await IsSleepingAsync(rank1));
        Assert.Equal((0, 0, 1), await SleepStateAsync(host.Client, 0));
        Assert.Equal((0, 0, 1), await SleepStateAsync(rank1, 1));

        var pending0 = host.Client.PostJsonAsync("/v1/chat/completions", Chat);
        var pending1 = rank1.PostJsonAsync("/v1/chat/completions", Chat);
        await Poll.UntilAsync(() => SchedulerAsync(host.Client), s => s == (0, 1), what: "rank 0's request waiting");
        await Poll.UntilAsync(() => SchedulerAsync(rank1), s => s == (0, 1), what: "rank 1's request waiting");

        await AssertOkEmptyAsync(await PostAsync(rank1, "/wake_up"));
        Assert.Equal(HttpStatusCode.OK, (await pending0).Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await pending1).Response.StatusCode);
        Assert.False(await IsSleepingAsync(host.Client));
        Assert.Equal((1, 0, 0), await SleepStateAsync(host.Client, 0));
        Assert.Equal((1, 0, 0), await SleepStateAsync(rank1, 1));
    }

    /// <summary>vllm:request_success_total{finished_reason="abort"} over every rank's series.</summary>
    private static async Task<double> AbortsAsync(HttpClient client) =>
        (await PromText.ScrapeAsync(client)).All("vllm:request_success_total", ("finished_reason", "abort")).Sum(s => s.Value);

    private static async Task<double> GeneratedTokensAsync(HttpClient client) =>
        (await PromText.ScrapeAsync(client)).All("vllm:generation_tokens_total").Sum(s => s.Value);

    /// <summary>The finish reasons the chunks of an OpenAI stream carried (null ones left out).</summary>
    private static List<string?> FinishReasons(List<Sse.Event> events) =>
        [.. events.Where(e => !e.IsDone).SelectMany(e => e.Json.GetProperty("choices").EnumerateArray())
            .Select(c => c.GetProperty("finish_reason")).Where(r => r.ValueKind == JsonValueKind.String).Select(r => r.GetString())];

    [Theory]
    [InlineData("")]
    [InlineData("step")]
    public async Task TheDefaultModeAbortsTheRunningAndQueuedRequestsWhichAreAnsweredWithFinishReasonAbort(string latencyCalculator)
    {
        await using var host = await SimHost.StartAsync(o => Sleepy(o) with
        {
            MaxNumSeqs = 2,
            InterTokenLatency = TimeSpan.FromMilliseconds(500),
            LatencyCalculator = latencyCalculator,
            StepProfile = StepProfile.Default with { Overhead = TimeSpan.FromMilliseconds(500) }, // the engine clock's steps: as slow
        });
        var client = host.Client;
        Assert.Equal(0, await AbortsAsync(client));

        // Two requests run (a chat stream and a non-streamed completion, ten tokens each, half a second apart), a third waits for a slot.
        using var stream = await client.PostStreamAsync("/v1/chat/completions",
            """{"model":"test-model","messages":[{"role":"user","content":"count to ten"}],"max_tokens":10,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}""");
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var running = client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"count to ten","max_tokens":10,"ignore_eos":true}""");
        await Poll.UntilAsync(() => SchedulerAsync(client), s => s.Running == 2, what: "two requests running");
        var queued = client.PostJsonAsync("/v1/chat/completions", Chat);
        await Poll.UntilAsync(() => SchedulerAsync(client), s => s == (2, 1), what: "a third request queued");
        await Poll.UntilAsync(() => GeneratedTokensAsync(client), n => n >= 1, what: "the stream's first token");

        // vLLM's default pause mode 'abort': every request the engine holds ends at once, finish_reason abort, HTTP 200.
        await AssertOkEmptyAsync(await PostAsync(client, "/sleep?level=1"));
        Assert.True(await IsSleepingAsync(client));

        var events = await Sse.ReadAllAsync(stream);
        Assert.True(events[^1].IsDone);
        Assert.Equal(["abort"], FinishReasons(events));
        var chunks = events.Where(e => !e.IsDone).Select(e => e.Json).ToList();
        var last = chunks.Single(c => c.GetProperty("choices").GetArrayLength() == 1 && c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind == JsonValueKind.String);
        Assert.Equal("", last.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
        var tokens = chunks.Count(c => c.GetProperty("choices").GetArrayLength() == 1 && c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) && t.GetString() != "");
        Assert.InRange(tokens, 1, 9);
        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(tokens, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        var (runningResponse, runningBody) = await running;
        Assert.Equal(HttpStatusCode.OK, runningResponse.StatusCode);
        Assert.Equal("abort", runningBody.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.InRange(runningBody.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 0, 9);

        var (queuedResponse, queuedBody) = await queued;
        Assert.Equal(HttpStatusCode.OK, queuedResponse.StatusCode);
        var choice = queuedBody.GetProperty("choices")[0];
        Assert.Equal("abort", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(0, queuedBody.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        Assert.Equal((0, 0), await SchedulerAsync(client));
        Assert.Equal(3, await AbortsAsync(client));
        Assert.Equal((0, 1, 0), await SleepStateAsync(client));

        // After the wake-up requests are served as before.
        await AssertOkEmptyAsync(await PostAsync(client, "/wake_up"));
        var (served, body) = await client.PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.NotEqual("abort", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(3, await AbortsAsync(client));
        await Poll.UntilAsync(() => SchedulerAsync(client), s => s == (0, 0), what: "an idle rank");
    }

    [Fact]
    public async Task AnAbortingSleepAlsoEndsTheRequestsThatWaitedFromAnEarlierSleep()
    {
        await using var host = await SimHost.StartAsync(Sleepy);
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/sleep?mode=wait"));
        var parked = host.Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"hello","max_tokens":4}""");
        await Poll.UntilAsync(() => SchedulerAsync(host.Client), s => s == (0, 1), what: "the request waiting while asleep");

        // vLLM's abort finishes every request its scheduler holds, the ones queued while paused too.
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/sleep?mode=abort"));
        var (response, body) = await parked;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("abort", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal("", body.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal((0, 0), await SchedulerAsync(host.Client));
        Assert.Equal(1, await AbortsAsync(host.Client));
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/wake_up"));
    }

    [Theory]
    [InlineData("/v1/messages", """{"model":"test-model","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"one two three four five six seven eight nine ten eleven twelve thirteen fourteen"}]}""")]
    [InlineData("/v1/responses", """{"model":"test-model","input":"count","max_output_tokens":10,"ignore_eos":true,"stream":true}""")]
    [InlineData("/inference/v1/generate", """{"model":"test-model","token_ids":[9906,1917],"sampling_params":{"max_tokens":10,"ignore_eos":true},"stream":true}""")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":"count","max_tokens":10,"ignore_eos":true,"stream":true}""")]
    public async Task EverySurfaceEndsAnAbortedStreamInItsOwnWireFormat(string path, string json)
    {
        // Ten tokens each: ignore_eos, or (Messages has no ignore_eos) echo mode over a longer prompt.
        await using var host = await SimHost.StartAsync(o => Sleepy(o) with
        {
            InterTokenLatency = TimeSpan.FromMilliseconds(500),
            Mode = path == "/v1/messages" ? SimulationMode.Echo : SimulationMode.Random,
        });
        using var stream = await host.Client.PostStreamAsync(path, json);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        await Poll.UntilAsync(() => GeneratedTokensAsync(host.Client), n => n >= 1, what: "the stream's first token");
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/sleep"));
        var events = await Sse.ReadAllAsync(stream);

        switch (path)
        {
            case "/v1/messages":
                // 'abort' is not in vLLM's stop_reason_map: message_delta's stop_reason is null; then message_stop and [DONE].
                Assert.True(events[^1].IsDone);
                Assert.Equal("message_stop", events[^2].Name);
                var delta = events.Single(e => e.Name == "message_delta").Json;
                Assert.Equal(JsonValueKind.Null, delta.GetProperty("delta").GetProperty("stop_reason").ValueKind);
                Assert.Equal(events.Count(e => e.Name == "content_block_delta"), delta.GetProperty("usage").GetProperty("output_tokens").GetInt32());
                Assert.InRange(events.Count(e => e.Name == "content_block_delta"), 1, 9);
                break;
            case "/v1/responses":
                // vLLM's serving_responses: an aborted output's response is status cancelled.
                var completed = events[^1];
                Assert.Equal("response.completed", completed.Name);
                Assert.Equal("cancelled", completed.Json.GetProperty("response").GetProperty("status").GetString());
                Assert.InRange(events.Count(e => e.Name == "response.output_text.delta"), 1, 9);
                break;
            default:
                Assert.True(events[^1].IsDone);
                Assert.DoesNotContain(FinishReasons(events), r => r != "abort");
                break;
        }

        if (path == "/v1/completions")
        {
            Assert.Equal(["abort"], FinishReasons(events));
        }

        Assert.Equal((0, 0), await SchedulerAsync(host.Client));
        Assert.Equal(1, await AbortsAsync(host.Client));
    }

    [Theory]
    [InlineData("wait")]
    [InlineData("keep")]
    public async Task ARunningStreamFinishesBeforeTheRankFallsAsleepAndFreesItsSlot(string mode)
    {
        await using var host = await SimHost.StartAsync(o => Sleepy(o) with { InterTokenLatency = TimeSpan.FromMilliseconds(500) });
        const string stream = """{"model":"test-model","prompt":"one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen","max_tokens":10,"stream":true}""";
        using var response = await host.Client.PostStreamAsync("/v1/completions", stream);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Poll.UntilAsync(() => SchedulerAsync(host.Client), s => s.Running == 1, what: "the stream running");

        var sleep = PostAsync(host.Client, $"/sleep?level=1&mode={mode}");
        await Poll.UntilAsync(() => IsSleepingAsync(host.Client), s => s, what: "the rank paused");
        var events = await Sse.ReadAllAsync(response);

        // vLLM's pause mode 'wait': the stream is not cut; it ends as it would have, then the rank sleeps.
        Assert.True(events[^1].IsDone);
        var reasons = events.Where(e => !e.IsDone).Select(e => e.Json.GetProperty("choices")[0].GetProperty("finish_reason"))
            .Where(r => r.ValueKind == JsonValueKind.String).Select(r => r.GetString()).ToList();
        Assert.Equal(["length"], reasons);
        await AssertOkEmptyAsync(await sleep);
        Assert.Equal((0, 0), await SchedulerAsync(host.Client));
        Assert.Equal((0, 1, 0), await SleepStateAsync(host.Client));
        Assert.Equal(0, await AbortsAsync(host.Client));
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/wake_up"));
    }

    [Fact]
    public async Task AWakeUpWhileTheSleepWaitsForARunningStreamCancelsTheSleep()
    {
        using var sub = KvSubscriber.Bind();
        await using var host = await SimHost.StartAsync(o => Sleepy(o) with
        {
            InterTokenLatency = TimeSpan.FromMilliseconds(500),
            EnableKvCache = true,
            BlockSize = 16,
            KvCacheSize = 64,
            EventBatchSize = 1,
            ZmqEndpoint = sub.Endpoint,
        });
        await sub.WarmUpAsync(host.Client);

        using var response = await host.Client.PostStreamAsync("/v1/completions", """{"model":"test-model","prompt":"a b c d e f g h i j k l m n o p q r s t","max_tokens":8,"stream":true}""");
        await Poll.UntilAsync(() => SchedulerAsync(host.Client), s => s.Running == 1, what: "the stream running");
        var stored = sub.Receive(); // the stream's prompt block

        var sleep = PostAsync(host.Client, "/sleep?level=1&mode=wait");
        await Poll.UntilAsync(() => IsSleepingAsync(host.Client), s => s, what: "the rank paused");
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/wake_up"));
        Assert.True((await Sse.ReadAllAsync(response))[^1].IsDone);
        await AssertOkEmptyAsync(await sleep);

        Assert.False(await IsSleepingAsync(host.Client));
        Assert.Equal((1, 0, 0), await SleepStateAsync(host.Client));
        Assert.Null(sub.TryReceive(TimeSpan.FromSeconds(1.5))); // the cache was not dropped
        Assert.Equal("BlockStored", ((object?[])stored.Events[0]!)[0]);
    }

    [Fact]
    public async Task AClientThatGivesUpWhileAsleepLeavesNothingBehind()
    {
        await using var host = await SimHost.StartAsync(Sleepy);
        await AssertOkEmptyAsync(await PostAsync(host.Client, "/sleep"));

        using var cancel = new CancellationTokenSource();
        var pending = host.Client.SendAsync(Http.Post("/v1/chat/completions", Chat), cancel.Token);
        await Poll.UntilAsync(() => SchedulerAsync(host.Client), s => s == (0, 1), what: "the request waiting while asleep");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        await Poll.UntilAsync(() => SchedulerAsync(host.Client), s => s == (0, 0), what: "the abandoned request gone");

        await AssertOkEmptyAsync(await PostAsync(host.Client, "/wake_up"));
        var (served, _) = await host.Client.PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal((0, 0), await SchedulerAsync(host.Client));
    }
}
