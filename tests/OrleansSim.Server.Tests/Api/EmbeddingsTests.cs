using System.ClientModel;
using System.Text.Json;
using OpenAI;
using OpenAI.Embeddings;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>POST /v1/embeddings with the OpenAI .NET SDK (which asks for base64) and raw HTTP (floats, errors).</summary>
public sealed class EmbeddingsTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private EmbeddingClient Client => new("test-model", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Host.BaseUri(), "/v1") });

    private static double Length(ReadOnlySpan<float> vector)
    {
        double squares = 0;
        foreach (var v in vector)
        {
            squares += (double)v * v;
        }

        return Math.Sqrt(squares);
    }

    [Fact]
    public async Task SdkGetsDeterministicUnitVectorsAndUsage()
    {
        string[] inputs = ["The food was delicious", "The waiter was friendly"];
        OpenAIEmbeddingCollection first = await Client.GenerateEmbeddingsAsync(inputs, new EmbeddingGenerationOptions { Dimensions = 16 });
        Assert.Equal(2, first.Count);
        foreach (var embedding in first)
        {
            Assert.Equal(16, embedding.ToFloats().Length);
            Assert.InRange(Length(embedding.ToFloats().Span), 0.999, 1.001);
        }

        Assert.False(first[0].ToFloats().Span.SequenceEqual(first[1].ToFloats().Span));
        var promptTokens = inputs.Sum(SimHost.SharedTokenizer.CountTokens);
        Assert.Equal(promptTokens, first.Usage.InputTokenCount);
        Assert.Equal(promptTokens, first.Usage.TotalTokenCount);

        // Same text, same vector, in a later request too.
        OpenAIEmbedding again = await Client.GenerateEmbeddingAsync(inputs[1], new EmbeddingGenerationOptions { Dimensions = 16 });
        Assert.True(again.ToFloats().Span.SequenceEqual(first[1].ToFloats().Span));
    }

    [Fact]
    public async Task FloatBodyHasVllmShapeAndMatchesBase64AndTokenIds()
    {
        const string text = "Embed this sentence";
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/embeddings", $$"""{"model":"test-model","input":"{{text}}"}""");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(["id", "object", "created", "model", "data", "usage"], body.EnumerateObject().Select(p => p.Name));
        Assert.StartsWith("embd-", body.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("list", body.GetProperty("object").GetString());
        var item = Assert.Single(body.GetProperty("data").EnumerateArray());
        Assert.Equal(["index", "object", "embedding"], item.EnumerateObject().Select(p => p.Name));
        Assert.Equal("embedding", item.GetProperty("object").GetString());
        var floats = item.GetProperty("embedding").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
        Assert.Equal(384, floats.Length); // --default-embedding-dimensions
        Assert.InRange(Length(floats), 0.999, 1.001);
        var usage = body.GetProperty("usage");
        var tokens = SimHost.SharedTokenizer.CountTokens(text);
        Assert.Equal(tokens, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(tokens, usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("completion_tokens").GetInt32());

        var (_, base64Body) = await fixture.Host.Client.PostJsonAsync("/v1/embeddings", $$"""{"input":["{{text}}"],"encoding_format":"base64"}""");
        var bytes = Convert.FromBase64String(base64Body.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        Assert.Equal(floats, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray());

        var ids = string.Join(',', SimHost.SharedTokenizer.Encode(text));
        var (_, idsBody) = await fixture.Host.Client.PostJsonAsync("/v1/embeddings", $$"""{"input":[[{{ids}}],[{{ids}}]]}""");
        Assert.Equal(2, idsBody.GetProperty("data").GetArrayLength());
        foreach (var byIds in idsBody.GetProperty("data").EnumerateArray())
        {
            Assert.Equal(floats, byIds.GetProperty("embedding").EnumerateArray().Select(v => (float)v.GetDouble()));
        }
    }

    [Theory]
    [InlineData("""{"model":"test-model"}""", "input")]
    [InlineData("""{"input":"x","encoding_format":"bytes"}""", "encoding_format")]
    [InlineData("""{"input":"x","dimensions":0}""", "dimensions")]
    [InlineData("""{"input":[]}""", "input")]
    [InlineData("""{"input":"x","model":"no-such-model"}""", "model")]
    public async Task BadRequestsNameTheField(string json, string param)
    {
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/embeddings", json);
        Assert.InRange((int)response.StatusCode, 400, 404);
        Assert.Equal(param, body.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task CountedAsAFinishedRequestWithPromptTokens()
    {
        await using var host = await SimHost.StartAsync();
        var (response, _) = await host.Client.PostJsonAsync("/v1/embeddings", """{"input":["one","two three"]}""");
        Assert.Equal(200, (int)response.StatusCode);
        var metrics = await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
            s => s.All("vllm:request_success_total", ("finished_reason", "stop")).Sum(x => x.Value) == 2, what: "two finished inputs");
        Assert.Equal(SimHost.SharedTokenizer.CountTokens("one") + SimHost.SharedTokenizer.CountTokens("two three"), metrics.Value("vllm:prompt_tokens_total"));
        Assert.Equal(0, metrics.Value("vllm:generation_tokens_total"));
    }
}
