using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using OrleansSim.Core.Tokenization;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>POST /v1/messages with the official Anthropic .NET SDK and raw HTTP (event framing, error envelope).</summary>
public sealed class AnthropicMessagesTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private AnthropicClient Client => new() { ApiKey = "unused", BaseUrl = fixture.Host.BaseUri().ToString().TrimEnd('/'), MaxRetries = 0 };

    private static int PromptTokens(params PromptMessage[] messages) =>
        SimHost.SharedTokenizer.Encode(SimHost.SharedTokenizer.RenderChat(messages)).Count;

    [Fact]
    public async Task SdkCreatesAMessage()
    {
        const string text = "Hello from the Anthropic SDK";
        var message = await Client.Messages.Create(new MessageCreateParams
        {
            Model = "test-model",
            MaxTokens = 100,
            System = "Be terse.",
            Messages = [new UserMessageParam(text)],
        }, TestContext.Current.CancellationToken);

        var block = Assert.Single(message.Content);
        Assert.True(block.TryPickText(out var textBlock));
        Assert.Equal(text, textBlock!.Text); // echo mode repeats the last user message
        Assert.Equal(StopReason.EndTurn, message.StopReason!.Value());
        Assert.Equal("test-model", message.Model.Raw());
        Assert.StartsWith("chatcmpl-", message.ID, StringComparison.Ordinal);
        Assert.Equal(PromptTokens(new("system", "Be terse."), new("user", text)), message.Usage.InputTokens);
        Assert.Equal(SimHost.SharedTokenizer.CountTokens(text), message.Usage.OutputTokens);
    }

    [Fact]
    public async Task SdkStreamsTheEventSequence()
    {
        const string text = "streaming through the Anthropic SDK";
        var deltas = new System.Text.StringBuilder();
        long? inputTokens = null;
        long? outputTokens = null;
        StopReason? stopReason = null;
        var kinds = new List<string>();
        await foreach (var e in Client.Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "test-model",
            MaxTokens = 100,
            Messages = [new UserMessageParam(text)],
        }, TestContext.Current.CancellationToken))
        {
            if (e.TryPickStart(out var start))
            {
                kinds.Add("start");
                inputTokens = start!.Message.Usage.InputTokens;
            }
            else if (e.TryPickContentBlockStart(out _))
            {
                kinds.Add("block_start");
            }
            else if (e.TryPickContentBlockDelta(out var delta))
            {
                Assert.True(delta!.Delta.TryPickText(out var textDelta));
                deltas.Append(textDelta!.Text);
                if (kinds[^1] != "delta")
                {
                    kinds.Add("delta");
                }
            }
            else if (e.TryPickContentBlockStop(out _))
            {
                kinds.Add("block_stop");
            }
            else if (e.TryPickDelta(out var messageDelta))
            {
                kinds.Add("message_delta");
                stopReason = messageDelta!.Delta.StopReason!.Value();
                outputTokens = messageDelta.Usage.OutputTokens;
            }
            else if (e.TryPickStop(out _))
            {
                kinds.Add("stop");
            }
        }

        Assert.Equal(["start", "block_start", "delta", "block_stop", "message_delta", "stop"], kinds);
        Assert.Equal(text, deltas.ToString());
        Assert.Equal(StopReason.EndTurn, stopReason);
        Assert.Equal(PromptTokens(new PromptMessage("user", text)), inputTokens);
        Assert.Equal(SimHost.SharedTokenizer.CountTokens(text), outputTokens);
    }

    [Fact]
    public async Task SdkSurfacesErrorsWithTheirStatus()
    {
        var unknown = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Client.Messages.Create(new MessageCreateParams
        {
            Model = "no-such-model",
            MaxTokens = 10,
            Messages = [new UserMessageParam("x")],
        }, TestContext.Current.CancellationToken));
        Assert.Equal(404, (int)unknown.StatusCode);

        var tooLong = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Client.Messages.Create(new MessageCreateParams
        {
            Model = "test-model",
            MaxTokens = 1_000_000,
            Messages = [new UserMessageParam("x")],
        }, TestContext.Current.CancellationToken));
        Assert.Equal(400, (int)tooLong.StatusCode);
    }

    [Fact]
    public async Task BodyHasVllmShape()
    {
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/messages",
            """{"model":"test-model","messages":[{"role":"user","content":"one two three"}],"max_tokens":50}""");
        Assert.Equal(200, (int)response.StatusCode);
        // AnthropicMessagesResponse dumped without nulls: no stop_sequence.
        Assert.Equal(["id", "type", "role", "content", "model", "stop_reason", "usage"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("message", body.GetProperty("type").GetString());
        Assert.Equal("assistant", body.GetProperty("role").GetString());
        var block = Assert.Single(body.GetProperty("content").EnumerateArray());
        Assert.Equal("""{"type":"text","text":"one two three"}""", block.GetRawText());
        Assert.Equal(["input_tokens", "output_tokens"], body.GetProperty("usage").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task MaxTokensAndStopSequencesEndTheOutput()
    {
        var (_, cut) = await fixture.Host.Client.PostJsonAsync("/v1/messages",
            """{"model":"test-model","messages":[{"role":"user","content":"alpha beta gamma delta"}],"max_tokens":2}""");
        Assert.Equal("max_tokens", cut.GetProperty("stop_reason").GetString());
        Assert.Equal(2, cut.GetProperty("usage").GetProperty("output_tokens").GetInt32());

        // vLLM maps a matched stop string to end_turn (its converter never reports stop_sequence).
        var (_, stopped) = await fixture.Host.Client.PostJsonAsync("/v1/messages",
            """{"model":"test-model","messages":[{"role":"user","content":"alpha beta gamma delta"}],"max_tokens":50,"stop_sequences":[" gamma"]}""");
        Assert.Equal("alpha beta", stopped.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("end_turn", stopped.GetProperty("stop_reason").GetString());
    }

    [Fact]
    public async Task StreamFramesEveryEventWithItsName()
    {
        using var response = await fixture.Host.Client.PostStreamAsync("/v1/messages",
            """{"model":"test-model","messages":[{"role":"user","content":"framed event stream"}],"max_tokens":50,"stream":true}""");
        Assert.Equal(200, (int)response.StatusCode);
        var all = await Sse.ReadAllAsync(response, TestContext.Current.CancellationToken);
        // vLLM's converter ends the stream with the chat stream's unnamed [DONE] line, after message_stop.
        Assert.True(all[^1] is { IsDone: true, Name: null }, $"the last line should be an unnamed [DONE], got {all[^1].Name}: {all[^1].Data}");
        Assert.Single(all, e => e.IsDone);
        var events = all[..^1];
        foreach (var e in events)
        {
            Assert.Equal(e.Name, e.Json.GetProperty("type").GetString());
        }

        var tokens = SimHost.SharedTokenizer.SplitTokens("framed event stream");
        string[] expected = ["message_start", "content_block_start", .. tokens.Select(_ => "content_block_delta"), "content_block_stop", "message_delta", "message_stop"];
        Assert.Equal(expected, events.Select(e => e.Name));

        var start = events[0].Json.GetProperty("message");
        Assert.Equal(0, start.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(JsonValueKind.Null, start.GetProperty("stop_reason").ValueKind);
        Assert.Equal(0, start.GetProperty("content").GetArrayLength());
        Assert.Equal("""{"type":"text","text":""}""", events[1].Json.GetProperty("content_block").GetRawText());
        Assert.Equal(tokens, events.Where(e => e.Name == "content_block_delta").Select(e => e.Json.GetProperty("delta").GetProperty("text").GetString()));
        var end = events[^2].Json;
        Assert.Equal("end_turn", end.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(tokens.Count, end.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task ToolBlocksAndSystemMessagesAreAccepted()
    {
        const string json = """
            {"model":"test-model","max_tokens":50,"system":[{"type":"text","text":"Use tools."}],
             "messages":[
               {"role":"user","content":"What is the weather in Paris?"},
               {"role":"assistant","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"18 C and sunny"}]},{"type":"text","text":"Summarize it"}]}]}
            """;
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/messages", json);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("Summarize it", body.GetProperty("content")[0].GetProperty("text").GetString());
        var (_, plain) = await fixture.Host.Client.PostJsonAsync("/v1/messages",
            """{"model":"test-model","max_tokens":50,"messages":[{"role":"user","content":"Summarize it"}]}""");
        Assert.True(body.GetProperty("usage").GetProperty("input_tokens").GetInt32() > plain.GetProperty("usage").GetProperty("input_tokens").GetInt32() + 10);
    }

    private const string WeatherTool =
        """{"name":"get_weather","description":"Weather of a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}""";

    [Fact]
    public async Task ToolsAnswerWithToolUseBlocks()
    {
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/messages",
            $$"""{"model":"test-model","max_tokens":200,"tools":[{{WeatherTool}}],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"Weather in Paris?"}]}""");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("tool_use", body.GetProperty("stop_reason").GetString());
        var blocks = body.GetProperty("content").EnumerateArray().ToList();
        Assert.NotEmpty(blocks);
        foreach (var block in blocks)
        {
            Assert.Equal(["type", "id", "name", "input"], block.EnumerateObject().Select(p => p.Name));
            Assert.Equal("tool_use", block.GetProperty("type").GetString());
            Assert.StartsWith("chatcmpl-tool-", block.GetProperty("id").GetString(), StringComparison.Ordinal);
            Assert.Equal("get_weather", block.GetProperty("name").GetString());
            Assert.Equal(JsonValueKind.String, block.GetProperty("input").GetProperty("city").ValueKind);
        }

        // A named tool is called once; vLLM reports a forced call as end_turn (the chat finish reason is stop).
        var (_, named) = await fixture.Host.Client.PostJsonAsync("/v1/messages",
            $$"""{"model":"test-model","max_tokens":200,"tools":[{{WeatherTool}}],"tool_choice":{"type":"tool","name":"get_weather"},"messages":[{"role":"user","content":"Weather?"}]}""");
        Assert.Equal("end_turn", named.GetProperty("stop_reason").GetString());
        Assert.Equal("get_weather", Assert.Single(named.GetProperty("content").EnumerateArray()).GetProperty("name").GetString());

        // The tool definitions are part of the prompt.
        var (_, plain) = await fixture.Host.Client.PostJsonAsync("/v1/messages",
            """{"model":"test-model","max_tokens":200,"messages":[{"role":"user","content":"Weather?"}]}""");
        Assert.True(named.GetProperty("usage").GetProperty("input_tokens").GetInt32() > plain.GetProperty("usage").GetProperty("input_tokens").GetInt32() + 10);
    }

    [Fact]
    public async Task ToolUseStreamsAsInputJsonDeltas()
    {
        using var response = await fixture.Host.Client.PostStreamAsync("/v1/messages",
            $$"""{"model":"test-model","max_tokens":200,"stream":true,"tools":[{{WeatherTool}}],"tool_choice":{"type":"tool","name":"get_weather"},"messages":[{"role":"user","content":"Weather?"}]}""");
        var all = await Sse.ReadAllAsync(response, TestContext.Current.CancellationToken);
        Assert.True(all[^1].IsDone);
        var events = all[..^1];
        var names = events.Select(e => e.Name).ToList();
        Assert.Equal("message_start", names[0]);
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], names[^3..]);
        var start = events[1].Json;
        Assert.Equal("content_block_start", events[1].Name);
        Assert.Equal(0, start.GetProperty("index").GetInt32());
        var block = start.GetProperty("content_block");
        Assert.Equal(["type", "id", "name", "input"], block.EnumerateObject().Select(p => p.Name));
        Assert.Equal("tool_use", block.GetProperty("type").GetString());
        Assert.Equal("get_weather", block.GetProperty("name").GetString());
        Assert.Equal("{}", block.GetProperty("input").GetRawText());
        var deltas = events.Where(e => e.Name == "content_block_delta").Select(e => e.Json.GetProperty("delta")).ToList();
        Assert.NotEmpty(deltas);
        Assert.All(deltas, d => Assert.Equal("input_json_delta", d.GetProperty("type").GetString()));
        var arguments = JsonDocument.Parse(string.Concat(deltas.Select(d => d.GetProperty("partial_json").GetString()))).RootElement;
        Assert.Equal(JsonValueKind.String, arguments.GetProperty("city").ValueKind);
        Assert.Equal("end_turn", events[^2].Json.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Theory]
    [InlineData("""{"tool_choice":{"type":"tool"},"tools":[TOOL]}""", "tool_choice.name is required")]
    [InlineData("""{"tool_choice":{"type":"any"}}""", "`tools` must be set")]
    [InlineData("""{"tool_choice":{"type":"tool","name":"other"},"tools":[TOOL]}""", "does not match any of the specified `tools`")]
    [InlineData("""{"tools":[{"name":"get_weather"}]}""", "input_schema")]
    [InlineData("""{"tools":[{"name":"f","description":"d","input_schema":{"type":"object","properties":{"a":{"type":"string","oneOf":[]}}}}]}""", "Tool validation failed")]
    public async Task BadToolsAreAnthropicErrors(string fields, string messagePart)
    {
        var json = fields.Replace("TOOL", WeatherTool, StringComparison.Ordinal)[..^1] // drop the closing brace
            + ""","model":"test-model","max_tokens":20,"messages":[{"role":"user","content":"x"}]}""";
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/messages", json);
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("error", body.GetProperty("type").GetString());
        Assert.Contains(messagePart, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"x"}]}""", 400, "BadRequestError", "max_tokens")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"x"}],"max_tokens":0}""", 400, "BadRequestError", "max_tokens must be positive")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"max_tokens":5}""", 400, "BadRequestError", "model")]
    [InlineData("""{"model":"test-model","messages":[],"max_tokens":5}""", 400, "BadRequestError", "messages must contain at least one item")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":[]}],"max_tokens":5}""", 400, "BadRequestError", "message content must not be empty")]
    [InlineData("""{"model":"test-model","messages":[{"role":"robot","content":"x"}],"max_tokens":5}""", 400, "BadRequestError", "messages[0].role")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":[{"type":"video"}]}],"max_tokens":5}""", 400, "BadRequestError", "messages[0].content.type")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"x"}],"max_tokens":5,"temperature":-1}""", 400, "BadRequestError", "temperature")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"x"}],"max_tokens":5,"stop_sequences":"x"}""", 400, "BadRequestError", "stop_sequences")]
    [InlineData("""{"model":"nope","messages":[{"role":"user","content":"x"}],"max_tokens":5}""", 404, "NotFoundError", "nope")]
    public async Task ErrorsUseTheAnthropicEnvelope(string json, int status, string type, string messagePart)
    {
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/messages", json);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(["type", "error"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("error", body.GetProperty("type").GetString());
        Assert.Equal(["type", "message"], body.GetProperty("error").EnumerateObject().Select(p => p.Name));
        Assert.Equal(type, body.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains(messagePart, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CountTokensAnswersTheInputTokensACreateCounts()
    {
        var conversation = $$$"""{"model":"test-model","system":[{"type":"text","text":"You are terse."}],"tools":[{{{WeatherTool}}}],"messages":[{"role":"user","content":"How warm is Lisbon today?"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"Lisbon"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"21 degrees"}]}]}""";
        var (_, created) = await fixture.Host.Client.PostJsonAsync("/v1/messages", conversation[..^1] + ""","max_tokens":5}""");
        var expected = created.GetProperty("usage").GetProperty("input_tokens").GetInt32();
        Assert.True(expected > 20, $"input_tokens {expected}");

        using var response = await fixture.Host.Client.SendAsync(Http.Post("/v1/messages/count_tokens", conversation), TestContext.Current.CancellationToken);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal($$$"""{"input_tokens":{{{expected}}},"context_management":{"original_input_tokens":{{{expected}}}}}""",
            await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"x"}]}""", 400, "BadRequestError", "model")]
    [InlineData("""{"model":"test-model","messages":[]}""", 400, "BadRequestError", "messages must contain at least one item")]
    [InlineData("""{"model":"test-model"}""", 400, "BadRequestError", "messages")]
    [InlineData("""{"model":"nope","messages":[{"role":"user","content":"x"}]}""", 404, "NotFoundError", "nope")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"x"}],"tools":[{"name":"f"}]}""", 400, "BadRequestError", "input_schema")]
    [InlineData("""not json""", 400, "BadRequestError", "")]
    public async Task CountTokensErrorsUseTheAnthropicEnvelope(string json, int status, string type, string messagePart)
    {
        var (response, body) = await fixture.Host.Client.PostJsonAsync("/v1/messages/count_tokens", json);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("error", body.GetProperty("type").GetString());
        Assert.Equal(type, body.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains(messagePart, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReturnErrorHeaderAnswersInTheAnthropicEnvelope()
    {
        var request = Http.Post("/v1/messages", """{"model":"test-model","messages":[{"role":"user","content":"x"}],"max_tokens":5}""");
        request.Headers.Add("X-Return-Error", "429");
        using var response = await fixture.Host.Client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(429, (int)response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal("RateLimitError", body.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task CountedInVllmMetrics()
    {
        await using var host = await SimHost.StartAsync();
        var (response, body) = await host.Client.PostJsonAsync("/v1/messages",
            """{"model":"test-model","messages":[{"role":"user","content":"count me in"}],"max_tokens":50}""");
        Assert.Equal(200, (int)response.StatusCode);
        var metrics = await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
            s => s.All("vllm:request_success_total", ("finished_reason", "stop")).Sum(x => x.Value) == 1, what: "one finished request");
        Assert.Equal(body.GetProperty("usage").GetProperty("input_tokens").GetInt32(), metrics.Value("vllm:prompt_tokens_total"));
        Assert.Equal(body.GetProperty("usage").GetProperty("output_tokens").GetInt32(), metrics.Value("vllm:generation_tokens_total"));
    }
}
