namespace OrleansSim.Core.Scheduling;

/// <summary>
/// Keys released before anything was held under them, remembered for a while (a bounded, aging set), so that
/// the admission that arrives after its own release is refused instead of taking a slot nobody frees.
/// A key is dropped once it is older than <see cref="MaxAge"/> or when more than <see cref="Capacity"/> are kept
/// (oldest first). Single-threaded by contract, like <see cref="SlotScheduler{T}"/>.
/// </summary>
public sealed class ReleasedKeys<TKey>(TimeProvider time, int capacity, TimeSpan maxAge)
    where TKey : notnull
{
    private readonly Queue<(TKey Key, long At)> _order = new();
    private readonly HashSet<TKey> _keys = [];

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public TimeSpan MaxAge { get; } = maxAge;

    public int Count => _keys.Count;

    public void Add(TKey key)
    {
        Expire();
        if (_keys.Add(key))
        {
            _order.Enqueue((key, time.GetTimestamp()));
            while (_order.Count > Capacity)
            {
                _keys.Remove(_order.Dequeue().Key);
            }
        }
    }

    /// <summary>True (once) when <paramref name="key"/> was released and is still remembered.</summary>
    public bool TryTake(TKey key)
    {
        Expire();
        return _keys.Remove(key); // its queue entry expires later and finds nothing to remove
    }

    private void Expire()
    {
        while (_order.TryPeek(out var oldest) && time.GetElapsedTime(oldest.At) > MaxAge)
        {
            _order.Dequeue();
            _keys.Remove(oldest.Key);
        }
    }
}
