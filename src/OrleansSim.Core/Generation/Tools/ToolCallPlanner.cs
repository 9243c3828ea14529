using System.Text.Json;

namespace OrleansSim.Core.Generation.Tools;

/// <summary>One generated call: vLLM's id (<c>chatcmpl-tool-</c> + 32 hex digits), the function and its arguments (a JSON string).</summary>
public sealed record GeneratedToolCall(string Id, string Name, string Arguments);

/// <summary>
/// Decides the tool calls of one choice (llm-d-inference-sim's createToolCalls): <c>none</c> never calls; <c>auto</c>
/// starts at 0 calls and <c>required</c> at 1, each adding one more call with <see cref="ToolCallKnobs.ExtraCallProbability"/>
/// until a roll fails or there are as many calls as tools (so <c>auto</c> answers with text 100 − p % of the time);
/// a named function is called exactly once. Each call picks a tool at random (a tool may be called twice) and gets
/// arguments that validate against its parameter schema.
/// </summary>
public sealed class ToolCallPlanner(ToolCallKnobs knobs)
{
    private readonly JsonValueGenerator _values = new(knobs);

    public IReadOnlyList<GeneratedToolCall> Plan(IReadOnlyList<ToolFunction> tools, ToolChoiceKind choice, string? named, SimRandom random)
    {
        ArgumentNullException.ThrowIfNull(tools);
        ArgumentNullException.ThrowIfNull(random);
        if (choice == ToolChoiceKind.None || tools.Count == 0)
        {
            return [];
        }

        var available = choice == ToolChoiceKind.Named ? tools.Where(t => t.Name == named).Take(1).ToList() : [.. tools];
        if (available.Count == 0)
        {
            return [];
        }

        var count = choice == ToolChoiceKind.Auto ? 0 : 1;
        while (count < available.Count && random.Next(100) < knobs.ExtraCallProbability)
        {
            count++;
        }

        var calls = new List<GeneratedToolCall>(count);
        for (var i = 0; i < count; i++)
        {
            var tool = available[random.Next(available.Count)];
            var arguments = _values.Generate(tool.Parameters, random, topLevel: true);
            var id = new byte[16];
            random.NextBytes(id);
            calls.Add(new GeneratedToolCall("chatcmpl-tool-" + Convert.ToHexStringLower(id), tool.Name, arguments?.ToJsonString(CompactJson) ?? "{}"));
        }

        return calls;
    }

    private static readonly JsonSerializerOptions CompactJson = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
