using System.Text;
using System.Text.Json;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>
/// <c>logprobs</c> on both endpoints, in vLLM's shapes (protocol.py: ChatCompletionLogProbs and
/// CompletionLogProbs), plain and streaming, and vLLM's validation errors.
/// </summary>
public sealed class LogprobsTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private const string Prompt = "The quick brown fox jumps over the lazy dog";

    private HttpClient Client => fixture.Host.Client;

    private static List<string> Pieces => [.. SimHost.SharedTokenizer.SplitTokens(Prompt)];

    [Fact]
    public async Task ChatChoiceCarriesOneContentEntryPerTokenWithTopLogprobs()
    {
        var (response, body) = await Client.PostJsonAsync("/v1/chat/completions",
            $$"""{"model":"test-model","messages":[{"role":"user","content":"{{Prompt}}"}],"logprobs":true,"top_logprobs":3}""");
        Assert.Equal(200, (int)response.StatusCode);
        var content = body.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content").EnumerateArray().ToList();

        Assert.Equal(Pieces, content.Select(e => e.GetProperty("token").GetString()!));
        for (var k = 0; k < content.Count; k++)
        {
            AssertChatEntry(content[k], Pieces[k], top: 3);
        }
    }

    [Fact]
    public async Task ChatWithoutTopLogprobsGivesEmptyTopLists()
    {
        var (_, body) = await Client.PostJsonAsync("/v1/chat/completions",
            """{"model":"test-model","messages":[{"role":"user","content":"hello there"}],"logprobs":true}""");
        var content = body.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content");
        Assert.Equal(SimHost.SharedTokenizer.CountTokens("hello there"), content.GetArrayLength());
        Assert.All(content.EnumerateArray(), e => Assert.Equal(0, e.GetProperty("top_logprobs").GetArrayLength()));
    }

    [Fact]
    public async Task WithoutLogprobsTheFieldStaysNull()
    {
        var (_, chat) = await Client.PostJsonAsync("/v1/chat/completions",
            """{"model":"test-model","messages":[{"role":"user","content":"hi"}],"logprobs":false,"top_logprobs":0}""");
        Assert.Equal(JsonValueKind.Null, chat.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        var (_, text) = await Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"hi"}""");
        Assert.Equal(JsonValueKind.Null, text.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
    }

    [Fact]
    public async Task ChatStreamingChunksCarryTheirTokensLogprobs()
    {
        using var response = await Client.PostStreamAsync("/v1/chat/completions",
            $$"""{"model":"test-model","messages":[{"role":"user","content":"{{Prompt}}"}],"logprobs":true,"top_logprobs":2,"stream":true}""");
        var chunks = (await Sse.ReadAllAsync(response)).Where(e => !e.IsDone).Select(e => e.Json.GetProperty("choices")[0]).ToList();

        var tokenChunks = chunks.Where(c => c.GetProperty("delta").TryGetProperty("content", out var t) && t.GetString()!.Length > 0).ToList();
        Assert.Equal(Pieces, tokenChunks.Select(c => c.GetProperty("delta").GetProperty("content").GetString()!));
        for (var k = 0; k < tokenChunks.Count; k++)
        {
            var content = tokenChunks[k].GetProperty("logprobs").GetProperty("content");
            Assert.Equal(1, content.GetArrayLength());
            AssertChatEntry(content[0], Pieces[k], top: 2);
        }

        // The role chunk carries no token, so no logprobs; the last token's chunk carries both its logprobs and the finish.
        Assert.Equal(JsonValueKind.Null, chunks[0].GetProperty("logprobs").ValueKind);
        Assert.Equal("stop", chunks[^1].GetProperty("finish_reason").GetString());
        Assert.Equal(1, chunks[^1].GetProperty("logprobs").GetProperty("content").GetArrayLength());
    }

    [Fact]
    public async Task CompletionsGiveOffsetsTokenLogprobsTokensAndTopMaps()
    {
        var (response, body) = await Client.PostJsonAsync("/v1/completions",
            $$"""{"model":"test-model","prompt":"{{Prompt}}","max_tokens":50,"logprobs":4}""");
        Assert.Equal(200, (int)response.StatusCode);
        var logprobs = body.GetProperty("choices")[0].GetProperty("logprobs");
        Assert.Equal(["text_offset", "token_logprobs", "tokens", "top_logprobs"], logprobs.EnumerateObject().Select(p => p.Name));

        Assert.Equal(Pieces, logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal(Offsets(Pieces, 0), logprobs.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()));
        var chosen = logprobs.GetProperty("token_logprobs").EnumerateArray().Select(l => l.GetDouble()).ToList();
        var tops = logprobs.GetProperty("top_logprobs").EnumerateArray().ToList();
        Assert.Equal(Pieces.Count, tops.Count);
        for (var k = 0; k < Pieces.Count; k++)
        {
            AssertCompletionTop(tops[k], Pieces[k], chosen[k], entries: 4);
        }
    }

    [Fact]
    public async Task CompletionsLogprobsZeroStillReportsTheSampledToken()
    {
        var (_, body) = await Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"one two","logprobs":0}""");
        var logprobs = body.GetProperty("choices")[0].GetProperty("logprobs");
        var tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToList();
        var tops = logprobs.GetProperty("top_logprobs").EnumerateArray().ToList();
        for (var k = 0; k < tokens.Count; k++)
        {
            AssertCompletionTop(tops[k], tokens[k], logprobs.GetProperty("token_logprobs")[k].GetDouble(), entries: 1);
        }
    }

    [Fact]
    public async Task CompletionsStreamingChunksContinueTheTextOffsets()
    {
        using var response = await Client.PostStreamAsync("/v1/completions",
            $$"""{"model":"test-model","prompt":"{{Prompt}}","max_tokens":50,"logprobs":1,"stream":true}""");
        var chunks = (await Sse.ReadAllAsync(response)).Where(e => !e.IsDone).Select(e => e.Json.GetProperty("choices")[0]).ToList();
        var tokenChunks = chunks.Where(c => c.GetProperty("text").GetString()!.Length > 0).ToList();
        Assert.Equal(Pieces, tokenChunks.Select(c => c.GetProperty("text").GetString()!));

        var expectedOffsets = Offsets(Pieces, 0);
        for (var k = 0; k < tokenChunks.Count; k++)
        {
            var logprobs = tokenChunks[k].GetProperty("logprobs");
            Assert.Equal([Pieces[k]], logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!));
            Assert.Equal([expectedOffsets[k]], logprobs.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()));
            AssertCompletionTop(logprobs.GetProperty("top_logprobs")[0], Pieces[k], logprobs.GetProperty("token_logprobs")[0].GetDouble(), entries: 1);
        }

        Assert.Equal("stop", chunks[^1].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task SameRequestGivesTheSameLogprobs()
    {
        const string request = """{"model":"test-model","prompt":"deterministic values please","logprobs":5}""";
        var (_, first) = await Client.PostJsonAsync("/v1/completions", request);
        var (_, second) = await Client.PostJsonAsync("/v1/completions", request);
        Assert.Equal(
            first.GetProperty("choices")[0].GetProperty("logprobs").GetRawText(),
            second.GetProperty("choices")[0].GetProperty("logprobs").GetRawText());
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"top_logprobs":2}""", "top_logprobs", "when using `top_logprobs`, `logprobs` must be set to true.")]
    [InlineData("/v1/chat/completions", """{"logprobs":false,"top_logprobs":-1}""", "top_logprobs", "when using `top_logprobs`, `logprobs` must be set to true.")]
    [InlineData("/v1/chat/completions", """{"logprobs":true,"top_logprobs":-2}""", "top_logprobs", "`top_logprobs` must be a positive value or -1.")]
    [InlineData("/v1/chat/completions", """{"logprobs":true,"top_logprobs":"3"}""", "top_logprobs", "`top_logprobs` must be an integer.")]
    [InlineData("/v1/chat/completions", """{"logprobs":true,"top_logprobs":21}""", "logprobs", "Requested sample logprobs of 21, which is greater than max allowed: 20")]
    [InlineData("/v1/chat/completions", """{"logprobs":true,"top_logprobs":-1}""", "logprobs", "which is greater than max allowed: 20")]
    [InlineData("/v1/chat/completions", """{"logprobs":3}""", "logprobs", "'logprobs' must be a boolean.")]
    [InlineData("/v1/completions", """{"logprobs":21}""", "logprobs", "Requested sample logprobs of 21, which is greater than max allowed: 20")]
    [InlineData("/v1/completions", """{"logprobs":-3}""", "logprobs", "`logprobs` must be a positive value or -1.")]
    [InlineData("/v1/completions", """{"logprobs":-1}""", "logprobs", "which is greater than max allowed: 20")]
    [InlineData("/v1/completions", """{"logprobs":true}""", "logprobs", "`logprobs` must be an integer.")]
    public async Task InvalidLogprobsAre400NamingTheField(string path, string fields, string param, string message)
    {
        var input = path.Contains("chat", StringComparison.Ordinal) ? """ "messages":[{"role":"user","content":"hi"}]""" : """ "prompt":"hi" """;
        var json = $$"""{"model":"test-model",{{input}},{{fields[1..^1]}}}""";
        var (response, body) = await Client.PostJsonAsync(path, json);
        var error = Http.AssertError(response, body, 400, "BadRequestError");
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Equal(param, body.GetProperty("error").GetProperty("param").GetString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    public async Task TheWholeRangeIsAccepted(int top)
    {
        var (chat, _) = await Client.PostJsonAsync("/v1/chat/completions",
            $$"""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":{{top}}}""");
        Assert.Equal(200, (int)chat.StatusCode);
        var (text, body) = await Client.PostJsonAsync("/v1/completions", $$"""{"model":"test-model","prompt":"hi","logprobs":{{top}}}""");
        Assert.Equal(200, (int)text.StatusCode);
        Assert.Equal(Math.Max(top, 1), body.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("top_logprobs")[0].EnumerateObject().Count());
    }

    /// <summary>A ChatCompletionLogProbsContent: token, logprob, bytes, top_logprobs (chosen first, distinct, not above it).</summary>
    private static void AssertChatEntry(JsonElement entry, string token, int top)
    {
        Assert.Equal(["token", "logprob", "bytes", "top_logprobs"], entry.EnumerateObject().Select(p => p.Name));
        Assert.Equal(token, entry.GetProperty("token").GetString());
        AssertBytes(entry);
        var logprob = entry.GetProperty("logprob").GetDouble();
        Assert.InRange(logprob, -5, 0);

        var alternatives = entry.GetProperty("top_logprobs").EnumerateArray().ToList();
        Assert.Equal(top, alternatives.Count);
        Assert.Equal(token, alternatives[0].GetProperty("token").GetString());
        Assert.Equal(logprob, alternatives[0].GetProperty("logprob").GetDouble());
        Assert.Equal(alternatives.Count, alternatives.Select(a => a.GetProperty("token").GetString()).Distinct(StringComparer.Ordinal).Count());
        foreach (var alternative in alternatives)
        {
            Assert.Equal(["token", "logprob", "bytes"], alternative.EnumerateObject().Select(p => p.Name));
            Assert.True(alternative.GetProperty("logprob").GetDouble() <= logprob);
            AssertBytes(alternative);
        }
    }

    private static void AssertBytes(JsonElement entry) =>
        Assert.Equal(Encoding.UTF8.GetBytes(entry.GetProperty("token").GetString()!),
            entry.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()));

    /// <summary>A completions top_logprobs map: the sampled token with its logprob, then lower, distinct entries.</summary>
    private static void AssertCompletionTop(JsonElement top, string token, double chosen, int entries)
    {
        var map = top.EnumerateObject().ToList();
        Assert.Equal(entries, map.Count);
        Assert.Equal(token, map[0].Name);
        Assert.Equal(chosen, map[0].Value.GetDouble());
        Assert.All(map, e => Assert.True(e.Value.GetDouble() <= chosen));
        Assert.Equal(map.Count, map.Select(e => e.Name).Distinct(StringComparer.Ordinal).Count());
    }

    private static List<int> Offsets(List<string> pieces, int start)
    {
        var offsets = new List<int>(pieces.Count);
        foreach (var piece in pieces)
        {
            offsets.Add(start);
            start += piece.Length;
        }

        return offsets;
    }
}
