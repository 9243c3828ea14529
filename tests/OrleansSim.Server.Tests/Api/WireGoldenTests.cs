using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>
/// Byte-for-byte wire checks against golden bodies of the pinned vLLM release (tests/…/Golden/README.md says where each
/// field list comes from). The echo host with its fixed --seed answers deterministically; a fixed X-Request-Id fixes the
/// ids, so only <c>created</c> and the config hash in <c>system_fingerprint</c> are replaced by placeholders before the
/// raw text is compared: key order, null fields and absent fields must match exactly.
/// </summary>
public sealed partial class WireGoldenTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private HttpClient Client => fixture.Host.Client;

    [Theory]
    [InlineData("chat.json", "/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"Hello golden"}],"max_tokens":8,"seed":1}""")]
    [InlineData("completions.json", "/v1/completions", """{"model":"test-model","prompt":"Hello golden","max_tokens":8,"seed":1}""")]
    [InlineData("generate.json", "/inference/v1/generate", """{"token_ids":[13225,21283],"sampling_params":{"max_tokens":8,"seed":1}}""")]
    [InlineData("error-400.json", "/v1/chat/completions", """{"model":"test-model","messages":[]}""")]
    [InlineData("error-404.json", "/v1/completions", """{"model":"no-such-model","prompt":"x"}""")]
    public async Task BodyMatchesTheGolden(string golden, string path, string json)
    {
        using var response = await Client.SendAsync(Request(path, json));
        var text = await response.Content.ReadAsStringAsync();
        AssertGolden(golden, Normalise(text) + "\n");
    }

    [Theory]
    [InlineData("chat-stream.sse", "/v1/chat/completions", """{"model":"test-model","stream":true,"messages":[{"role":"user","content":"Hello golden"}],"max_tokens":8}""")]
    [InlineData("chat-stream-usage.sse", "/v1/chat/completions", """{"model":"test-model","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hello golden"}],"max_tokens":8}""")]
    [InlineData("chat-stream-continuous.sse", "/v1/chat/completions", """{"model":"test-model","stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true},"messages":[{"role":"user","content":"Hi"}],"max_tokens":2}""")]
    [InlineData("chat-stream-tools.sse", "/v1/chat/completions", """{"model":"test-model","stream":true,"seed":3,"messages":[{"role":"user","content":"Weather?"}],"tool_choice":"required","tools":[{"type":"function","function":{"name":"get_weather","description":"Weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string","enum":["Paris"]}},"required":["city"]}}}]}""")]
    [InlineData("completions-stream.sse", "/v1/completions", """{"model":"test-model","stream":true,"prompt":"Hello golden","max_tokens":8}""")]
    [InlineData("completions-stream-usage.sse", "/v1/completions", """{"model":"test-model","stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true},"prompt":"Hi there","max_tokens":2}""")]
    [InlineData("generate-stream.sse", "/inference/v1/generate", """{"token_ids":[13225,21283],"sampling_params":{"max_tokens":8},"stream":true,"stream_options":{"include_usage":true}}""")]
    public async Task StreamMatchesTheGolden(string golden, string path, string json)
    {
        var request = Request(path, json);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        AssertGolden(golden, Normalise(text));
    }

    private static HttpRequestMessage Request(string path, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Request-Id", "golden");
        return request;
    }

    /// <summary>The volatile values: the creation time and the config hash at the end of the fingerprint.</summary>
    private static string Normalise(string text) =>
        Fingerprint().Replace(Created().Replace(text, "\"created\":0"), "\"system_fingerprint\":\"vllm-$1-HASH8\"");

    [GeneratedRegex("\"created\":[0-9]+")]
    private static partial Regex Created();

    [GeneratedRegex("\"system_fingerprint\":\"vllm-([0-9.]+)-[0-9a-f]{8}\"")]
    private static partial Regex Fingerprint();

    private static void AssertGolden(string golden, string actual)
    {
        // ORLEANSSIM_GOLDEN_OUT=dir writes what the server sent, for review against vLLM's models (never compared blindly).
        if (Environment.GetEnvironmentVariable("ORLEANSSIM_GOLDEN_OUT") is { Length: > 0 } dir)
        {
            File.WriteAllText(Path.Combine(dir, golden), actual);
        }

        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", golden)).ReplaceLineEndings("\n");
        Assert.Equal(expected, actual.ReplaceLineEndings("\n"));
    }
}
