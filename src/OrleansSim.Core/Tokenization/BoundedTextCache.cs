using System.Collections.Concurrent;

namespace OrleansSim.Core.Tokenization;

/// <summary>
/// A bounded map from an exact text (ordinal) to a value computed once from it: the tokenizer's results for texts
/// that come back over and over (benchmark and router-test prompts), where the regex pre-tokenizer is the most
/// expensive step of a request. At most <see cref="Capacity"/> entries of keys up to <c>maxKeyChars</c> characters
/// (longer keys are computed every time); when full it starts over, a generation reset that costs nothing on a hit,
/// unlike LRU bookkeeping. Thread-safe; values must be immutable or never handed out (callers copy).
/// </summary>
public sealed class BoundedTextCache<T>(int capacity, int maxKeyChars)
{
    private ConcurrentDictionary<string, T> _map = new(StringComparer.Ordinal);

    public int Capacity { get; } = capacity;

    /// <summary>The cached value of <paramref name="key"/>, else <c>create(key, state)</c> (pass a static lambda: nothing is allocated on a hit).</summary>
    public T GetOrAdd<TState>(string key, Func<string, TState, T> create, TState state)
    {
        if (key.Length > maxKeyChars)
        {
            return create(key, state);
        }

        var map = _map;
        if (map.TryGetValue(key, out var value))
        {
            return value;
        }

        value = create(key, state);
        if (map.Count >= Capacity)
        {
            // Start over; racing writers may add a few entries to the old map, which is simply dropped.
            _map = map = new ConcurrentDictionary<string, T>(StringComparer.Ordinal);
        }

        map.TryAdd(key, value);
        return value;
    }
}
