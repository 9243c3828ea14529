namespace OrleansSim.Core.Generation.Tools;

/// <summary>
/// What a request lets the model call, whatever API surface it came through (chat <c>tools</c>/<c>tool_choice</c>,
/// Anthropic <c>tools</c>, Responses <c>tools</c>): the function tools and how they may be chosen.
/// </summary>
/// <param name="Tools">The function tools, in request order.</param>
/// <param name="Choice"><c>none</c>, <c>auto</c>, <c>required</c> or a named function.</param>
/// <param name="Named">The function <see cref="ToolChoiceKind.Named"/> forces; null otherwise.</param>
public sealed record ToolCallRequest(IReadOnlyList<ToolFunction> Tools, ToolChoiceKind Choice, string? Named = null)
{
    /// <summary>
    /// The most calls one answer may make: 1 with chat's <c>parallel_tool_calls: false</c> (vLLM keeps the first call)
    /// or for surfaces that take one call per turn; null = no limit beyond the planner's own.
    /// </summary>
    public int? MaxCalls { get; init; }
}

/// <summary>How a request constrains its text answer (vLLM structured outputs).</summary>
public enum StructuredOutputKind
{
    /// <summary>One JSON object, any shape (<c>response_format: {"type": "json_object"}</c>).</summary>
    JsonObject,

    /// <summary>A JSON value that validates against <see cref="StructuredOutput.Schema"/>.</summary>
    JsonSchema,

    /// <summary>Exactly one of <see cref="StructuredOutput.Choices"/> (<c>structured_outputs.choice</c>, <c>guided_choice</c>).</summary>
    Choice,
}

/// <summary>A structured-output constraint of one request (surface-neutral).</summary>
public sealed record StructuredOutput(StructuredOutputKind Kind)
{
    /// <summary>The schema of <see cref="StructuredOutputKind.JsonSchema"/>; already checked to be a valid JSON Schema.</summary>
    public System.Text.Json.JsonElement Schema { get; init; }

    /// <summary>The strings of <see cref="StructuredOutputKind.Choice"/>.</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];
}
