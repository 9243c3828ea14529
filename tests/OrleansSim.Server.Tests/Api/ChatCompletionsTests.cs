using System.Text.Json;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

public sealed class ChatCompletionsTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task NonStreamingEchoesTheLastUserMessageInVllmShape()
    {
        var (response, body) = await Client.PostJsonAsync("/v1/chat/completions",
            """{"model":"test-model","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Hello there, simulator!"}]}""");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.StartsWith("chatcmpl-", body.GetProperty("id").GetString());
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.Equal("test-model", body.GetProperty("model").GetString());
        Assert.True(body.GetProperty("created").GetInt64() > 1_700_000_000);
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal("Hello there, simulator!", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);

        // The fields vLLM's model_dump() always writes are present, null; the fingerprint names the pinned vLLM release.
        foreach (var field in new[] { "service_tier", "prompt_logprobs", "prompt_token_ids", "prompt_text", "kv_transfer_params", "ec_transfer_params", "metrics" })
        {
            Assert.Equal(JsonValueKind.Null, body.GetProperty(field).ValueKind);
        }

        Assert.Matches("^vllm-0\\.33\\.0-[0-9a-f]{8}$", body.GetProperty("system_fingerprint").GetString());
        Assert.False(choice.GetProperty("message").TryGetProperty("tool_calls", out _)); // an empty tool_calls list is dropped

        foreach (var field in new[] { "refusal", "annotations", "audio", "function_call", "reasoning" })
        {
            Assert.Equal(JsonValueKind.Null, choice.GetProperty("message").GetProperty(field).ValueKind);
        }

        Assert.Equal(JsonValueKind.Null, choice.GetProperty("token_ids").ValueKind);

        var usage = body.GetProperty("usage");
        var expectedPrompt = SimHost.SharedTokenizer.CountTokens(SimHost.SharedTokenizer.RenderChat(
            [new("system", "be brief"), new("user", "Hello there, simulator!")]));
        Assert.Equal(expectedPrompt, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(SimHost.SharedTokenizer.CountTokens("Hello there, simulator!"), usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task AliasIsAcceptedAndTheFirstServedNameIsReported()
    {
        var (response, body) = await Client.PostJsonAsync("/v1/chat/completions",
            """{"model":"alias-model","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("test-model", body.GetProperty("model").GetString());
    }

    [Fact]
    public async Task MaxTokensCutsTheEchoWithFinishReasonLength()
    {
        foreach (var field in new[] { "max_tokens", "max_completion_tokens" })
        {
            var (_, body) = await Client.PostJsonAsync("/v1/chat/completions",
                $$"""{"model":"test-model","{{field}}":3,"messages":[{"role":"user","content":"one two three four five six seven"}]}""");
            var choice = body.GetProperty("choices")[0];
            Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
            Assert.Equal(3, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.Equal("one two three", choice.GetProperty("message").GetProperty("content").GetString());
        }
    }

    [Fact]
    public async Task IgnoreEosGeneratesExactlyMaxTokens()
    {
        var (_, body) = await Client.PostJsonAsync("/v1/chat/completions",
            """{"model":"test-model","max_tokens":25,"ignore_eos":true,"messages":[{"role":"user","content":"short"}]}""");
        Assert.Equal(25, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task StopStringCutsTheOutput()
    {
        var (_, body) = await Client.PostJsonAsync("/v1/chat/completions",
            """{"model":"test-model","stop":["STOP"],"messages":[{"role":"user","content":"keep this STOP drop this"}]}""");
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("keep this ", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("STOP", choice.GetProperty("stop_reason").GetString());

        using var stream = await Client.PostStreamAsync("/v1/chat/completions",
            """{"model":"test-model","stream":true,"stop":"drop","messages":[{"role":"user","content":"keep this STOP drop this"}]}""");
        var final = (await Sse.ReadAllAsync(stream)).Where(e => !e.IsDone).Select(e => e.Json).Last();
        Assert.Equal("drop", final.GetProperty("choices")[0].GetProperty("stop_reason").GetString());
    }

    [Fact]
    public async Task NReturnsSeveralChoicesAndCountsThePromptOnce()
    {
        var (_, one) = await Client.PostJsonAsync("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"abc def"}]}""");
        var (_, three) = await Client.PostJsonAsync("/v1/chat/completions", """{"model":"test-model","n":3,"messages":[{"role":"user","content":"abc def"}]}""");
        var choices = three.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.Equal(one.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), three.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(3 * one.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), three.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task StreamFollowsVllmChunkOrderWithUsageChunk()
    {
        using var response = await Client.PostStreamAsync("/v1/chat/completions",
            """{"model":"test-model","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream these words please"}]}""");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var events = await Sse.ReadAllAsync(response);

        Assert.True(events[^1].IsDone);
        var chunks = events.Take(events.Count - 1).Select(e => e.Json).ToList();
        var ids = chunks.Select(c => c.GetProperty("id").GetString()).Distinct().ToList();
        Assert.Single(ids);
        Assert.StartsWith("chatcmpl-", ids[0]);
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));

        // role chunk
        var role = chunks[0].GetProperty("choices")[0];
        Assert.Equal("assistant", role.GetProperty("delta").GetProperty("role").GetString());

        // one chunk per token, without "usage" (vLLM's exclude_unset); as in vLLM the last token's chunk carries finish_reason
        var expectedTokens = SimHost.SharedTokenizer.CountTokens("stream these words please");
        var tokenChunks = chunks.Skip(1).Take(expectedTokens).ToList();
        Assert.All(tokenChunks, c => Assert.False(c.TryGetProperty("usage", out _)));
        Assert.All(tokenChunks.SkipLast(1), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
        Assert.Equal("stream these words please", string.Concat(tokenChunks.Select(c => c.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString())));
        var final = tokenChunks[^1].GetProperty("choices")[0];
        Assert.Equal("stop", final.GetProperty("finish_reason").GetString());
        Assert.Equal(JsonValueKind.Null, final.GetProperty("stop_reason").ValueKind);

        // then the usage chunk with empty choices: role + tokens + usage
        var usageChunk = chunks[^1];
        Assert.Empty(usageChunk.GetProperty("choices").EnumerateArray());
        Assert.Equal(expectedTokens, usageChunk.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(chunks.Count, 1 + expectedTokens + 1);
    }

    [Fact]
    public async Task StreamWithoutIncludeUsageHasNoUsageChunk()
    {
        using var response = await Client.PostStreamAsync("/v1/chat/completions",
            """{"model":"test-model","stream":true,"max_tokens":1,"messages":[{"role":"user","content":"alpha beta"}]}""");
        var events = await Sse.ReadAllAsync(response);
        var chunks = events.Where(e => !e.IsDone).Select(e => e.Json).ToList();
        Assert.All(chunks, c => Assert.NotEmpty(c.GetProperty("choices").EnumerateArray()));
        Assert.Equal("length", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task ContinuousUsageStatsCountTokensSoFar()
    {
        using var response = await Client.PostStreamAsync("/v1/chat/completions",
            """{"model":"test-model","stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true},"messages":[{"role":"user","content":"a b c"}]}""");
        var chunks = (await Sse.ReadAllAsync(response)).Where(e => !e.IsDone).Select(e => e.Json).ToList();
        var counts = chunks.Skip(1).Take(3).Select(c => c.GetProperty("usage").GetProperty("completion_tokens").GetInt32()).ToList();
        Assert.Equal([1, 2, 3], counts);
    }

    [Fact]
    public async Task StreamWithNInterleavesChoices()
    {
        using var response = await Client.PostStreamAsync("/v1/chat/completions",
            """{"model":"test-model","stream":true,"n":2,"messages":[{"role":"user","content":"x y"}]}""");
        var chunks = (await Sse.ReadAllAsync(response)).Where(e => !e.IsDone).Select(e => e.Json).ToList();
        var finals = chunks.Where(c => c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind == JsonValueKind.String)
            .Select(c => c.GetProperty("choices")[0].GetProperty("index").GetInt32()).OrderBy(i => i).ToList();
        Assert.Equal([0, 1], finals);
    }

    [Fact]
    public async Task RequestIdIsUsedInTheResponseIdButNotEchoedWithoutTheFlag()
    {
        var request = Http.Post("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"hi"}]}""");
        request.Headers.Add("X-Request-Id", "my-req-123");
        using var response = await Client.SendAsync(request);
        Assert.False(response.Headers.Contains("x-request-id")); // vLLM sends it only with --enable-request-id-headers
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("chatcmpl-my-req-123", body.GetProperty("id").GetString());
    }

    [Fact]
    public async Task ContentPartsAreFlattenedToText()
    {
        var (_, body) = await Client.PostJsonAsync("/v1/chat/completions",
            """{"model":"test-model","messages":[{"role":"user","content":[{"type":"text","text":"part one "},{"type":"text","text":"part two"}]}]}""");
        Assert.Equal("part one part two", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }
}
