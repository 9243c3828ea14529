using System.Text.Json;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

public sealed class CompletionsTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task StringPromptEchoesWithVllmShapeAndDefaultSixteenTokens()
    {
        var prompt = string.Join(' ', Enumerable.Range(1, 40).Select(i => $"w{i}"));
        var (response, body) = await Client.PostJsonAsync("/v1/completions", $$"""{"model":"test-model","prompt":"{{prompt}}"}""");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.StartsWith("cmpl-", body.GetProperty("id").GetString());
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(16, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        foreach (var field in new[] { "token_ids", "prompt_logprobs", "prompt_token_ids", "stop_reason" })
        {
            Assert.Equal(JsonValueKind.Null, choice.GetProperty(field).ValueKind);
        }

        Assert.Equal(JsonValueKind.Null, body.GetProperty("kv_transfer_params").ValueKind);
        Assert.StartsWith(choice.GetProperty("text").GetString()!, prompt, StringComparison.Ordinal);
        Assert.Equal(SimHost.SharedTokenizer.CountTokens(prompt), body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task ListOfStringsGivesOneChoicePerPromptAndSummedUsage()
    {
        var (_, body) = await Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":["first prompt","second one here"],"max_tokens":50}""");
        var choices = body.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal(2, choices.Count);
        Assert.Equal("first prompt", choices[0].GetProperty("text").GetString());
        Assert.Equal("second one here", choices[1].GetProperty("text").GetString());
        Assert.Equal(SimHost.SharedTokenizer.CountTokens("first prompt") + SimHost.SharedTokenizer.CountTokens("second one here"),
            body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task TokenIdPromptsCountIdsAsPromptTokens()
    {
        var ids = SimHost.SharedTokenizer.Encode("hello token world");
        var (_, one) = await Client.PostJsonAsync("/v1/completions", $$"""{"model":"test-model","prompt":[{{string.Join(',', ids)}}],"max_tokens":50}""");
        Assert.Equal(ids.Count, one.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal("hello token world", one.GetProperty("choices")[0].GetProperty("text").GetString());

        var (_, two) = await Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":[[1,2,3],[4,5]],"max_tokens":5}""");
        Assert.Equal(5, two.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(2, two.GetProperty("choices").GetArrayLength());
    }

    [Fact]
    public async Task StreamingCompletionChunksCarryText()
    {
        using var response = await Client.PostStreamAsync("/v1/completions",
            """{"model":"test-model","prompt":"one two three","stream":true,"stream_options":{"include_usage":true}}""");
        var events = await Sse.ReadAllAsync(response);
        Assert.True(events[^1].IsDone);
        var chunks = events.Where(e => !e.IsDone).Select(e => e.Json).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        var text = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal("one two three", text);
        var finished = chunks[^2].GetProperty("choices")[0];
        Assert.Equal("stop", finished.GetProperty("finish_reason").GetString());
        Assert.Equal(" three", finished.GetProperty("text").GetString()); // the last token's chunk carries the finish
        Assert.Equal(JsonValueKind.Object, chunks[^1].GetProperty("usage").ValueKind);
    }
}

public sealed class RandomModeTests(RandomHostFixture fixture) : IClassFixture<RandomHostFixture>
{
    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task OutputStaysWithinMaxTokensAndIsExactWithIgnoreEos()
    {
        for (var i = 0; i < 10; i++)
        {
            var (_, body) = await Client.PostJsonAsync("/v1/chat/completions", """{"model":"test-model","max_tokens":20,"messages":[{"role":"user","content":"tell me"}]}""");
            var tokens = body.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
            Assert.InRange(tokens, 1, 20);
            var finish = body.GetProperty("choices")[0].GetProperty("finish_reason").GetString();
            Assert.Equal(tokens == 20 ? "length" : "stop", finish);
        }

        var (_, exact) = await Client.PostJsonAsync("/v1/chat/completions", """{"model":"test-model","max_tokens":300,"ignore_eos":true,"messages":[{"role":"user","content":"tell me"}]}""");
        Assert.Equal(300, exact.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", exact.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task SameSeedGivesSameTextAndDifferentSeedsDiffer()
    {
        async Task<string> Text(int seed)
        {
            var (_, body) = await Client.PostJsonAsync("/v1/chat/completions", $$"""{"model":"test-model","seed":{{seed}},"max_tokens":40,"ignore_eos":true,"messages":[{"role":"user","content":"x"}]}""");
            return body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        }

        var a = await Text(7);
        Assert.Equal(a, await Text(7));
        var others = new HashSet<string>();
        for (var s = 100; s < 105; s++)
        {
            others.Add(await Text(s));
        }

        Assert.True(others.Count > 1);
    }
}

public sealed class ServerSeedTests
{
    [Fact]
    public async Task SameServerSeedAndRequestSequenceGiveTheSameOutputs()
    {
        async Task<List<string>> Run(long seed)
        {
            await using var host = await SimHost.StartAsync(o => o with { Mode = OrleansSim.Core.Configuration.SimulationMode.Random, Seed = seed });
            var texts = new List<string>();
            for (var i = 0; i < 4; i++)
            {
                var (_, body) = await host.Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"go","max_tokens":30}""");
                texts.Add(body.GetProperty("choices")[0].GetProperty("text").GetString()!);
            }

            return texts;
        }

        var first = await Run(1234);
        Assert.Equal(first, await Run(1234));
        Assert.NotEqual(first, await Run(99));
    }
}

/// <summary>Completions <c>echo</c>: the prompt comes back before the output (vLLM's CompletionRequest.echo).</summary>
public sealed class CompletionsEchoTests(RandomHostFixture fixture) : IClassFixture<RandomHostFixture>
{
    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task EchoPrependsThePromptAndCountsOnlyGeneratedTokens()
    {
        var (response, body) = await Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"The capital of France is","max_tokens":4,"ignore_eos":true,"echo":true}""");
        Assert.Equal(200, (int)response.StatusCode);
        var text = body.GetProperty("choices")[0].GetProperty("text").GetString()!;
        Assert.StartsWith("The capital of France is", text, StringComparison.Ordinal);
        Assert.True(text.Length > "The capital of France is".Length);
        Assert.Equal(4, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task EchoWithoutGenerationGivesPromptLogprobsWithANullFirstEntry()
    {
        const string Prompt = "Paris is the capital";
        var (response, body) = await Client.PostJsonAsync("/v1/completions", $$"""{"model":"test-model","prompt":"{{Prompt}}","max_tokens":0,"echo":true,"logprobs":1}""");
        Assert.Equal(200, (int)response.StatusCode);
        var choice = body.GetProperty("choices")[0];
        Assert.Equal(Prompt, choice.GetProperty("text").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(0, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        var logprobs = choice.GetProperty("logprobs");
        var tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToList();
        Assert.Equal(Prompt, string.Concat(tokens));
        var values = logprobs.GetProperty("token_logprobs").EnumerateArray().ToList();
        Assert.Equal(JsonValueKind.Null, values[0].ValueKind);
        Assert.All(values.Skip(1), v => Assert.True(v.GetDouble() < 0));
        Assert.Equal(JsonValueKind.Null, logprobs.GetProperty("top_logprobs")[0].ValueKind);
        Assert.Equal(tokens.Count, logprobs.GetProperty("text_offset").GetArrayLength());
    }

    [Fact]
    public async Task StreamedEchoStartsTheFirstChunkWithThePrompt()
    {
        using var response = await Client.PostStreamAsync("/v1/completions", """{"model":"test-model","prompt":"Echo me","max_tokens":3,"ignore_eos":true,"echo":true,"stream":true}""");
        var chunks = (await Sse.ReadAllAsync(response)).Where(e => !e.IsDone).Select(e => e.Json.GetProperty("choices")[0]).ToList();
        Assert.StartsWith("Echo me", chunks[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, chunks.Count);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(0)]
    public async Task StreamedEchoLogprobsMatchThePlainOnes(int maxTokens)
    {
        var request = $$"""{"model":"test-model","prompt":"Rome was not built in a day","max_tokens":{{maxTokens}},"ignore_eos":true,"echo":true,"logprobs":2,"seed":11""";
        var (_, plain) = await Client.PostJsonAsync("/v1/completions", request + "}");
        var expected = plain.GetProperty("choices")[0].GetProperty("logprobs");

        using var response = await Client.PostStreamAsync("/v1/completions", request + ""","stream":true}""");
        var chunks = (await Sse.ReadAllAsync(response)).Where(e => !e.IsDone).Select(e => e.Json.GetProperty("choices")[0].GetProperty("logprobs")).ToList();
        foreach (var field in new[] { "text_offset", "token_logprobs", "tokens", "top_logprobs" })
        {
            var streamed = chunks.SelectMany(c => c.GetProperty(field).EnumerateArray()).Select(e => e.GetRawText());
            Assert.Equal(expected.GetProperty(field).EnumerateArray().Select(e => e.GetRawText()), streamed);
        }
    }

    [Theory]
    [InlineData("""{"model":"test-model","prompt":"x","max_tokens":0}""", "max_tokens")]
    [InlineData("""{"model":"test-model","prompt":"x","echo":"yes"}""", "echo")]
    public async Task EchoErrors(string json, string field)
    {
        var (response, body) = await Client.PostJsonAsync("/v1/completions", json);
        Assert.Contains(field, Http.AssertError(response, body, 400, "BadRequestError"), StringComparison.Ordinal);
    }
}
