using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>llm-d-inference-sim's <c>X-Return-Error</c> request header on the inference endpoints.</summary>
public sealed class ReturnErrorHeaderTests : IClassFixture<EchoHostFixture>
{
    private readonly EchoHostFixture _fixture;

    public ReturnErrorHeaderTests(EchoHostFixture fixture) => _fixture = fixture;

    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"hi"}]}""", 422, "UnprocessableEntityError")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":"hi","stream":true}""", 503, "ServiceUnavailableError")]
    [InlineData("/v1/completions", """{"model":"no-such-model","prompt":"hi"}""", 429, "RateLimitError")]
    public async Task StatusFromTheHeaderWithLlmdMessage(string path, string json, int status, string type)
    {
        var request = Http.Post(path, json);
        request.Headers.Add("X-Return-Error", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var response = await _fixture.Host.Client.SendAsync(request);
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var message = Http.AssertError(response, body, status, type);
        Assert.Equal($"Simulated error triggered by X-Return-Error header (code {status})", message);
    }

    [Theory]
    [InlineData("abc", "Invalid X-Return-Error header value \"abc\": must be an integer")]
    [InlineData("4.5", "Invalid X-Return-Error header value \"4.5\": must be an integer")]
    [InlineData("42", "Invalid X-Return-Error header value \"42\": must be an HTTP status code between 200 and 599")]
    public async Task ValueThatIsNotAStatusIsABadRequest(string value, string expected)
    {
        var request = Http.Post("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"hi"}]}""");
        request.Headers.TryAddWithoutValidation("X-Return-Error", value);
        var response = await _fixture.Host.Client.SendAsync(request);
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(expected, Http.AssertError(response, body, 400, "BadRequestError"));
    }

    [Fact]
    public async Task WithoutTheHeaderTheRequestIsServed()
    {
        var (response, _) = await _fixture.Host.Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"hi","max_tokens":2}""");
        Assert.Equal(200, (int)response.StatusCode);
    }
}
