using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>Every 4xx path answers with vLLM's error body and a message that names the field.</summary>
public sealed class ErrorTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task UnknownModelIs404()
    {
        var (response, body) = await Client.PostJsonAsync("/v1/chat/completions", """{"model":"nope","messages":[{"role":"user","content":"hi"}]}""");
        var message = Http.AssertError(response, body, 404, "NotFoundError");
        Assert.Equal("The model `nope` does not exist.", message);
        Assert.Equal("model", body.GetProperty("error").GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("/v1/chat/completions", "{not json", "JSON")]
    [InlineData("/v1/chat/completions", "[1,2]", "JSON object")]
    [InlineData("/v1/chat/completions", """{"model":"test-model"}""", "messages")]
    [InlineData("/v1/chat/completions", """{"model":"test-model","messages":[]}""", "messages")]
    [InlineData("/v1/chat/completions", """{"model":"test-model","messages":"hi"}""", "messages")]
    [InlineData("/v1/chat/completions", """{"model":"test-model","messages":[{"content":"x"}]}""", "role")]
    [InlineData("/v1/chat/completions", """{"model":"test-model","max_tokens":"ten","messages":[{"role":"user","content":"x"}]}""", "max_tokens")]
    [InlineData("/v1/chat/completions", """{"model":"test-model","max_tokens":0,"messages":[{"role":"user","content":"x"}]}""", "max_tokens")]
    [InlineData("/v1/chat/completions", """{"model":"test-model","max_tokens":-3,"messages":[{"role":"user","content":"x"}]}""", "max_tokens")]
    [InlineData("/v1/chat/completions", """{"model":"test-model","max_completion_tokens":-5,"messages":[{"role":"user","content":"x"}]}""", "max_completion_tokens")]
    [InlineData("/v1/chat/completions", """{"model":"test-model","n":0,"messages":[{"role":"user","content":"x"}]}""", "n")]
    [InlineData("/v1/chat/completions", """{"model":"test-model","stream":"yes","messages":[{"role":"user","content":"x"}]}""", "stream")]
    [InlineData("/v1/chat/completions", """{"model":42,"messages":[{"role":"user","content":"x"}]}""", "model")]
    [InlineData("/v1/chat/completions", """{"model":"test-model","stop":5,"messages":[{"role":"user","content":"x"}]}""", "stop")]
    [InlineData("/v1/completions", """{"model":"test-model"}""", "prompt")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":""}""", "prompt")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":[]}""", "prompt")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":[[]]}""", "prompt")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":{"a":1}}""", "prompt")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":"x","max_tokens":-1}""", "max_tokens")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":"x","temperature":"hot"}""", "temperature")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":"x","temperature":-1}""", "temperature")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":"x","top_p":5}""", "top_p")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":"x","top_k":-7}""", "top_k")]
    [InlineData("/v1/chat/completions", """{"model":"test-model","presence_penalty":3,"messages":[{"role":"user","content":"x"}]}""", "presence_penalty")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":"x","max_tokens":5,"min_tokens":9}""", "min_tokens")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":[300000]}""", "out of vocabulary")]
    [InlineData("/detokenize", """{"model":"test-model","tokens":[999999]}""", "out of vocabulary")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":"\ud800"}""", "prompt")]
    public async Task BadRequestsAre400NamingTheField(string path, string json, string mentioned)
    {
        var (response, body) = await Client.PostJsonAsync(path, json);
        var message = Http.AssertError(response, body, 400, "BadRequestError");
        Assert.Contains(mentioned, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromptPlusMaxTokensOverTheContextWindowNamesBothNumbers()
    {
        var prompt = string.Join(' ', Enumerable.Repeat("word", 100));
        var promptTokens = SimHost.SharedTokenizer.CountTokens(prompt);
        var (response, body) = await Client.PostJsonAsync("/v1/completions", $$"""{"model":"test-model","prompt":"{{prompt}}","max_tokens":1000}""");
        var message = Http.AssertError(response, body, 400, "BadRequestError");
        Assert.Contains("maximum context length is 1024 tokens", message, StringComparison.Ordinal);
        Assert.Contains($"{promptTokens} input tokens", message, StringComparison.Ordinal);
        Assert.Contains("1000", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromptAloneOverTheContextWindowIs400()
    {
        var prompt = string.Join(' ', Enumerable.Repeat("word", 1100));
        var (response, body) = await Client.PostJsonAsync("/v1/chat/completions", $$"""{"model":"test-model","messages":[{"role":"user","content":"{{prompt}}"}]}""");
        var message = Http.AssertError(response, body, 400, "BadRequestError");
        Assert.Contains("maximum context length is 1024 tokens", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongMethodIs405AndUnknownPathIs404InVllmBody()
    {
        using var get = await Client.GetAsync("/v1/chat/completions");
        var getBody = System.Text.Json.JsonDocument.Parse(await get.Content.ReadAsStringAsync()).RootElement;
        Http.AssertError(get, getBody, 405, "MethodNotAllowedError");

        using var missing = await Client.GetAsync("/v1/nothing-here");
        var missingBody = System.Text.Json.JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement;
        Http.AssertError(missing, missingBody, 404, "NotFoundError");
    }

    [Fact]
    public async Task ServerKeepsServingAfterBadInput()
    {
        await Client.PostJsonAsync("/v1/chat/completions", "{bad");
        var (response, _) = await Client.PostJsonAsync("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"still alive"}]}""");
        Assert.Equal(200, (int)response.StatusCode);
    }

    [Fact]
    public async Task NonJsonContentTypeAndInvalidUtf8Are400()
    {
        using var form = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"model":"test-model","prompt":"x"}""", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"),
        });
        var formBody = System.Text.Json.JsonDocument.Parse(await form.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("Content-Type", Http.AssertError(form, formBody, 400, "BadRequestError"), StringComparison.Ordinal);

        var bytes = new ByteArrayContent([.. "{\"model\":\"test-model\",\"prompt\":\""u8, 0xff, 0xfe, .. "\"}"u8]);
        bytes.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var invalid = await Client.PostAsync("/v1/completions", bytes);
        var invalidBody = System.Text.Json.JsonDocument.Parse(await invalid.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("UTF-8", Http.AssertError(invalid, invalidBody, 400, "BadRequestError"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APromptLongerThanTheWindowIsReportedAsSuchEvenWithMaxTokens()
    {
        var prompt = string.Join(' ', Enumerable.Repeat("word", 1100));
        var (response, body) = await Client.PostJsonAsync("/v1/completions", $$"""{"model":"test-model","prompt":"{{prompt}}","max_tokens":1}""");
        var message = Http.AssertError(response, body, 400, "BadRequestError");
        Assert.Contains("Please reduce the length of the input", message, StringComparison.Ordinal);
        Assert.Equal("prompt", body.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task ErrorTextIsNotEscapedBeyondJson()
    {
        using var response = await Client.SendAsync(Http.Post("/v1/chat/completions", """{"model":"héllo`x","messages":[{"role":"user","content":"hi"}]}"""));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.Contains("The model `héllo`x` does not exist.", raw, StringComparison.Ordinal);
    }
}
