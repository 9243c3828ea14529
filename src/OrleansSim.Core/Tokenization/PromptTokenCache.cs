using System.Collections.Concurrent;

namespace OrleansSim.Core.Tokenization;

/// <summary>
/// Remembers the token ids of recently seen prompts, keyed by the exact prompt text (ordinal). Benchmarks and
/// router tests send the same prompts over and over, and the regex pre-tokenizer is the most expensive step of
/// parsing a request. Bounded: at most <see cref="Capacity"/> prompts of at most <see cref="MaxPromptChars"/>
/// characters; when full it starts over (a generation reset, cheaper than LRU bookkeeping on every hit).
/// Thread-safe; cached arrays are never handed out, only copies.
/// </summary>
public sealed class PromptTokenCache(ISimTokenizer tokenizer, int capacity = PromptTokenCache.DefaultCapacity)
{
    public const int DefaultCapacity = 1024;

    public const int MaxPromptChars = 16 * 1024;

    private ConcurrentDictionary<string, int[]> _ids = new(StringComparer.Ordinal);

    public int Capacity { get; } = capacity;

    /// <summary>The prompt's token ids, a new array the caller owns.</summary>
    public int[] Encode(string prompt)
    {
        if (prompt.Length > MaxPromptChars)
        {
            return [.. tokenizer.Encode(prompt)];
        }

        var ids = _ids;
        if (!ids.TryGetValue(prompt, out var cached))
        {
            cached = [.. tokenizer.Encode(prompt)];
            if (ids.Count >= Capacity)
            {
                // Start over; racing writers may add a few entries to the old map, which is simply dropped.
                _ids = ids = new ConcurrentDictionary<string, int[]>(StringComparer.Ordinal);
            }

            ids.TryAdd(prompt, cached);
        }

        return [.. cached];
    }
}
