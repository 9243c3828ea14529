namespace OrleansSim.Core.Generation;

/// <summary>What a generator needs to know about one choice of one request.</summary>
/// <param name="EchoText">Echo mode: the last user message (chat) or the prompt text (completions).</param>
/// <param name="PromptTokens">Tokens in the prompt (bounds the output by max-model-len).</param>
/// <param name="MaxTokens">max_tokens / max_completion_tokens, null when the request gave none.</param>
/// <param name="IgnoreEos">Generate exactly <paramref name="MaxTokens"/> tokens.</param>
/// <param name="Stop">Stop strings: output is cut before the first occurrence, finish_reason "stop".</param>
public sealed record GenerationRequest(
    string EchoText,
    int PromptTokens,
    int? MaxTokens,
    bool IgnoreEos,
    IReadOnlyList<string> Stop)
{
    /// <summary>The prompt's token ids (chat: the rendered template), which datasets hash to find recorded answers.</summary>
    public IReadOnlyList<int> PromptTokenIds { get; init; } = [];
}

/// <summary>The output of one choice: token pieces (concatenated = the text) and why it ended.</summary>
public sealed record GeneratedText(IReadOnlyList<string> Tokens, string FinishReason)
{
    /// <summary>The stop string that ended the output (vLLM's <c>stop_reason</c>), else null.</summary>
    public string? StopReason { get; init; }

    public string Text => string.Concat(Tokens);

    /// <summary>
    /// The tool calls this choice answers with instead of text (null: a text answer). Its <see cref="Tokens"/> are then,
    /// call after call, one header step (an empty piece: the call's name) followed by the pieces of the call's arguments;
    /// <see cref="ToolCallOfStep"/> names the call of every step. Built by <see cref="Tools.ConstrainedOutputPlanner"/>.
    /// </summary>
    public IReadOnlyList<Tools.GeneratedToolCall>? ToolCalls { get; init; }

    /// <summary>For a tool-call answer: the index into <see cref="ToolCalls"/> of each token step.</summary>
    public int[]? ToolCallOfStep { get; init; }

    /// <summary>True when token step <paramref name="k"/> opens a tool call (its header: id, type and name).</summary>
    public bool OpensToolCall(int k) => ToolCallOfStep is { } steps && (k == 0 || steps[k - 1] != steps[k]);
}

/// <summary>Produces the output text for one choice. Deterministic for a given <see cref="Random"/> state.</summary>
public interface ITextGenerator
{
    GeneratedText Generate(GenerationRequest request, SimRandom random);
}
