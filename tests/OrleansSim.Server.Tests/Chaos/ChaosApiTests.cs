using System.Net;
using System.Text.Json;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Chaos;

/// <summary>The chaos API on a single pod with two ranks: every kind, its metric, expiry and bad requests.</summary>
public sealed class ChaosApiTests
{
    private const string Chat = """{"model":"test-model","messages":[{"role":"user","content":"hello chaos"}],"max_tokens":4}""";
    private const string Stream = """{"model":"test-model","prompt":"one two three four five six seven eight","max_tokens":8,"ignore_eos":true,"stream":true}""";

    private static async Task<JsonElement> AddAsync(HttpClient client, string json)
    {
        var (response, body) = await client.PostJsonAsync("/admin/chaos", json);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {body}");
        Assert.StartsWith("chaos-", body.GetProperty("id").GetString(), StringComparison.Ordinal);
        return body;
    }

    private static async Task<List<JsonElement>> ListAsync(HttpClient client)
    {
        var body = JsonDocument.Parse(await client.GetStringAsync("/admin/chaos")).RootElement;
        return [.. body.GetProperty("faults").EnumerateArray()];
    }

    private static async Task<double?> ChaosMetricAsync(HttpClient client, string id)
    {
        var scrape = await PromText.ScrapeAsync(client);
        return scrape.Samples.FirstOrDefault(s => s.Name == "orleanssim:chaos_active" && s.Labels["fault_id"] == id)?.Value;
    }

    [Fact]
    public async Task ErrorOnOneRankShowsInItsMetricsUntilDeleted()
    {
        await using var host = await SimHost.StartAsync(ranks: 2);
        var fault = await AddAsync(host.Client, """{"kind":"error","target":{"rank":1},"rate":100,"types":["server_error"]}""");
        var id = fault.GetProperty("id").GetString()!;
        Assert.Equal("error", fault.GetProperty("kind").GetString());
        Assert.Equal("test-pod", fault.GetProperty("target").GetProperty("pod").GetString());
        Assert.Equal(1, fault.GetProperty("target").GetProperty("rank").GetInt32());
        Assert.Equal(100, fault.GetProperty("parameters").GetProperty("rate").GetDouble());
        Assert.Equal(JsonValueKind.Null, fault.GetProperty("expires_at").ValueKind);

        var (failed, error) = await host.ClientFor(1).PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal("The server is overloaded or not ready yet.", Http.AssertError(failed, error, 503, "ServiceUnavailableError"));
        var (served, _) = await host.ClientFor(0).PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);

        // Listed from either port; the metric is on the target rank only.
        Assert.Equal(id, Assert.Single(await ListAsync(host.ClientFor(0))).GetProperty("id").GetString());
        Assert.Equal(1, await ChaosMetricAsync(host.ClientFor(1), id));
        Assert.Null(await ChaosMetricAsync(host.ClientFor(0), id));
        var line = (await PromText.ScrapeAsync(host.ClientFor(1))).Samples.Single(s => s.Name == "orleanssim:chaos_active");
        Assert.Equal("error", line.Labels["kind"]);

        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.DeleteAsync($"/admin/chaos/{id}")).StatusCode);
        Assert.Equal(0, await ChaosMetricAsync(host.ClientFor(1), id));
        Assert.Empty(await ListAsync(host.Client));
        (served, _) = await host.ClientFor(1).PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);

        var missing = await host.Client.DeleteAsync($"/admin/chaos/{id}");
        var body = JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement;
        Http.AssertError(missing, body, 404, "NotFoundError");
    }

    [Fact]
    public async Task QueueFullUnreadyAndExpiry()
    {
        await using var host = await SimHost.StartAsync(ranks: 2);
        await AddAsync(host.Client, """{"kind":"queue_full","target":{"pod":"*","rank":0}}""");
        var (full, error) = await host.ClientFor(0).PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"x"}""");
        Assert.Equal("Failed to enqueue request, waiting requests queue is full.", Http.AssertError(full, error, 429, "RateLimitError"));

        var unready = await AddAsync(host.Client, """{"kind":"unready","target":{"rank":1},"duration":"5s"}""");
        Assert.NotEqual(JsonValueKind.Null, unready.GetProperty("expires_at").ValueKind);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await host.ClientFor(1).GetAsync("/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.ClientFor(1).GetAsync("/health")).StatusCode);
        Assert.Equal(1, await ChaosMetricAsync(host.ClientFor(1), unready.GetProperty("id").GetString()!));
        Assert.Equal(HttpStatusCode.OK, (await host.ClientFor(0).GetAsync("/ready")).StatusCode);

        // The duration passes: /ready recovers, the fault leaves the list and its series drops to 0.
        var id = unready.GetProperty("id").GetString()!;
        await Poll.UntilAsync(async () => (await host.ClientFor(1).GetAsync("/ready")).StatusCode, s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "/ready after expiry");
        await Poll.UntilAsync(async () => (await ListAsync(host.Client)).Count, n => n == 1, TimeSpan.FromSeconds(30), "expired fault gone from the list");
        Assert.Equal(0, await ChaosMetricAsync(host.ClientFor(1), id));

        await AddAsync(host.Client, """{"kind":"unready","target":{"rank":0},"health":true}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await host.ClientFor(0).GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.DeleteAsync("/admin/chaos")).StatusCode);
        Assert.Empty(await ListAsync(host.Client));
        Assert.Equal(HttpStatusCode.OK, (await host.ClientFor(0).GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task StallHoldsRequestsUntilTheFaultClears()
    {
        await using var host = await SimHost.StartAsync();
        var id = (await AddAsync(host.Client, """{"kind":"stall"}""")).GetProperty("id").GetString()!;
        var held = host.Client.PostJsonAsync("/v1/chat/completions", Chat);
        await Task.Delay(500);
        Assert.False(held.IsCompleted, "a stalled request was answered");

        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.DeleteAsync($"/admin/chaos/{id}")).StatusCode);
        var (response, body) = await held.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("hello chaos", body.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DropCutsStreamsAfterTheGivenTokensAndFreesTheSlot()
    {
        // 100 ms between tokens: the three tokens reach the client well before the connection is cut.
        await using var host = await SimHost.StartAsync(o => o with { MaxNumSeqs = 1, InterTokenLatency = TimeSpan.FromMilliseconds(100) });
        await AddAsync(host.Client, """{"kind":"drop","after_tokens":3}""");
        using var response = await host.Client.PostStreamAsync("/v1/completions", Stream);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = "";
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                text += line + "\n";
            }

            // A clean end of the body would mean the stream was not cut.
            throw new InvalidOperationException("stream ended normally");
        });
        Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
        Assert.DoesNotContain("stream ended normally", text, StringComparison.Ordinal);
        // At most the three tokens: the client may lose the last bytes that arrive together with the reset.
        Assert.InRange(text.Split('\n').Count(l => l.StartsWith("data: {", StringComparison.Ordinal)), 1, 3);

        // The only slot was given back: after clearing the fault a request is served.
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.DeleteAsync("/admin/chaos")).StatusCode);
        var (served, _) = await host.Client.PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task LatencyStretchesTimeToFirstToken()
    {
        await using var host = await SimHost.StartAsync(o => o with { TimeToFirstToken = TimeSpan.FromMilliseconds(100) });
        await AddAsync(host.Client, """{"kind":"latency","ttft_ms":200,"factor":2}""");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (response, _) = await host.Client.PostJsonAsync("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"x"}],"max_tokens":1}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // (100 + 200) × 2 = 600 ms at least (no upper bound: the machine may be slow).
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(590), $"answered after {watch.Elapsed}");
    }

    [Fact]
    public async Task KvFlushClearsTheCacheOnce()
    {
        await using var host = await SimHost.StartAsync(o => o with { EnableKvCache = true, ZmqEndpoint = "", BlockSize = 16, KvCacheSize = 256 });
        var prompt = string.Join(' ', Enumerable.Repeat("the quick brown fox jumps", 30));
        var json = JsonSerializer.Serialize(new { model = "test-model", prompt, max_tokens = 1 });
        async Task<int> CachedAsync()
        {
            var (response, body) = await host.Client.PostJsonAsync("/v1/completions", json);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return body.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32();
        }

        Assert.Equal(0, await CachedAsync());
        Assert.True(await CachedAsync() > 0);
        await AddAsync(host.Client, """{"kind":"kv_flush"}""");
        Assert.Equal(0, await CachedAsync());
        Assert.True(await CachedAsync() > 0); // once: the cache fills again while the fault is listed
    }

    [Theory]
    [InlineData("""{"kind":"nope"}""", "kind")]
    [InlineData("""{"kind":"error","rate":"half"}""", "rate")]
    [InlineData("""{"kind":"stall","target":{"pod":"no-such-pod"}}""", "target.pod")]
    [InlineData("""{"kind":"stall","wobble":1}""", "wobble")]
    [InlineData("""[1]""", null)]
    public async Task BadFaultsAre400NamingTheField(string json, string? param)
    {
        await using var host = await SimHost.StartAsync();
        var (response, body) = await host.Client.PostJsonAsync("/admin/chaos", json);
        Http.AssertError(response, body, 400, "BadRequestError");
        var actual = body.GetProperty("error").GetProperty("param");
        Assert.Equal(param, actual.ValueKind == JsonValueKind.Null ? null : actual.GetString());
        Assert.Empty(await ListAsync(host.Client));
    }

    [Fact]
    public async Task AdminTokenGuardsTheChaosApi()
    {
        await using var host = await SimHost.StartAsync(o => o with { AdminToken = "t0k" });
        var (response, _) = await host.Client.PostJsonAsync("/admin/chaos", """{"kind":"stall"}""");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client.GetAsync("/admin/chaos")).StatusCode);
        var request = new HttpRequestMessage(HttpMethod.Get, "/admin/chaos");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "t0k");
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(request)).StatusCode);
    }
}
