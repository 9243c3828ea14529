using System.Text.Json;
using Json.Schema;
using OrleansSim.Core.Generation;
using OrleansSim.Core.Generation.Tools;
using Xunit;

namespace OrleansSim.Core.Tests.Generation.Tools;

public sealed class ToolCallTests
{
    private static JsonElement Json(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    /// <summary>Schemas the generator must satisfy; validated by JsonSchema.Net, which shares no code with the generator.</summary>
    public static TheoryData<string> Schemas => new()
    {
        """{"type":"object","properties":{"location":{"type":"string","description":"city"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}""",
        """{"type":"object","properties":{"count":{"type":"integer","minimum":3,"maximum":7},"ratio":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1},"flag":{"type":"boolean"},"nothing":{"type":"null"}},"required":["count","ratio","flag","nothing"],"additionalProperties":false}""",
        """{"type":"object","properties":{"tags":{"type":"array","items":{"type":"string"},"minItems":2,"maxItems":4},"matrix":{"type":"array","items":{"type":"array","items":{"type":"integer"}}}},"required":["tags","matrix"]}""",
        """{"type":"object","properties":{"person":{"type":"object","properties":{"name":{"type":"string","minLength":12},"age":{"type":"integer","minimum":200},"email":{"type":"string","format":"email"},"address":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string","maxLength":3}},"required":["street","zip"]}},"required":["name","age","address"]}},"required":["person"]}""",
        """{"type":"object","$defs":{"item":{"type":"object","properties":{"sku":{"type":"string","format":"uuid"},"qty":{"type":"integer","multipleOf":5,"minimum":1}},"required":["sku","qty"]}},"properties":{"items":{"type":"array","items":{"$ref":"#/$defs/item"},"uniqueItems":true},"when":{"type":"string","format":"date-time"},"day":{"type":"string","format":"date"}},"required":["items","when","day"]}""",
        """{"type":"object","properties":{"value":{"anyOf":[{"type":"string"},{"type":"integer","maximum":-5}]},"maybe":{"type":["string","null"]},"fixed":{"const":"v1"},"choice":{"oneOf":[{"type":"boolean"},{"type":"string","enum":["x"]}]}},"required":["value","maybe","fixed","choice"]}""",
        """{"type":"object","properties":{"limit":{"type":"number","minimum":1000.5,"maximum":1000.75},"negative":{"type":"integer","maximum":-1000}},"required":["limit","negative"]}""",
    };

    [Theory]
    [MemberData(nameof(Schemas))]
    public void GeneratedValuesValidateAcrossManySeeds(string schemaText)
    {
        var schema = Json(schemaText);
        var validator = JsonSchema.FromText(schemaText);
        var options = new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true };
        var generator = new JsonValueGenerator(new ToolCallKnobs());
        for (var seed = 0; seed < 300; seed++)
        {
            var value = generator.Generate(schema, new SimRandom(seed));
            using var doc = JsonDocument.Parse(value?.ToJsonString() ?? "null");
            var result = validator.Evaluate(doc.RootElement, options);
            Assert.True(result.IsValid, $"seed {seed}: {value?.ToJsonString()}");
        }
    }

    [Fact]
    public void KnobsBoundUnconstrainedValues()
    {
        var schema = Json("""{"type":"object","properties":{"i":{"type":"integer"},"n":{"type":"number"},"a":{"type":"array","items":{"type":"integer"}},"opt":{"type":"string"},"o":{"type":"object","properties":{"x":{"type":"string"}}}},"required":["i","n","a","o"]}""");
        var knobs = new ToolCallKnobs
        {
            MinIntegerParam = 10,
            MaxIntegerParam = 12,
            MinNumberParam = 0.5,
            MaxNumberParam = 0.75,
            MinArrayParamLength = 2,
            MaxArrayParamLength = 3,
            NotRequiredParamProbability = 0,
            ObjectNotRequiredFieldProbability = 100,
        };
        var generator = new JsonValueGenerator(knobs);
        for (var seed = 0; seed < 200; seed++)
        {
            var value = generator.Generate(schema, new SimRandom(seed))!.AsObject();
            Assert.InRange((long)value["i"]!, 10, 12);
            Assert.InRange((double)value["n"]!, 0.5, 0.75);
            var a = value["a"]!.AsArray();
            Assert.InRange(a.Count, 2, 3);
            Assert.All(a, e => Assert.InRange((long)e!, 10, 12));
            Assert.False(value.ContainsKey("opt")); // optional argument, probability 0
            Assert.True(value["o"]!.AsObject().ContainsKey("x")); // optional nested field, probability 100
        }

        var always = new JsonValueGenerator(knobs with { NotRequiredParamProbability = 100, ObjectNotRequiredFieldProbability = 0 });
        var all = always.Generate(schema, new SimRandom(1))!.AsObject();
        Assert.True(all.ContainsKey("opt"));
        Assert.False(all["o"]!.AsObject().ContainsKey("x"));
    }

    private static readonly ToolFunction[] Tools =
    [
        new("get_weather", Json("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""")),
        new("add", Json("""{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]}""")),
        new("search", Json("""{"type":"object","properties":{"q":{"type":"string"},"limit":{"type":"integer","minimum":1,"maximum":10}},"required":["q"]}""")),
    ];

    [Fact]
    public void ToolChoiceDecidesWhetherAndWhatToCall()
    {
        var planner = new ToolCallPlanner(new ToolCallKnobs());
        var autoCounts = new HashSet<int>();
        for (var seed = 0; seed < 200; seed++)
        {
            Assert.Empty(planner.Plan(Tools, ToolChoiceKind.None, null, new SimRandom(seed)));

            var required = planner.Plan(Tools, ToolChoiceKind.Required, null, new SimRandom(seed));
            Assert.InRange(required.Count, 1, Tools.Length);

            var named = Assert.Single(planner.Plan(Tools, ToolChoiceKind.Named, "add", new SimRandom(seed)));
            Assert.Equal("add", named.Name);

            var auto = planner.Plan(Tools, ToolChoiceKind.Auto, null, new SimRandom(seed));
            autoCounts.Add(auto.Count);
            foreach (var call in required.Concat(auto).Append(named))
            {
                Assert.Matches("^chatcmpl-tool-[0-9a-f]{32}$", call.Id);
                var tool = Tools.Single(t => t.Name == call.Name);
                using var args = JsonDocument.Parse(call.Arguments);
                Assert.True(JsonSchema.FromText(tool.Parameters.GetRawText()).Evaluate(args.RootElement).IsValid, call.Arguments);
            }
        }

        Assert.Contains(0, autoCounts); // auto answers with text sometimes ...
        Assert.Contains(1, autoCounts); // ... and calls sometimes
        Assert.Empty(new ToolCallPlanner(new ToolCallKnobs { ExtraCallProbability = 0 }).Plan(Tools, ToolChoiceKind.Auto, null, new SimRandom(3)));
        Assert.Equal(3, new ToolCallPlanner(new ToolCallKnobs { ExtraCallProbability = 100 }).Plan(Tools, ToolChoiceKind.Auto, null, new SimRandom(3)).Count);
    }

    [Theory]
    [InlineData("""{"name":"f","description":"d","parameters":{"type":"object","properties":{"x":{"type":"string"}}}}""", null)]
    [InlineData("""{"name":"f","parameters":{"type":"object","properties":{}}}""", "tool 'f': /: Required properties [\"description\"] are not present")]
    [InlineData("""{"name":"g","description":"d","parameters":{"type":"object","properties":{"x":{"type":"strin"}}}}""", "tool 'g': /parameters/properties/x")]
    [InlineData("""{"name":"h","description":"d","parameters":{"type":"object","properties":{"x":{"type":"array"}}}}""", "tool 'h': /parameters/properties/x")]
    [InlineData("""{"name":"i","description":"d","parameters":{"type":"object","properties":{"x":{"type":"object","enum":[1]}}}}""", "tool 'i': /parameters/properties/x")]
    [InlineData("""{"name":"j","description":"d","parameters":{"type":"object"}}""", "tool 'j': /parameters")]
    [InlineData("""{"name":"k","description":"d","parameters":{"type":"object","properties":{"x":{"type":"string","enum":[1,2]}}}}""", "tool 'k': /parameters/properties/x")]
    public void ToolDefinitionsAreCheckedAgainstTheWhitelist(string function, string? error)
    {
        if (error is null)
        {
            ToolValidator.Validate(Json(function));
            return;
        }

        var e = Assert.Throws<ToolValidationException>(() => ToolValidator.Validate(Json(function)));
        Assert.StartsWith(error, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string"}}}""", true)]
    [InlineData("true", true)]
    [InlineData("""{"type":5}""", false)]
    [InlineData("""{"type":"object","properties":{"a":{"minLength":-1}}}""", false)]
    [InlineData("\"object\"", false)]
    public void RequestSchemasAreChecked(string schema, bool valid) =>
        Assert.Equal(valid, RequestSchemas.Problem(Json(schema)) is null);
}
