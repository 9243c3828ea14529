using System.Text.Json;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>vLLM's <c>--enable-request-id-headers</c> and <c>--enable-force-include-usage</c>, which real manifests pass.</summary>
public sealed class DropInFlagsTests : IAsyncLifetime
{
    private SimHost _host = null!;

    private HttpClient Client => _host.Client;

    public async ValueTask InitializeAsync() =>
        _host = await SimHost.StartAsync(o => o with { EnableRequestIdHeaders = true, EnableForceIncludeUsage = true });

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task RequestIdHeaderIsEchoedAndNamesTheResponse()
    {
        var request = Http.Post("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"hi"}]}""");
        request.Headers.Add("X-Request-Id", "my-req-123");
        using var response = await Client.SendAsync(request);
        Assert.Equal("my-req-123", response.Headers.GetValues("x-request-id").Single());
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("chatcmpl-my-req-123", body.GetProperty("id").GetString());
    }

    [Fact]
    public async Task WithoutARequestIdTheGeneratedOneIsSentAndUsed()
    {
        using var response = await Client.SendAsync(Http.Post("/v1/completions", """{"model":"test-model","prompt":"hi","max_tokens":2}"""));
        var id = response.Headers.GetValues("x-request-id").Single();
        Assert.True(id.Length >= 30, id);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("cmpl-" + id, body.GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("""{"model":"test-model","stream":true,"messages":[{"role":"user","content":"one two three"}]}""", "/v1/chat/completions")]
    [InlineData("""{"model":"test-model","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"one two three"}]}""", "/v1/chat/completions")]
    [InlineData("""{"model":"test-model","stream":true,"prompt":"one two three"}""", "/v1/completions")]
    public async Task EveryStreamEndsWithTheUsageChunk(string json, string path)
    {
        using var response = await Client.PostStreamAsync(path, json);
        var events = await Sse.ReadAllAsync(response);
        Assert.True(events[^1].IsDone);
        var chunks = events.Where(e => !e.IsDone).Select(e => e.Json).ToList();
        var usage = chunks[^1];
        Assert.Empty(usage.GetProperty("choices").EnumerateArray());
        var expected = SimHost.SharedTokenizer.CountTokens("one two three");
        Assert.Equal(expected, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Single(chunks, c => c.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object);
    }
}
