namespace OrleansSim.Core.Scheduling;

/// <summary>Outcome of <see cref="SlotScheduler{T}.TryAdmit"/>.</summary>
public enum AdmitOutcome
{
    /// <summary>A slot was free: the request runs now.</summary>
    Running,
    /// <summary>All slots busy: the request waits in FIFO order.</summary>
    Queued,
    /// <summary>All slots busy and the wait queue is full (vLLM answers 429).</summary>
    QueueFull,
}

/// <summary>
/// The rank's fixed-size slot pool (<c>--max-num-seqs</c>) with a bounded FIFO wait queue
/// (<c>--max-waiting-queue-length</c>). Pure bookkeeping and single-threaded by contract: the rank
/// grain owns it and calls it only from its own turns, so it takes no locks.
/// </summary>
public sealed class SlotScheduler<T>
    where T : class
{
    private readonly LinkedList<T> _waiting = new();
    private readonly Dictionary<T, LinkedListNode<T>> _index = new(ReferenceEqualityComparer.Instance);
    private readonly Func<T, bool>? _tryStart;

    /// <param name="slots">Requests that may run at once.</param>
    /// <param name="maxWaiting">Requests that may wait.</param>
    /// <param name="tryStart">
    /// Optional gate for a second resource (KV blocks): called when an item is about to take a free slot; it
    /// acquires what the item needs and returns true, or returns false and the item (and everyone behind it,
    /// FIFO) keeps waiting until <see cref="Release"/> or <see cref="PromoteWaiting"/>.
    /// </param>
    public SlotScheduler(int slots, int maxWaiting, Func<T, bool>? tryStart = null)
    {
        _tryStart = tryStart;
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxWaiting);
        Slots = slots;
        MaxWaiting = maxWaiting;
    }

    public int Slots { get; }

    public int MaxWaiting { get; }

    /// <summary>Requests holding a slot.</summary>
    public int Running { get; private set; }

    /// <summary>Requests in the wait queue.</summary>
    public int Waiting => _waiting.Count;

    /// <summary>Takes a free slot for <paramref name="item"/>, or queues it, or refuses it when the queue is full.</summary>
    public AdmitOutcome TryAdmit(T item)
    {
        if (Running < Slots && _waiting.Count == 0 && (_tryStart?.Invoke(item) ?? true))
        {
            Running++;
            return AdmitOutcome.Running;
        }

        if (_waiting.Count >= MaxWaiting)
        {
            return AdmitOutcome.QueueFull;
        }

        _index[item] = _waiting.AddLast(item);
        return AdmitOutcome.Queued;
    }

    /// <summary>Removes a queued item (its client went away). False when it is not queued.</summary>
    public bool CancelWaiting(T item)
    {
        if (!_index.Remove(item, out var node))
        {
            return false;
        }

        _waiting.Remove(node);
        return true;
    }

    /// <summary>
    /// Frees one slot and hands it to the oldest waiter, which is returned (it now holds the slot);
    /// null when nobody waits.
    /// </summary>
    public T? Release()
    {
        if (Running == 0)
        {
            throw new InvalidOperationException("Release without a running request.");
        }

        Running--;
        return PromoteNext();
    }

    /// <summary>
    /// Starts the next waiter if a slot is free and the <c>tryStart</c> gate lets it (call again until null
    /// after the gated resource was freed).
    /// </summary>
    public T? PromoteWaiting() => PromoteNext();

    private T? PromoteNext()
    {
        if (Running >= Slots || _waiting.First is not { } first || !(_tryStart?.Invoke(first.Value) ?? true))
        {
            return null;
        }

        _waiting.RemoveFirst();
        _index.Remove(first.Value);
        Running++;
        return first.Value;
    }
}
