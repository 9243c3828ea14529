namespace OrleansSim.Core.Tokenization;

/// <summary>
/// Remembers the token ids of recently seen prompts, keyed by the exact prompt text (a <see cref="BoundedTextCache{T}"/>
/// of at most <see cref="Capacity"/> prompts of at most <see cref="MaxPromptChars"/> characters). Cached arrays are
/// never handed out, only copies.
/// </summary>
public sealed class PromptTokenCache(ISimTokenizer tokenizer, int capacity = PromptTokenCache.DefaultCapacity)
{
    public const int DefaultCapacity = 1024;

    public const int MaxPromptChars = 16 * 1024;

    private readonly BoundedTextCache<int[]> _ids = new(capacity, MaxPromptChars);

    public int Capacity => _ids.Capacity;

    /// <summary>The prompt's token ids, a new array the caller owns.</summary>
    public int[] Encode(string prompt) => [.. _ids.GetOrAdd(prompt, static (text, t) => [.. t.Encode(text)], tokenizer)];
}
