using System.ClientModel;
using System.Text.Json;
using OpenAI.Responses;
using OrleansSim.Core.Tokenization;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>POST /v1/responses with the OpenAI .NET SDK's Responses client and raw HTTP (event sequence, errors).</summary>
public sealed class ResponsesApiTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private ResponsesClient Client => new(new ApiKeyCredential("unused"), new ResponsesClientOptions { Endpoint = new Uri(fixture.Host.BaseUri(), "/v1") });

    private static int PromptTokens(params PromptMessage[] messages) =>
        SimHost.SharedTokenizer.Encode(SimHost.SharedTokenizer.RenderChat(messages)).Count;

    [Fact]
    public async Task SdkCreatesAResponse()
    {
        const string text = "Hello from the Responses client";
        ResponseResult response = await Client.CreateResponseAsync(
            new CreateResponseOptions("test-model", [ResponseItem.CreateUserMessageItem(text)]) { Instructions = "Be terse.", MaxOutputTokenCount = 100 },
            TestContext.Current.CancellationToken);

        Assert.Equal(text, response.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.StartsWith("resp_", response.Id, StringComparison.Ordinal);
        Assert.Equal("test-model", response.Model);
        var expectedInput = PromptTokens(new("system", "Be terse."), new("user", text));
        Assert.Equal(expectedInput, response.Usage.InputTokenCount);
        Assert.Equal(SimHost.SharedTokenizer.CountTokens(text), response.Usage.OutputTokenCount);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task SdkStreamsDeltasAndTheCompletedResponse()
    {
        const string text = "streaming through the Responses client";
        var deltas = new System.Text.StringBuilder();
        ResponseResult? completed = null;
        var sequence = new List<int>();
        await foreach (var update in await Client.CreateResponseStreamingAsync(
            new CreateResponseOptions("test-model", [ResponseItem.CreateUserMessageItem(text)]) { MaxOutputTokenCount = 100, StreamingEnabled = true },
            TestContext.Current.CancellationToken))
        {
            sequence.Add(update.SequenceNumber);
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                deltas.Append(delta.Delta);
            }
            else if (update is StreamingResponseCompletedUpdate done)
            {
                completed = done.Response;
            }
        }

        Assert.Equal(text, deltas.ToString());
        Assert.NotNull(completed);
        Assert.Equal(text, completed!.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, completed.Status);
        Assert.Equal(SimHost.SharedTokenizer.CountTokens(text), completed.Usage.OutputTokenCount);
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
    }

    [Fact]
    public async Task BodyHasVllmShape()
    {
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/responses",
            """{"input":"one two three","instructions":"Be terse.","metadata":{"team":"a"},"temperature":0.5}""");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(
            ["id", "created_at", "incomplete_details", "instructions", "metadata", "model", "object", "output", "parallel_tool_calls", "temperature",
             "tool_choice", "tools", "top_p", "background", "max_output_tokens", "max_tool_calls", "previous_response_id", "prompt", "reasoning",
             "service_tier", "status", "text", "top_logprobs", "truncation", "usage", "user", "input_messages", "output_messages"],
            body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("response", body.GetProperty("object").GetString());
        Assert.Equal("Be terse.", body.GetProperty("instructions").GetString());
        Assert.Equal("""{"team":"a"}""", body.GetProperty("metadata").GetRawText());
        Assert.Equal(0.5, body.GetProperty("temperature").GetDouble());
        var prompt = PromptTokens(new("system", "Be terse."), new("user", "one two three"));
        Assert.Equal(fixture.Host.Options.MaxModelLen - prompt, body.GetProperty("max_output_tokens").GetInt32()); // the room left
        var item = Assert.Single(body.GetProperty("output").EnumerateArray());
        Assert.Equal(["id", "content", "role", "status", "type"], item.EnumerateObject().Select(p => p.Name));
        Assert.StartsWith("msg_", item.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("""{"annotations":[],"text":"one two three","type":"output_text","logprobs":null}""", Assert.Single(item.GetProperty("content").EnumerateArray()).GetRawText());
        var usage = body.GetProperty("usage");
        Assert.Equal(prompt, usage.GetProperty("input_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt32());
        Assert.Equal(prompt + usage.GetProperty("output_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task InputItemsAndALimitedOutput()
    {
        const string json = """
            {"input":[
               {"role":"user","content":[{"type":"input_text","text":"What is the weather?"}]},
               {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
               {"type":"function_call_output","call_id":"call_1","output":"18 C"},
               {"type":"message","role":"user","content":"alpha beta gamma delta"}],
             "max_output_tokens":2}
            """;
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/responses", json);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("incomplete", body.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", body.GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal(2, body.GetProperty("max_output_tokens").GetInt32());
        Assert.Equal(2, body.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal("alpha beta", body.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task StreamSendsVllmsEventSequence()
    {
        using var response = await fixture.Host.Client.PostStreamAsync("/v1/responses", """{"input":"framed event stream","stream":true}""");
        Assert.Equal(200, (int)response.StatusCode);
        var events = await Sse.ReadAllAsync(response, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(events, e => e.IsDone);
        var tokens = SimHost.SharedTokenizer.SplitTokens("framed event stream");
        string[] expected =
        [
            "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            .. tokens.Select(_ => "response.output_text.delta"),
            "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
        ];
        Assert.Equal(expected, events.Select(e => e.Name));
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Equal(events[i].Name, events[i].Json.GetProperty("type").GetString());
            Assert.Equal(i, events[i].Json.GetProperty("sequence_number").GetInt32());
        }

        var created = events[0].Json.GetProperty("response");
        Assert.Equal("in_progress", created.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("usage").ValueKind);
        Assert.Equal(0, created.GetProperty("output").GetArrayLength());
        var itemId = events[2].Json.GetProperty("item").GetProperty("id").GetString();
        Assert.All(events.Skip(3).Take(tokens.Count + 3), e => Assert.Equal(itemId, e.Json.GetProperty("item_id").GetString()));
        Assert.Equal(tokens, events.Where(e => e.Name == "response.output_text.delta").Select(e => e.Json.GetProperty("delta").GetString()));
        Assert.Equal("framed event stream", events[^4].Json.GetProperty("text").GetString());
        var final = events[^1].Json.GetProperty("response");
        Assert.Equal("completed", final.GetProperty("status").GetString());
        Assert.Equal(created.GetProperty("id").GetString(), final.GetProperty("id").GetString());
        Assert.Equal(itemId, final.GetProperty("output")[0].GetProperty("id").GetString());
        Assert.Equal(tokens.Count, final.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    private const string WeatherTool =
        """{"type":"function","name":"get_weather","description":"Weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}""";

    [Fact]
    public async Task SdkGetsOneFunctionCall()
    {
        var options = new CreateResponseOptions("test-model", [ResponseItem.CreateUserMessageItem("Weather in Paris?")])
        {
            ToolChoice = ResponseToolChoice.CreateRequiredChoice(),
        };
        options.Tools.Add(ResponseTool.CreateFunctionTool("get_weather",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""), null, "Weather of a city"));
        ResponseResult response = await Client.CreateResponseAsync(options, TestContext.Current.CancellationToken);

        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(response.OutputItems));
        Assert.Equal("get_weather", call.FunctionName);
        Assert.StartsWith("call_", call.CallId, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.String, JsonDocument.Parse(call.FunctionArguments.ToString()).RootElement.GetProperty("city").ValueKind);
        Assert.Equal(ResponseStatus.Completed, response.Status);
    }

    [Fact]
    public async Task FunctionCallStreamsVllmsEvents()
    {
        using var response = await fixture.Host.Client.PostStreamAsync("/v1/responses",
            $$$"""{"input":"Weather?","stream":true,"tools":[{{{WeatherTool}}}],"tool_choice":{"type":"function","name":"get_weather"}}""");
        var events = await Sse.ReadAllAsync(response, TestContext.Current.CancellationToken);
        var names = events.Select(e => e.Name).ToList();
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added"], names[..3]);
        Assert.Equal(["response.function_call_arguments.done", "response.output_item.done", "response.completed"], names[^3..]);
        Assert.All(names[3..^3], n => Assert.Equal("response.function_call_arguments.delta", n));
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Equal(i, events[i].Json.GetProperty("sequence_number").GetInt32());
        }

        var added = events[2].Json.GetProperty("item");
        Assert.Equal(["arguments", "call_id", "name", "type", "id", "status"], added.EnumerateObject().Select(p => p.Name));
        Assert.Equal("", added.GetProperty("arguments").GetString());
        Assert.Equal("in_progress", added.GetProperty("status").GetString());
        var arguments = string.Concat(events.Where(e => e.Name == "response.function_call_arguments.delta").Select(e => e.Json.GetProperty("delta").GetString()));
        Assert.Equal(arguments, events[^3].Json.GetProperty("arguments").GetString());
        Assert.Equal(JsonValueKind.String, JsonDocument.Parse(arguments).RootElement.GetProperty("city").ValueKind);
        var final = events[^1].Json.GetProperty("response");
        var item = Assert.Single(final.GetProperty("output").EnumerateArray());
        Assert.Equal("function_call", item.GetProperty("type").GetString());
        Assert.Equal(added.GetProperty("id").GetString(), item.GetProperty("id").GetString());
        Assert.Equal(arguments, item.GetProperty("arguments").GetString());
        Assert.Equal("get_weather", final.GetProperty("tools")[0].GetProperty("name").GetString());
        Assert.Equal("get_weather", final.GetProperty("tool_choice").GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("""{"input":"x","tools":[TOOL],"tool_choice":{"type":"function","name":"other"}}""", "tool_choice")]
    [InlineData("""{"input":"x","tools":[TOOL],"tool_choice":"sometimes"}""", "tool_choice")]
    [InlineData("""{"input":"x","tools":[{"type":"function","name":"f","parameters":{"type":"object","properties":{"a":{"oneOf":[]}}}}]}""", "tools")]
    public async Task BadToolsGetVllmErrors(string json, string param)
    {
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/responses", json.Replace("TOOL", WeatherTool, StringComparison.Ordinal));
        Http.AssertError(response, body, 400, "BadRequestError");
        Assert.Equal(param, body.GetProperty("error").GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("""{"model":"test-model"}""", 400, "input", "BadRequestError")]
    [InlineData("""{"input":5}""", 400, "input", "BadRequestError")]
    [InlineData("""{"input":[]}""", 400, "input", "BadRequestError")]
    [InlineData("""{"input":[{"type":"message","role":"robot","content":"x"}]}""", 400, "input", "BadRequestError")]
    [InlineData("""{"input":[{"type":"web_search_call"}]}""", 400, "input", "BadRequestError")]
    [InlineData("""{"input":"x","max_output_tokens":0}""", 400, "max_output_tokens", "BadRequestError")]
    [InlineData("""{"input":"x","top_p":2}""", 400, "top_p", "BadRequestError")]
    [InlineData("""{"input":"x","model":"no-such-model"}""", 404, "model", "NotFoundError")]
    public async Task BadRequestsGetVllmErrors(string json, int status, string param, string type)
    {
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/responses", json);
        Http.AssertError(response, body, status, type);
        Assert.Equal(param, body.GetProperty("error").GetProperty("param").GetString());
    }

    private const string PersonFormat =
        """{"format":{"type":"json_schema","name":"person","strict":true,"schema":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":120}},"required":["name","age"],"additionalProperties":false}}}""";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TextFormatJsonSchemaConstrainsTheOutputAndIsEchoed(bool stream)
    {
        var json = $$"""{"model":"test-model","input":"Describe a person.","stream":{{(stream ? "true" : "false")}},"text":{{PersonFormat}}}""";
        JsonElement final;
        if (stream)
        {
            using var response = await fixture.Host.Client.PostStreamAsync("/v1/responses", json);
            var events = await Sse.ReadAllAsync(response, TestContext.Current.CancellationToken);
            Assert.Equal("response.completed", events[^1].Name);
            final = events[^1].Json.GetProperty("response");
            Assert.Equal(final.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString(),
                string.Concat(events.Where(e => e.Name == "response.output_text.delta").Select(e => e.Json.GetProperty("delta").GetString())));
        }
        else
        {
            (var response, final) = await fixture.Host.Client.PostJsonAsync("/v1/responses", json);
            Assert.Equal(200, (int)response.StatusCode);
        }

        // Echo mode would repeat the prompt: the schema decides the text instead.
        var text = final.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString()!;
        var person = JsonDocument.Parse(text).RootElement;
        Assert.Equal(["age", "name"], person.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(JsonValueKind.String, person.GetProperty("name").ValueKind);
        Assert.InRange(person.GetProperty("age").GetInt32(), 0, 120);
        Assert.Equal(JsonDocument.Parse(PersonFormat).RootElement.GetRawText(), final.GetProperty("text").GetRawText());
    }

    [Theory]
    [InlineData("""{"format":{"type":"json_object"}}""", 501, "NotImplementedError", null)]
    [InlineData("""{"format":{"type":"json_schema","schema":{"type":"object"}}}""", 400, "BadRequestError", "text")]
    [InlineData("""{"format":{"type":"json_schema","name":"x"}}""", 400, "BadRequestError", "text")]
    [InlineData("""{"format":{"type":"json_schema","name":"x","schema":{"type":"nonsense"}}}""", 400, "BadRequestError", "text")]
    [InlineData("""{"format":{"type":"yaml"}}""", 400, "BadRequestError", "text")]
    [InlineData("""{"format":"json"}""", 400, "BadRequestError", "text.format")]
    public async Task BadTextFormatsGetVllmErrors(string text, int status, string type, string? param)
    {
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/responses", $$"""{"model":"test-model","input":"x","text":{{text}}}""");
        Http.AssertError(response, body, status, type);
        Assert.Equal(param, body.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task TextFormatTextConstrainsNothing()
    {
        var (_, body) = await fixture.Host.Client.PostJsonAsync("/v1/responses", """{"model":"test-model","input":"plain words","text":{"format":{"type":"text"}}}""");
        Assert.Equal("plain words", body.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("text", body.GetProperty("text").GetProperty("format").GetProperty("type").GetString());
    }

    [Fact]
    public async Task PromptOverTheContextWindowIsVllmsInvalidRequest()
    {
        var long_ = string.Join(' ', Enumerable.Repeat("word", fixture.Host.Options.MaxModelLen + 10));
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/responses", JsonSerializer.Serialize(new { input = long_ }));
        var message = Http.AssertError(response, body, 400, "invalid_request_error");
        Assert.StartsWith("The engine prompt length ", message, StringComparison.Ordinal);
        Assert.EndsWith($"exceeds the max_model_len {fixture.Host.Options.MaxModelLen}. Please reduce prompt.", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CountedInVllmMetrics()
    {
        await using var host = await SimHost.StartAsync();
        var (response, body) = await host.Client.PostJsonAsync("/v1/responses", """{"input":"count me in"}""");
        Assert.Equal(200, (int)response.StatusCode);
        var metrics = await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
            s => s.All("vllm:request_success_total", ("finished_reason", "stop")).Sum(x => x.Value) == 1, what: "one finished request");
        Assert.Equal(body.GetProperty("usage").GetProperty("input_tokens").GetInt32(), metrics.Value("vllm:prompt_tokens_total"));
        Assert.Equal(body.GetProperty("usage").GetProperty("output_tokens").GetInt32(), metrics.Value("vllm:generation_tokens_total"));
    }
}
