using System.Text.Json;
using Json.Schema;
using OrleansSim.Core.Generation;
using OrleansSim.Core.Generation.Tools;
using OrleansSim.Core.Tests.Tokenization;
using Xunit;

namespace OrleansSim.Core.Tests.Generation.Tools;

public sealed class ConstrainedOutputPlannerTests
{
    private static JsonElement Json(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private static readonly ToolFunction[] Tools =
    [
        new("get_weather", Json("""{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city"]}""")),
        new("book", Json("""{"type":"object","properties":{"guests":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name"]}}},"required":["guests"]}""")),
    ];

    private static ConstrainedOutputPlanner Planner(ToolCallKnobs? knobs = null) => new(knobs ?? new ToolCallKnobs(), SharedTokenizers.O200k);

    [Fact]
    public void ToolCallsAreLaidOutAsAHeaderStepThenTheirArgumentPieces()
    {
        var planner = Planner(new ToolCallKnobs { ExtraCallProbability = 100 });
        for (var seed = 0; seed < 50; seed++)
        {
            var text = planner.Plan(new ToolCallRequest(Tools, ToolChoiceKind.Required), null, 10_000, new SimRandom(seed))!;
            var calls = text.ToolCalls!;
            Assert.Equal(2, calls.Count); // 100 %: one more call until every tool is called once on average
            Assert.Equal("tool_calls", text.FinishReason);
            Assert.Equal(text.Tokens.Count, text.ToolCallOfStep!.Length);
            for (var i = 0; i < calls.Count; i++)
            {
                var steps = Enumerable.Range(0, text.Tokens.Count).Where(k => text.ToolCallOfStep[k] == i).ToList();
                Assert.True(text.OpensToolCall(steps[0]));
                Assert.Equal("", text.Tokens[steps[0]]);
                Assert.All(steps.Skip(1), k => Assert.False(text.OpensToolCall(k)));
                Assert.Equal(calls[i].Arguments, string.Concat(steps.Select(k => text.Tokens[k])));
                Assert.Equal(SharedTokenizers.O200k.SplitTokens(calls[i].Arguments).Count + 1, steps.Count);
                var tool = Tools.Single(t => t.Name == calls[i].Name);
                Assert.Null(RequestSchemas.Check(tool.Parameters, Json(calls[i].Arguments)));
            }
        }
    }

    [Fact]
    public void NamedCallsFinishWithStopAndAutoSometimesAnswersWithText()
    {
        var planner = Planner();
        var named = planner.Plan(new ToolCallRequest(Tools, ToolChoiceKind.Named, "book"), null, 10_000, new SimRandom(1))!;
        Assert.Equal("book", Assert.Single(named.ToolCalls!).Name);
        Assert.Equal("stop", named.FinishReason);

        var outcomes = Enumerable.Range(0, 100).Select(seed => planner.Plan(new ToolCallRequest(Tools, ToolChoiceKind.Auto), null, 10_000, new SimRandom(seed))).ToList();
        Assert.Contains(null, outcomes); // text: the text generator answers
        Assert.Contains(outcomes, o => o?.ToolCalls is { Count: > 0 });
        Assert.Null(Planner(new ToolCallKnobs { ExtraCallProbability = 0 }).Plan(new ToolCallRequest(Tools, ToolChoiceKind.Auto), null, 100, new SimRandom(1)));
    }

    [Fact]
    public void MaxTokensCutsTheCallsWithFinishReasonLength()
    {
        var planner = Planner(new ToolCallKnobs { ExtraCallProbability = 100 });
        var full = planner.Plan(new ToolCallRequest(Tools, ToolChoiceKind.Required), null, 10_000, new SimRandom(5))!;
        for (var limit = 1; limit < full.Tokens.Count; limit++)
        {
            var cut = planner.Plan(new ToolCallRequest(Tools, ToolChoiceKind.Required), null, limit, new SimRandom(5))!;
            Assert.Equal(limit, cut.Tokens.Count);
            Assert.Equal("length", cut.FinishReason);
            Assert.Equal(full.Tokens.Take(limit), cut.Tokens);
            var last = cut.ToolCalls![^1];
            Assert.StartsWith(last.Arguments, full.ToolCalls![cut.ToolCalls.Count - 1].Arguments, StringComparison.Ordinal);
            Assert.Equal(full.ToolCalls[cut.ToolCalls.Count - 1].Id, last.Id);
        }

        Assert.Equal(full.Tokens, planner.Plan(new ToolCallRequest(Tools, ToolChoiceKind.Required), null, full.Tokens.Count, new SimRandom(5))!.Tokens);
    }

    [Fact]
    public void StructuredOutputsValidateAcrossSeeds()
    {
        const string schemaText = """
            {"type":"object","properties":{"title":{"type":"string","minLength":3},"year":{"type":"integer","minimum":1900,"maximum":2030},
             "genre":{"enum":["drama","comedy"]},"cast":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"email":{"type":"string","format":"email"}},"required":["name"]},"minItems":1},
             "rating":{"type":["number","null"]},"released":{"type":"string","format":"date"}},"required":["title","year","genre","cast"],"additionalProperties":false}
            """;
        var schema = JsonSchema.FromText(schemaText);
        var options = new EvaluationOptions { RequireFormatValidation = true };
        var planner = Planner();
        var structured = new StructuredOutput(StructuredOutputKind.JsonSchema) { Schema = Json(schemaText) };
        for (var seed = 0; seed < 200; seed++)
        {
            var text = planner.Plan(null, structured, 10_000, new SimRandom(seed))!;
            Assert.Equal("stop", text.FinishReason);
            Assert.Null(text.ToolCalls);
            using var doc = JsonDocument.Parse(text.Text);
            Assert.True(schema.Evaluate(doc.RootElement, options).IsValid, text.Text);
        }

        var jsonObject = planner.Plan(null, new StructuredOutput(StructuredOutputKind.JsonObject), 10_000, new SimRandom(3))!;
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(jsonObject.Text).RootElement.ValueKind);

        var cut = planner.Plan(null, structured, 3, new SimRandom(3))!;
        Assert.Equal(("length", 3), (cut.FinishReason, cut.Tokens.Count));

        var choice = planner.Plan(null, new StructuredOutput(StructuredOutputKind.Choice) { Choices = ["yes", "no"] }, 100, new SimRandom(3))!;
        Assert.True(choice.Text is "yes" or "no", choice.Text);
    }

    [Fact]
    public void MaxCallsKeepsTheFirstCalls()
    {
        var planner = Planner(new ToolCallKnobs { ExtraCallProbability = 100 });
        var all = planner.Plan(new ToolCallRequest(Tools, ToolChoiceKind.Required), null, 10_000, new SimRandom(4))!;
        var one = planner.Plan(new ToolCallRequest(Tools, ToolChoiceKind.Required) { MaxCalls = 1 }, null, 10_000, new SimRandom(4))!;
        Assert.Equal(2, all.ToolCalls!.Count);
        Assert.Equal(all.ToolCalls[0], Assert.Single(one.ToolCalls!));
        Assert.All(one.ToolCallOfStep!, owner => Assert.Equal(0, owner));
    }

    [Fact]
    public void TheSameSeedGivesTheSameOutput()
    {
        var planner = Planner();
        var a = planner.Plan(new ToolCallRequest(Tools, ToolChoiceKind.Required), null, 10_000, new SimRandom(9))!;
        var b = planner.Plan(new ToolCallRequest(Tools, ToolChoiceKind.Required), null, 10_000, new SimRandom(9))!;
        Assert.Equal(a.ToolCalls, b.ToolCalls);
    }
}
