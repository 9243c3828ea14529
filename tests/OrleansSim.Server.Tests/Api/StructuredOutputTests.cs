using System.ClientModel;
using System.Text.Json;
using Json.Schema;
using OpenAI;
using OpenAI.Chat;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>Structured outputs on POST /v1/chat/completions: response_format, structured_outputs, guided_json; answers checked by JsonSchema.Net.</summary>
public sealed class StructuredOutputTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private const string MovieSchema = """
        {"type":"object","properties":{
          "title":{"type":"string","minLength":2},
          "year":{"type":"integer","minimum":1900,"maximum":2030},
          "genre":{"type":"string","enum":["drama","comedy","horror"]},
          "cast":{"type":"array","minItems":1,"items":{"type":"object","properties":{"name":{"type":"string"},"email":{"type":"string","format":"email"},"lead":{"type":"boolean"}},"required":["name","lead"],"additionalProperties":false}},
          "released":{"type":"string","format":"date"},
          "rating":{"type":["number","null"],"minimum":0,"maximum":10}
        },"required":["title","year","genre","cast"],"additionalProperties":false}
        """;

    private static readonly JsonSchema Movie = JsonSchema.FromText(MovieSchema);

    private ChatClient Client => new("test-model", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Host.BaseUri(), "/v1") });

    private static void AssertMovie(string content)
    {
        using var doc = JsonDocument.Parse(content);
        Assert.True(Movie.Evaluate(doc.RootElement, new EvaluationOptions { RequireFormatValidation = true }).IsValid, content);
    }

    [Fact]
    public async Task JsonSchemaAnswersValidateAcrossManyRequests()
    {
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("movie", BinaryData.FromString(MovieSchema), jsonSchemaIsStrict: true),
        };
        for (var i = 0; i < 40; i++)
        {
            ChatCompletion completion = await Client.CompleteChatAsync([new UserChatMessage($"a movie #{i}")], options);
            Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
            AssertMovie(completion.Content[0].Text);
            Assert.Equal(SimHost.SharedTokenizer.CountTokens(completion.Content[0].Text), completion.Usage.OutputTokenCount);
        }
    }

    [Fact]
    public async Task StreamedJsonIsOrdinaryContentChunks()
    {
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("movie", BinaryData.FromString(MovieSchema)),
        };
        for (var i = 0; i < 10; i++)
        {
            var text = new System.Text.StringBuilder();
            await foreach (var update in Client.CompleteChatStreamingAsync([new UserChatMessage($"stream a movie #{i}")], options))
            {
                foreach (var part in update.ContentUpdate)
                {
                    text.Append(part.Text);
                }
            }

            AssertMovie(text.ToString());
        }
    }

    [Fact]
    public async Task JsonObjectAndOtherSpellingsAreHonoured()
    {
        ChatCompletion jsonObject = await Client.CompleteChatAsync([new UserChatMessage("any object")], new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat() });
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(jsonObject.Content[0].Text).RootElement.ValueKind);

        foreach (var extra in new[] { "\"structured_outputs\":{\"json\":" + MovieSchema + "}", "\"guided_json\":" + MovieSchema, "\"structured_outputs\":{\"json\":" + JsonSerializer.Serialize(MovieSchema) + "}" })
        {
            var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],""" + extra + "}");
            Assert.Equal(200, (int)response.StatusCode);
            AssertMovie(body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!);
        }

        var (_, choice) = await fixture.Host.Client.PostJsonAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"structured_outputs":{"choice":["yes","no"]}}""");
        Assert.True(choice.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString() is "yes" or "no");

        // max_tokens cuts the JSON as vLLM does: finish_reason length, an incomplete document.
        var (_, cut) = await fixture.Host.Client.PostJsonAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"max_tokens":3,"response_format":{"type":"json_schema","json_schema":{"name":"m","schema":""" + MovieSchema + "}}}");
        Assert.Equal("length", cut.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(3, cut.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task CompletionsTakeTheSameConstraints()
    {
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/completions", """{"prompt":"A movie:","max_tokens":500,"structured_outputs":{"json":""" + MovieSchema + "}}");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("stop", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        AssertMovie(body.GetProperty("choices")[0].GetProperty("text").GetString()!);

        // The default 16 tokens of /v1/completions cut a long answer, as vLLM would.
        (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/completions", """{"prompt":"A movie:","response_format":{"type":"json_schema","json_schema":{"name":"m","schema":""" + MovieSchema + "}}}");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(16, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Theory]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"m","schema":{"type":"object","properties":{"a":{"minLength":-1}}}}}""", "'response_format.json_schema.schema' is not a valid JSON schema: /properties/a/minLength", "response_format")]
    [InlineData("""{"type":"json_schema","json_schema":{"schema":{"type":"object"}}}""", "Field required: 'response_format.json_schema.name'.", "response_format")]
    [InlineData("""{"type":"xml"}""", "'response_format.type' must be", "response_format")]
    public async Task InvalidResponseFormatsAre400sNamingTheField(string format, string message, string param)
    {
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"response_format":""" + format + "}");
        Assert.StartsWith(message, Http.AssertError(response, body, 400, "BadRequestError"), StringComparison.Ordinal);
        Assert.Equal(param, body.GetProperty("error").GetProperty("param").GetString());
    }
}
