namespace OrleansSim.Core.Tokenization;

/// <summary>One chat message as the prompt renderer sees it (content already flattened to text).</summary>
public sealed record PromptMessage(string Role, string Content);

/// <summary>
/// The tokenizer every component shares: counts prompt and output tokens, backs /tokenize and
/// /detokenize, and splits generated text into the pieces streamed one per SSE chunk.
/// </summary>
public interface ISimTokenizer
{
    /// <summary>A short name for logs and the startup config (e.g. "o200k_base" or the tokenizer.json path).</summary>
    string Name { get; }

    /// <summary>True when <paramref name="id"/> is a token of the vocabulary (special tokens included).</summary>
    bool IsKnownTokenId(int id);

    IReadOnlyList<int> Encode(string text);

    int CountTokens(string text);

    string Decode(IReadOnlyList<int> ids);

    /// <summary>
    /// Splits <paramref name="text"/> into consecutive substrings, one per token, whose concatenation is
    /// exactly <paramref name="text"/> (a multi-byte character split across tokens stays whole in one piece).
    /// </summary>
    IReadOnlyList<string> SplitTokens(string text);

    /// <summary>Renders chat messages into the prompt text the model would see (ChatML), ending with the assistant turn.</summary>
    string RenderChat(IReadOnlyList<PromptMessage> messages);
}
