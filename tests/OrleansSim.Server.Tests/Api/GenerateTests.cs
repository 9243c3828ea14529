using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>POST /inference/v1/generate (vLLM's tokens-in/tokens-out API) over real HTTP against the echo host.</summary>
public sealed class GenerateTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private HttpClient Client => fixture.Host.Client;

    private static readonly int[] Prompt = [.. SimHost.SharedTokenizer.Encode("one two three four")];

    private static string Ids(IEnumerable<int> ids) => "[" + string.Join(',', ids) + "]";

    [Fact]
    public async Task EchoReturnsThePromptTokenIdsCutToMaxTokens()
    {
        var (response, body) = await Client.PostJsonAsync("/inference/v1/generate", $$$"""{"token_ids":{{{Ids(Prompt)}}},"sampling_params":{"max_tokens":3}}""");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(["request_id", "model", "created", "choices", "usage", "prompt_logprobs", "kv_transfer_params", "ec_transfer_params"],
            body.EnumerateObject().Select(p => p.Name));
        Assert.StartsWith("generate-tokens-", body.GetProperty("request_id").GetString());
        Assert.Equal("test-model", body.GetProperty("model").GetString());
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal(["index", "logprobs", "finish_reason", "token_ids", "routed_experts", "sampling_mask"], choice.EnumerateObject().Select(p => p.Name));
        Assert.Equal(Prompt.Take(3), choice.GetProperty("token_ids").EnumerateArray().Select(t => t.GetInt32()));
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        var usage = body.GetProperty("usage");
        Assert.Equal(Prompt.Length, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(3, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(Prompt.Length + 3, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task WithoutMaxTokensTheWholeEchoComesBackWithStop()
    {
        var (_, body) = await Client.PostJsonAsync("/inference/v1/generate", $$$"""{"token_ids":{{{Ids(Prompt)}}},"sampling_params":{}}""");
        var choice = body.GetProperty("choices")[0];
        Assert.Equal(Prompt, choice.GetProperty("token_ids").EnumerateArray().Select(t => t.GetInt32()));
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task StreamSendsOneChunkPerTokenThenTheUsageChunk()
    {
        using var response = await Client.PostStreamAsync("/inference/v1/generate",
            $$$"""{"token_ids":{{{Ids(Prompt)}}},"sampling_params":{"max_tokens":3,"n":2},"stream":true,"stream_options":{"include_usage":true}}""");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var events = await Sse.ReadAllAsync(response);
        Assert.True(events[^1].IsDone);
        var chunks = events.SkipLast(1).Select(e => e.Json).ToList();
        Assert.Single(chunks.Select(c => c.GetProperty("request_id").GetString()).Distinct());
        var tokenChunks = chunks.SkipLast(1).ToList();
        Assert.Equal(6, tokenChunks.Count); // 3 steps × 2 choices
        foreach (var index in new[] { 0, 1 })
        {
            var mine = tokenChunks.Select(c => c.GetProperty("choices")[0]).Where(c => c.GetProperty("index").GetInt32() == index).ToList();
            Assert.Equal(Prompt.Take(3), mine.SelectMany(c => c.GetProperty("token_ids").EnumerateArray().Select(t => t.GetInt32())));
            Assert.Equal([JsonValueKind.Null, JsonValueKind.Null, JsonValueKind.String], mine.Select(c => c.GetProperty("finish_reason").ValueKind));
            Assert.Equal("length", mine[^1].GetProperty("finish_reason").GetString());
        }

        Assert.All(tokenChunks, c => Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind));
        var usage = chunks[^1];
        Assert.Empty(usage.GetProperty("choices").EnumerateArray());
        Assert.Equal(6, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(Prompt.Length, usage.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task RequestIdComesFromTheHeaderElseTheBody()
    {
        var json = $$$"""{"request_id":"from-body","token_ids":{{{Ids(Prompt)}}},"sampling_params":{"max_tokens":1}}""";
        var (_, fromBody) = await Client.PostJsonAsync("/inference/v1/generate", json);
        Assert.Equal("generate-tokens-from-body", fromBody.GetProperty("request_id").GetString());

        using var request = new HttpRequestMessage(HttpMethod.Post, "/inference/v1/generate") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Request-Id", "from-header");
        using var response = await Client.SendAsync(request);
        var fromHeader = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("generate-tokens-from-header", fromHeader.GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task LogprobsListTokenIdEntriesSampledFirst()
    {
        var (_, body) = await Client.PostJsonAsync("/inference/v1/generate", $$$"""{"token_ids":{{{Ids(Prompt)}}},"sampling_params":{"max_tokens":2,"logprobs":2}}""");
        var content = body.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content");
        Assert.Equal(2, content.GetArrayLength());
        for (var k = 0; k < 2; k++)
        {
            var entry = content[k];
            Assert.Equal(["token", "logprob", "bytes", "top_logprobs"], entry.EnumerateObject().Select(p => p.Name));
            Assert.Equal($"token_id:{Prompt[k]}", entry.GetProperty("token").GetString());
            Assert.Equal(JsonValueKind.Null, entry.GetProperty("bytes").ValueKind);
            var top = entry.GetProperty("top_logprobs");
            Assert.Equal(2, top.GetArrayLength());
            Assert.Equal(entry.GetProperty("token").GetString(), top[0].GetProperty("token").GetString());
            Assert.True(top[1].GetProperty("logprob").GetDouble() < top[0].GetProperty("logprob").GetDouble());
            Assert.StartsWith("token_id:", top[1].GetProperty("token").GetString());
        }
    }

    [Theory]
    [InlineData("""{"sampling_params":{"max_tokens":1}}""", "token_ids", 400)]
    [InlineData("""{"token_ids":[1,2]}""", "sampling_params", 400)]
    [InlineData("""{"token_ids":[],"sampling_params":{}}""", "token_ids", 400)]
    [InlineData("""{"token_ids":[1,-2],"sampling_params":{}}""", "token_ids", 400)]
    [InlineData("""{"token_ids":"abc","sampling_params":{}}""", "token_ids", 400)]
    [InlineData("""{"token_ids":[1],"sampling_params":{"max_tokens":0}}""", "max_tokens", 400)]
    [InlineData("""{"token_ids":[1],"sampling_params":{"n":99}}""", "sampling_params", 400)]
    [InlineData("""{"token_ids":[1],"sampling_params":{"max_tokens":5000}}""", "max_tokens", 400)]
    [InlineData("""{"token_ids":[1],"sampling_params":{},"model":"no-such-model"}""", "model", 404)]
    public async Task BadRequestsAreVllmErrorsNamingTheField(string json, string param, int status)
    {
        var (response, body) = await Client.PostJsonAsync("/inference/v1/generate", json);
        Http.AssertError(response, body, status, status == 404 ? "NotFoundError" : "BadRequestError");
        Assert.Equal(param, body.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task CountedInTheRankMetrics()
    {
        await using var host = await SimHost.StartAsync();
        var (response, _) = await host.Client.PostJsonAsync("/inference/v1/generate", $$$"""{"token_ids":{{{Ids(Prompt)}}},"sampling_params":{"max_tokens":2}}""");
        Assert.Equal(200, (int)response.StatusCode);
        var metrics = await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
            s => s.All("vllm:request_success_total", ("finished_reason", "length")).Sum(x => x.Value) == 1, what: "one finished request");
        Assert.Equal(Prompt.Length, metrics.Value("vllm:prompt_tokens_total"));
        Assert.Equal(2, metrics.Value("vllm:generation_tokens_total"));
    }
}
