using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Admin;

/// <summary>llm-d-inference-sim's <c>GET/POST /admin/config</c> and OrleansSim's <c>--admin-token</c>.</summary>
public sealed class AdminConfigTests
{
    private const string Chat = """{"model":"test-model","messages":[{"role":"user","content":"hi"}],"max_tokens":2}""";

    private static async Task<JsonElement> GetConfigAsync(HttpClient client)
    {
        var response = await client.GetAsync("/admin/config");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task UpdateRoundTripsAndReachesEveryRankOfThePod()
    {
        await using var host = await SimHost.StartAsync(ranks: 2);
        var config = await GetConfigAsync(host.ClientFor(0));
        Assert.Equal("0s", config.GetProperty("time-to-first-token").GetString());
        Assert.Equal(host.Options.Port, config.GetProperty("port").GetInt32());

        // Updated through rank 1's port ...
        var (response, body) = await host.ClientFor(1).PostJsonAsync("/admin/config",
            """{"time-to-first-token":"300ms","inter-token-latency":20,"failure-injection-rate":100,"failure-types":["server_error"],"latency-calculator":"constant"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("300ms", body.GetProperty("time-to-first-token").GetString());
        Assert.Equal("20ms", body.GetProperty("inter-token-latency").GetString());

        // ... visible and in force on rank 0 too.
        config = await GetConfigAsync(host.ClientFor(0));
        Assert.Equal("300ms", config.GetProperty("time-to-first-token").GetString());
        Assert.Equal(100, config.GetProperty("failure-injection-rate").GetDouble());
        Assert.Equal(["server_error"], config.GetProperty("failure-types").EnumerateArray().Select(e => e.GetString()));
        for (var rank = 0; rank < 2; rank++)
        {
            var (failed, error) = await host.ClientFor(rank).PostJsonAsync("/v1/chat/completions", Chat);
            Assert.Equal("The server is overloaded or not ready yet.", Http.AssertError(failed, error, 503, "ServiceUnavailableError"));
        }

        // Failure injection off again: requests are served with the new time to first token (a lower bound only).
        (response, _) = await host.ClientFor(0).PostJsonAsync("/admin/config", """{"failure-injection-rate":0}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var watch = Stopwatch.StartNew();
        var (served, _) = await host.ClientFor(1).PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(290), $"answered after {watch.Elapsed}");
    }

    [Theory]
    [InlineData("""{"time-to-first-token":"1s","port":9000}""", "field 'port' is not admin-configurable", "port")]
    [InlineData("""{"inter-token-latency":"1s","image-emission-rate":5}""", "field 'image-emission-rate' is not admin-configurable", "image-emission-rate")]
    [InlineData("""{"time-to-first-token":"1s","failure-injection-rate":150}""", "field 'failure-injection-rate' must be between 0 and 100 (got 150)", "failure-injection-rate")]
    [InlineData("""{"failure-types":["rate_limit","nope"]}""", "field 'failure-types' must be among rate_limit, invalid_api_key, context_length, server_error, invalid_request, model_not_found (got 'nope')", "failure-types")]
    [InlineData("""{"time-to-first-token":"100ms","time-to-first-token-std-dev":"50ms"}""", "field 'time-to-first-token-std-dev' cannot be more than 30% of 'time-to-first-token' (got 50ms, limit 30ms)", "time-to-first-token-std-dev")]
    [InlineData("""{"time-to-first-token":true}""", "field 'time-to-first-token' must be a duration such as 200ms, 1.5s or 1m30s, or a number of milliseconds", "time-to-first-token")]
    [InlineData("""{"latency-calculator":"magic"}""", "field 'latency-calculator' must be 'constant', 'per-token' or 'step' (got 'magic')", "latency-calculator")]
    [InlineData("""{"latency-calculator":"step"}""", "field 'latency-calculator' cannot switch to or from 'step' while running (restart with the flag)", "latency-calculator")]
    public async Task RejectedUpdateIsA400AndChangesNothing(string update, string message, string param)
    {
        await using var host = await SimHost.StartAsync();
        var before = (await GetConfigAsync(host.Client)).GetRawText();
        var (response, body) = await host.Client.PostJsonAsync("/admin/config", update);
        Assert.Equal(message, Http.AssertError(response, body, 400, "BadRequestError"));
        Assert.Equal(param, body.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(before, (await GetConfigAsync(host.Client)).GetRawText());
    }

    [Fact]
    public async Task FakeMetricsCanBePinnedAndDroppedAtRuntime()
    {
        await using var host = await SimHost.StartAsync();
        var (response, _) = await host.Client.PostJsonAsync("/admin/config", """{"fake-metrics":{"running-requests":7,"waiting-requests":3}}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var scrape = await PromText.ScrapeAsync(host.Client);
        Assert.Equal((7, 3), (scrape.Value("vllm:num_requests_running"), scrape.Value("vllm:num_requests_waiting")));

        (response, _) = await host.Client.PostJsonAsync("/admin/config", """{"fake-metrics":null}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        scrape = await PromText.ScrapeAsync(host.Client);
        Assert.Equal((0, 0), (scrape.Value("vllm:num_requests_running"), scrape.Value("vllm:num_requests_waiting")));
        Assert.Equal(JsonValueKind.Null, (await GetConfigAsync(host.Client)).GetProperty("fake-metrics").ValueKind);
    }

    [Fact]
    public async Task BodyThatIsNotAnObjectIsA400()
    {
        await using var host = await SimHost.StartAsync();
        var (response, body) = await host.Client.PostJsonAsync("/admin/config", "[1,2]");
        Http.AssertError(response, body, 400, "BadRequestError");
        (response, body) = await host.Client.PostJsonAsync("/admin/config", "{not json");
        Http.AssertError(response, body, 400, "BadRequestError");
    }

    [Fact]
    public async Task AdminTokenGuardsAdminEndpointsOnly()
    {
        await using var host = await SimHost.StartAsync(o => o with { AdminToken = "s3cret" });

        var anonymous = await host.Client.GetAsync("/admin/config");
        var body = JsonDocument.Parse(await anonymous.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("Bearer", Http.AssertError(anonymous, body, 401, "AuthenticationError"), StringComparison.Ordinal);

        var wrong = new HttpRequestMessage(HttpMethod.Post, "/admin/config") { Content = new StringContent("""{"failure-injection-rate":100}""") };
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "guess");
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client.SendAsync(wrong)).StatusCode);

        var right = new HttpRequestMessage(HttpMethod.Get, "/admin/config");
        right.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret");
        var ok = await host.Client.SendAsync(right);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var config = await ok.Content.ReadAsStringAsync();
        Assert.DoesNotContain("s3cret", config, StringComparison.Ordinal);
        Assert.Equal(0, JsonDocument.Parse(config).RootElement.GetProperty("failure-injection-rate").GetDouble()); // the unauthorized update changed nothing

        // Inference and metrics stay open.
        var (served, _) = await host.Client.PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/metrics")).StatusCode);
    }
}
