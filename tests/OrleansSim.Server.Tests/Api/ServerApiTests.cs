using System.Text.Json;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

public sealed class ServerApiTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task ModelsListsOneVllmCardPerServedName()
    {
        var body = JsonDocument.Parse(await Client.GetStringAsync("/v1/models")).RootElement;
        Assert.Equal("list", body.GetProperty("object").GetString());
        var cards = body.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["test-model", "alias-model"], cards.Select(c => c.GetProperty("id").GetString()));
        foreach (var card in cards)
        {
            Assert.Equal("model", card.GetProperty("object").GetString());
            Assert.Equal("vllm", card.GetProperty("owned_by").GetString());
            Assert.Equal("test-model", card.GetProperty("root").GetString());
            Assert.Equal(JsonValueKind.Null, card.GetProperty("parent").ValueKind);
            Assert.Equal(1024, card.GetProperty("max_model_len").GetInt32());
            Assert.Equal("model_permission", card.GetProperty("permission")[0].GetProperty("object").GetString());
            Assert.True(card.GetProperty("created").GetInt64() > 0);
        }
    }

    [Fact]
    public async Task TokenizeAndDetokenizeRoundTrip()
    {
        var (response, body) = await Client.PostJsonAsync("/tokenize", """{"model":"test-model","prompt":"Hello world"}""");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(2, body.GetProperty("count").GetInt32());
        Assert.Equal(1024, body.GetProperty("max_model_len").GetInt32());
        var tokens = body.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToList();
        Assert.Equal(SimHost.SharedTokenizer.Encode("Hello world"), tokens);

        var (_, detok) = await Client.PostJsonAsync("/detokenize", $$"""{"model":"test-model","tokens":[{{string.Join(',', tokens)}}]}""");
        Assert.Equal("Hello world", detok.GetProperty("prompt").GetString());
    }

    [Fact]
    public async Task TokenizeMessagesCountsTheRenderedChat()
    {
        var (_, body) = await Client.PostJsonAsync("/tokenize", """{"model":"test-model","messages":[{"role":"user","content":"Hi"}]}""");
        var expected = SimHost.SharedTokenizer.CountTokens(SimHost.SharedTokenizer.RenderChat([new("user", "Hi")]));
        Assert.Equal(expected, body.GetProperty("count").GetInt32());
    }

    [Theory]
    [InlineData("/tokenize", """{"model":"test-model"}""", 400)]
    [InlineData("/tokenize", """{"model":"test-model","prompt":"a","messages":[{"role":"user","content":"b"}]}""", 400)]
    [InlineData("/tokenize", """{"model":"other","prompt":"a"}""", 404)]
    [InlineData("/detokenize", """{"model":"test-model","tokens":"abc"}""", 400)]
    [InlineData("/detokenize", """{"model":"test-model"}""", 400)]
    public async Task TokenizeErrors(string path, string json, int status)
    {
        var (response, body) = await Client.PostJsonAsync(path, json);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.True(body.GetProperty("error").TryGetProperty("message", out _));
    }

    [Fact]
    public async Task HealthReadyVersionPing()
    {
        Assert.Equal(200, (int)(await Client.GetAsync("/health")).StatusCode);
        Assert.Equal(200, (int)(await Client.GetAsync("/ready")).StatusCode);
        Assert.Equal(200, (int)(await Client.GetAsync("/ping")).StatusCode);
        // vLLM's body exactly: the pinned vLLM release, nothing else.
        Assert.Equal("""{"version":"0.33.0"}""", await Client.GetStringAsync("/version"));
    }

    [Fact]
    public async Task OpenApiDocumentListsTheEndpoints()
    {
        var doc = JsonDocument.Parse(await Client.GetStringAsync("/openapi/v1.json")).RootElement;
        var paths = doc.GetProperty("paths");
        foreach (var path in new[] { "/v1/chat/completions", "/v1/completions", "/v1/models", "/tokenize", "/detokenize", "/metrics", "/v1/load_lora_adapter", "/v1/messages", "/v1/messages/count_tokens", "/v1/responses" })
        {
            Assert.True(paths.TryGetProperty(path, out _), path);
        }

        // Request bodies are documented with runnable examples (Swagger UI "Try it out"); chat has named ones for tools and response_format.
        foreach (var path in new[] { "/v1/completions", "/v1/embeddings", "/v1/messages", "/v1/messages/count_tokens", "/v1/responses" })
        {
            var example = paths.GetProperty(path).GetProperty("post").GetProperty("requestBody")
                .GetProperty("content").GetProperty("application/json").GetProperty("example");
            var (response, _) = await Client.PostJsonAsync(path, example.GetRawText());
            Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK, $"{path} example: {(int)response.StatusCode}");
        }

        var chatExamples = paths.GetProperty("/v1/chat/completions").GetProperty("post").GetProperty("requestBody")
            .GetProperty("content").GetProperty("application/json").GetProperty("examples");
        Assert.Equal(["default", "tools", "json_schema", "json_object"], chatExamples.EnumerateObject().Select(e => e.Name));
        foreach (var named in chatExamples.EnumerateObject())
        {
            var (chat, body) = await Client.PostJsonAsync("/v1/chat/completions", named.Value.GetProperty("value").GetRawText());
            Assert.Equal(200, (int)chat.StatusCode);
            var message = body.GetProperty("choices")[0].GetProperty("message");
            if (named.Name == "tools")
            {
                Assert.Equal("get_weather", message.GetProperty("tool_calls")[0].GetProperty("function").GetProperty("name").GetString());
            }
            else if (named.Name.StartsWith("json", StringComparison.Ordinal))
            {
                Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(message.GetProperty("content").GetString()!).RootElement.ValueKind);
            }
        }

        using var swagger = await Client.GetAsync("/swagger/index.html");
        Assert.Equal(200, (int)swagger.StatusCode);
    }
}

public sealed class PodHeaderTests
{
    [Fact]
    public async Task PodIdentityHeadersAppearOnlyWhenConfigured()
    {
        await using (var withPod = await SimHost.StartAsync(o => o with { EmitPodHeaders = true, PodName = "pod-a", PodNamespace = "ns-1" }))
        {
            using var response = await withPod.Client.SendAsync(Http.Post("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"hi"}]}"""));
            Assert.Equal("pod-a", response.Headers.GetValues("x-inference-pod").Single());
            Assert.Equal("ns-1", response.Headers.GetValues("x-inference-namespace").Single());
            Assert.Equal(withPod.Options.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("x-inference-port").Single());
        }

        await using var without = await SimHost.StartAsync();
        using var plain = await without.Client.SendAsync(Http.Post("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.False(plain.Headers.Contains("x-inference-pod"));
    }
}
