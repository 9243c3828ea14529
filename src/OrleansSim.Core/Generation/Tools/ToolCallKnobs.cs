namespace OrleansSim.Core.Generation.Tools;

/// <summary>llm-d-inference-sim's knobs for generated tool-call arguments (and structured outputs).</summary>
public sealed record ToolCallKnobs
{
    public int MinIntegerParam { get; init; }
    public int MaxIntegerParam { get; init; } = 100;
    public double MinNumberParam { get; init; }
    public double MaxNumberParam { get; init; } = 100;
    public int MinArrayParamLength { get; init; } = 1;
    public int MaxArrayParamLength { get; init; } = 5;
    /// <summary>% chance that an optional top-level argument is present.</summary>
    public int NotRequiredParamProbability { get; init; } = 50;
    /// <summary>% chance that an optional field of a nested object is present.</summary>
    public int ObjectNotRequiredFieldProbability { get; init; } = 50;
    /// <summary>% chance of one more call (repeated until a roll fails or every tool is called once on average).</summary>
    public int ExtraCallProbability { get; init; } = 45;
}
