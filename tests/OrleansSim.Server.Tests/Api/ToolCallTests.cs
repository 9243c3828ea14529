using System.ClientModel;
using System.Text.Json;
using Json.Schema;
using OpenAI;
using OpenAI.Chat;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>
/// Tool calls on POST /v1/chat/completions through the OpenAI .NET SDK (and raw HTTP for wire details): arguments are
/// checked by JsonSchema.Net against each tool's parameters, streamed deltas are reassembled by the SDK's streaming API.
/// </summary>
public sealed class ToolCallTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private const string WeatherSchema = """{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city"]}""";
    private const string BookingSchema = """{"type":"object","properties":{"guests":{"type":"array","minItems":1,"maxItems":3,"items":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":120},"vip":{"type":"boolean"}},"required":["name","age"]}},"nights":{"type":"number","minimum":1,"maximum":14},"note":{"type":"string","maxLength":20}},"required":["guests","nights"]}""";

    private static readonly Dictionary<string, JsonSchema> Schemas = new()
    {
        ["get_weather"] = JsonSchema.FromText(WeatherSchema),
        ["book_room"] = JsonSchema.FromText(BookingSchema),
    };

    private ChatClient Client => new("test-model", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Host.BaseUri(), "/v1") });

    private static ChatCompletionOptions Options(ChatToolChoice? choice)
    {
        var options = new ChatCompletionOptions { ToolChoice = choice };
        options.Tools.Add(ChatTool.CreateFunctionTool("get_weather", "The weather in a city", BinaryData.FromString(WeatherSchema)));
        options.Tools.Add(ChatTool.CreateFunctionTool("book_room", "Books a hotel room", BinaryData.FromString(BookingSchema)));
        return options;
    }

    private static void AssertValidArguments(string name, string arguments)
    {
        Assert.True(Schemas.ContainsKey(name), name);
        using var doc = JsonDocument.Parse(arguments);
        var result = Schemas[name].Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"{name}({arguments})");
    }

    [Fact]
    public async Task RequiredCallsCarryArgumentsThatValidateAcrossManyRequests()
    {
        var names = new HashSet<string>();
        for (var i = 0; i < 40; i++)
        {
            ChatCompletion completion = await Client.CompleteChatAsync([new UserChatMessage($"plan a trip #{i}")], Options(ChatToolChoice.CreateRequiredChoice()));
            Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
            Assert.NotEmpty(completion.ToolCalls);
            var tokens = 0;
            foreach (var call in completion.ToolCalls)
            {
                Assert.Matches("^chatcmpl-tool-[0-9a-f]{32}$", call.Id);
                Assert.Equal(ChatToolCallKind.Function, call.Kind);
                AssertValidArguments(call.FunctionName, call.FunctionArguments.ToString());
                names.Add(call.FunctionName);
                tokens += 1 + SimHost.SharedTokenizer.SplitTokens(call.FunctionArguments.ToString()).Count;
            }

            // Each call costs one token for its header plus its arguments' tokens.
            Assert.Equal(tokens, completion.Usage.OutputTokenCount);
        }

        Assert.Equal(2, names.Count); // both tools get called
    }

    [Fact]
    public async Task EveryToolChoiceIsHonoured()
    {
        // none: never a call, the echo-mode text answer.
        ChatCompletion none = await Client.CompleteChatAsync([new UserChatMessage("no tools please")], Options(ChatToolChoice.CreateNoneChoice()));
        Assert.Empty(none.ToolCalls);
        Assert.Equal("no tools please", none.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, none.FinishReason);

        // named: exactly one call of that function; vLLM (as OpenAI) finishes a named call with "stop".
        for (var i = 0; i < 10; i++)
        {
            ChatCompletion named = await Client.CompleteChatAsync([new UserChatMessage("book it")], Options(ChatToolChoice.CreateFunctionChoice("book_room")));
            var call = Assert.Single(named.ToolCalls);
            Assert.Equal("book_room", call.FunctionName);
            AssertValidArguments(call.FunctionName, call.FunctionArguments.ToString());
            Assert.Equal(ChatFinishReason.Stop, named.FinishReason);
        }

        // auto (also the default with tools): sometimes text, sometimes calls (55 % / 45 % with the default knob).
        var text = 0;
        var calls = 0;
        for (var i = 0; i < 40; i++)
        {
            ChatCompletion auto = await Client.CompleteChatAsync([new UserChatMessage("maybe a tool")], Options(i % 2 == 0 ? ChatToolChoice.CreateAutoChoice() : null));
            if (auto.ToolCalls.Count == 0)
            {
                text++;
                Assert.Equal("maybe a tool", auto.Content[0].Text);
                Assert.Equal(ChatFinishReason.Stop, auto.FinishReason);
            }
            else
            {
                calls++;
                Assert.Equal(ChatFinishReason.ToolCalls, auto.FinishReason);
                Assert.Empty(auto.Content);
                Assert.All(auto.ToolCalls, c => AssertValidArguments(c.FunctionName, c.FunctionArguments.ToString()));
            }
        }

        Assert.True(text > 0 && calls > 0, $"text {text}, calls {calls}");
    }

    [Fact]
    public async Task StreamedDeltasReassembleIntoValidCalls()
    {
        for (var i = 0; i < 15; i++)
        {
            var ids = new Dictionary<int, string>();
            var names = new Dictionary<int, string>();
            var arguments = new Dictionary<int, System.Text.StringBuilder>();
            ChatFinishReason? finish = null;
            ChatTokenUsage? usage = null;
            var chunks = 0;
            var options = Options(ChatToolChoice.CreateRequiredChoice());
            await foreach (var update in Client.CompleteChatStreamingAsync([new UserChatMessage($"stream a call #{i}")], options))
            {
                foreach (var delta in update.ToolCallUpdates)
                {
                    chunks++;
                    if (delta.ToolCallId is { } id)
                    {
                        Assert.False(ids.ContainsKey(delta.Index)); // the id comes once, in the call's first delta
                        ids[delta.Index] = id;
                        names[delta.Index] = delta.FunctionName;
                        arguments[delta.Index] = new System.Text.StringBuilder();
                    }

                    arguments[delta.Index].Append(delta.FunctionArgumentsUpdate?.ToString());
                }

                Assert.All(update.ContentUpdate, part => Assert.Equal("", part.Text)); // only the role chunk's empty content
                finish ??= update.FinishReason;
                usage ??= update.Usage;
            }

            Assert.Equal(ChatFinishReason.ToolCalls, finish);
            Assert.NotEmpty(ids);
            Assert.Equal(Enumerable.Range(0, ids.Count), ids.Keys.Order());
            foreach (var (index, name) in names)
            {
                Assert.Matches("^chatcmpl-tool-[0-9a-f]{32}$", ids[index]);
                AssertValidArguments(name, arguments[index].ToString());
            }

            Assert.Equal(chunks, usage!.OutputTokenCount); // one chunk per token
        }
    }

    [Fact]
    public async Task StreamWireCarriesVllmDeltaShapesAndTheFinishOnTheLastArgumentChunk()
    {
        var body = """{"model":"test-model","stream":true,"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function","function":{"name":"get_weather"}},"tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":""" + WeatherSchema + "}}]}";
        using var response = await fixture.Host.Client.PostStreamAsync("/v1/chat/completions", body);
        var events = await Sse.ReadAllAsync(response);
        Assert.True(events[^1].IsDone);
        var deltas = events.SkipLast(1).Select(e => e.Json.GetProperty("choices")[0]).ToList();
        Assert.Equal("assistant", deltas[0].GetProperty("delta").GetProperty("role").GetString());
        var opening = deltas[1].GetProperty("delta").GetProperty("tool_calls")[0];
        Assert.Equal(["id", "type", "index", "function"], opening.EnumerateObject().Select(p => p.Name)); // vLLM's DeltaToolCall order
        Assert.Equal(0, opening.GetProperty("index").GetInt32());
        Assert.Equal("function", opening.GetProperty("type").GetString());
        Assert.Equal("get_weather", opening.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("", opening.GetProperty("function").GetProperty("arguments").GetString());
        Assert.StartsWith("chatcmpl-tool-", opening.GetProperty("id").GetString(), StringComparison.Ordinal);
        for (var k = 2; k < deltas.Count; k++)
        {
            var call = deltas[k].GetProperty("delta").GetProperty("tool_calls")[0];
            Assert.False(call.TryGetProperty("id", out _));
            Assert.False(call.GetProperty("function").TryGetProperty("name", out _));
            Assert.Equal(k == deltas.Count - 1 ? "stop" : null, deltas[k].GetProperty("finish_reason").GetString());
        }

        AssertValidArguments("get_weather", string.Concat(deltas.Skip(2).Select(d => d.GetProperty("delta").GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString())));
    }

    [Fact]
    public async Task ToolCallsAreDeterministicWithASeedAndCutByMaxTokens()
    {
        var body = """{"model":"test-model","seed":7,"messages":[{"role":"user","content":"x"}],"tool_choice":"required","tools":[{"type":"function","function":{"name":"book_room","description":"d","parameters":""" + BookingSchema + "}}]}";
        var (_, first) = await fixture.Host.Client.PostJsonAsync("/v1/chat/completions", body);
        var (_, second) = await fixture.Host.Client.PostJsonAsync("/v1/chat/completions", body);
        var calls = first.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls");
        Assert.Equal(calls.GetRawText(), second.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls").GetRawText());
        Assert.Equal("", first.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()); // vLLM: required → ""

        // max_tokens cuts the arguments (as vLLM would stop generating): finish_reason length, exactly max_tokens tokens.
        var (_, cut) = await fixture.Host.Client.PostJsonAsync("/v1/chat/completions", body.Replace("\"seed\":7", "\"seed\":7,\"max_tokens\":4", StringComparison.Ordinal));
        var choice = cut.GetProperty("choices")[0];
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(4, cut.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var partial = choice.GetProperty("message").GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString()!;
        Assert.StartsWith(partial, calls[0].GetProperty("function").GetProperty("arguments").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ParallelToolCallsFalseKeepsOneCallPerChoiceAndChoicesStreamApart()
    {
        // n = 2, streamed: each choice's deltas carry its own index; parallel_tool_calls false caps every answer at one call.
        await using var host = await SimHost.StartAsync(o => o with { ToolCalls = o.ToolCalls with { ExtraCallProbability = 100 } });
        var body = """{"model":"test-model","stream":true,"n":2,"parallel_tool_calls":false,"messages":[{"role":"user","content":"x"}],"tool_choice":"required","tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":""" + WeatherSchema
            + """}},{"type":"function","function":{"name":"book_room","description":"d","parameters":""" + BookingSchema + "}}]}";
        using var response = await host.Client.PostStreamAsync("/v1/chat/completions", body);
        var events = await Sse.ReadAllAsync(response);
        var arguments = new Dictionary<int, System.Text.StringBuilder>();
        var names = new Dictionary<int, string>();
        foreach (var e in events.Where(e => !e.IsDone))
        {
            var choice = e.Json.GetProperty("choices")[0];
            if (!choice.GetProperty("delta").TryGetProperty("tool_calls", out var calls))
            {
                continue;
            }

            var call = Assert.Single(calls.EnumerateArray());
            Assert.Equal(0, call.GetProperty("index").GetInt32()); // one call per choice
            var c = choice.GetProperty("index").GetInt32();
            if (call.TryGetProperty("id", out _))
            {
                Assert.False(names.ContainsKey(c));
                names[c] = call.GetProperty("function").GetProperty("name").GetString()!;
                arguments[c] = new System.Text.StringBuilder();
            }

            arguments[c].Append(call.GetProperty("function").GetProperty("arguments").GetString());
        }

        Assert.Equal([0, 1], names.Keys.Order());
        foreach (var (c, name) in names)
        {
            AssertValidArguments(name, arguments[c].ToString());
        }
    }

    [Fact]
    public async Task TheServerSeedReproducesTheCallsOfARequestSequence()
    {
        const string body = """{"messages":[{"role":"user","content":"x"}],"tool_choice":"auto","tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":""" + WeatherSchema + "}}]}";
        async Task<List<string>> RunAsync()
        {
            await using var host = await SimHost.StartAsync(o => o with { Seed = 1234 });
            var answers = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                var (_, json) = await host.Client.PostJsonAsync("/v1/chat/completions", body);
                answers.Add(json.GetProperty("choices")[0].GetProperty("message").GetRawText());
            }

            return answers;
        }

        var first = await RunAsync();
        Assert.Equal(first, await RunAsync()); // --seed: same request order, same calls, ids and arguments
    }

    [Fact]
    public async Task ToolHistoryIsAcceptedAndCountsTowardPromptTokens()
    {
        List<ChatMessage> history =
        [
            new UserChatMessage("weather in Paris?"),
            new AssistantChatMessage([ChatToolCall.CreateFunctionToolCall("call_1", "get_weather", BinaryData.FromString("""{"city":"Paris"}"""))]),
            new ToolChatMessage("call_1", """{"temperature":21}"""),
        ];
        ChatCompletion withHistory = await Client.CompleteChatAsync(history, Options(ChatToolChoice.CreateNoneChoice()));
        ChatCompletion plain = await Client.CompleteChatAsync([new UserChatMessage("weather in Paris?")], Options(ChatToolChoice.CreateNoneChoice()));
        ChatCompletion noTools = await Client.CompleteChatAsync([new UserChatMessage("weather in Paris?")]);
        Assert.True(withHistory.Usage.InputTokenCount > plain.Usage.InputTokenCount + SimHost.SharedTokenizer.CountTokens("""{"city":"Paris"}{"temperature":21}""") - 1);
        Assert.True(plain.Usage.InputTokenCount > noTools.Usage.InputTokenCount + 50); // the tool definitions are part of the prompt
    }

    [Fact]
    public async Task InvalidToolsAndToolChoicesAre400s()
    {
        const string messages = "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]";
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/chat/completions",
            "{" + messages + ""","tools":[{"type":"function","function":{"name":"broken","description":"d","parameters":{"type":"object","properties":{"x":{"type":"strin"}}}}}]}""");
        var message = Http.AssertError(response, body, 400, "BadRequestError");
        Assert.StartsWith("Tool validation failed: tool 'broken': /parameters/properties/x", message, StringComparison.Ordinal);
        Assert.Equal("tools", body.GetProperty("error").GetProperty("param").GetString());

        (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/chat/completions",
            "{" + messages + ""","tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{}}}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""");
        Assert.Equal("The tool specified in `tool_choice` does not match any of the specified `tools`", Http.AssertError(response, body, 400, "BadRequestError"));

        (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/chat/completions", "{" + messages + ""","tool_choice":"required"}""");
        Assert.Equal("When using `tool_choice`, `tools` must be set.", Http.AssertError(response, body, 400, "BadRequestError"));

        (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/chat/completions",
            "{" + messages + ""","tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{}}}}],"tool_choice":"sometimes"}""");
        Assert.StartsWith("Invalid value for `tool_choice`: sometimes!", Http.AssertError(response, body, 400, "BadRequestError"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SkipToolValidationAcceptsToolsOutsideTheWhitelist()
    {
        await using var host = await SimHost.StartAsync(o => o with { SkipToolValidation = true, ToolCalls = o.ToolCalls with { MinIntegerParam = 500, MaxIntegerParam = 505 } });
        var (response, body) = await host.Client.PostJsonAsync("/v1/chat/completions",
            """{"messages":[{"role":"user","content":"x"}],"tool_choice":"required","tools":[{"type":"function","function":{"name":"count","parameters":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],"$comment":"outside the whitelist"}}}]}""");
        Assert.Equal(200, (int)response.StatusCode);
        var arguments = body.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString()!;
        Assert.InRange(JsonDocument.Parse(arguments).RootElement.GetProperty("n").GetInt32(), 500, 505); // --min/max-tool-call-integer-param
    }
}
