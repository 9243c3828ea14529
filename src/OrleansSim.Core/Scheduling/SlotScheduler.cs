namespace OrleansSim.Core.Scheduling;

/// <summary>Outcome of <see cref="SlotScheduler{T}.TryAdmit"/>.</summary>
public enum AdmitOutcome
{
    /// <summary>A slot was free: the request runs now.</summary>
    Running,
    /// <summary>All slots busy (or its LoRA adapter cannot be loaded): the request waits.</summary>
    Queued,
    /// <summary>All slots busy and the wait queue is full (vLLM answers 429).</summary>
    QueueFull,
}

/// <summary>
/// The rank's fixed-size slot pool (<c>--max-num-seqs</c>) with a bounded wait queue
/// (<c>--max-waiting-queue-length</c>) and LoRA residency (<c>--max-loras</c>): at most that many
/// distinct adapters are in use by running requests. A waiting request runs as soon as a slot is free
/// and its adapter is already in use or one more adapter fits; the queue is scanned in FIFO order and
/// the first request that can run is taken (vLLM's scheduler skips waiting requests whose LoRA would
/// exceed max_loras the same way). Without adapters this is plain FIFO. An optional gate for a second
/// resource (KV blocks) is asked last; when it refuses, that waiter and everyone behind it keep waiting
/// (head-of-line, as vLLM stops scheduling when the KV cache is full).
/// Pure bookkeeping and single-threaded by contract: the rank grain owns it and calls it only from its
/// own turns, so it takes no locks.
/// </summary>
public sealed class SlotScheduler<T>
    where T : class
{
    private readonly LinkedList<T> _waiting = new();
    private readonly Dictionary<T, LinkedListNode<T>> _index = new(ReferenceEqualityComparer.Instance);
    private readonly Func<T, string?> _adapterOf;
    private readonly AdapterCounts _runningAdapters = new();
    private readonly AdapterCounts _waitingAdapters = new();
    private readonly Func<T, bool>? _tryStart;

    /// <param name="slots">Requests that may run at once.</param>
    /// <param name="maxWaiting">Requests that may wait.</param>
    /// <param name="maxAdapters">Distinct LoRA adapters running requests may use at once.</param>
    /// <param name="adapterOf">The adapter a request uses (null: the base model).</param>
    /// <param name="tryStart">
    /// Optional gate for a second resource (KV blocks): called when an item is about to take a free slot; it
    /// acquires what the item needs and returns true, or returns false and the item (and everyone behind it)
    /// keeps waiting until <see cref="Release"/> or <see cref="PromoteWaiting"/>.
    /// </param>
    public SlotScheduler(int slots, int maxWaiting, int maxAdapters = int.MaxValue, Func<T, string?>? adapterOf = null, Func<T, bool>? tryStart = null)
    {
        _tryStart = tryStart;
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxWaiting);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAdapters, 1);
        Slots = slots;
        MaxWaiting = maxWaiting;
        MaxAdapters = maxAdapters;
        _adapterOf = adapterOf ?? (_ => null);
    }

    public int Slots { get; }

    public int MaxWaiting { get; }

    /// <summary>Distinct LoRA adapters that running requests may use at once (<c>--max-loras</c>).</summary>
    public int MaxAdapters { get; }

    /// <summary>Requests holding a slot.</summary>
    public int Running { get; private set; }

    /// <summary>Requests in the wait queue.</summary>
    public int Waiting => _waiting.Count;

    /// <summary>Adapters in use by running requests, in the order they were loaded.</summary>
    public IReadOnlyList<string> RunningAdapters => _runningAdapters.Names;

    /// <summary>Adapters of waiting requests, in the order they were first queued.</summary>
    public IReadOnlyList<string> WaitingAdapters => _waitingAdapters.Names;

    /// <summary>Grows whenever <see cref="RunningAdapters"/> or <see cref="WaitingAdapters"/> change.</summary>
    public long AdapterVersion => _runningAdapters.Version + _waitingAdapters.Version;

    /// <summary>Takes a free slot for <paramref name="item"/>, or queues it, or refuses it when the queue is full.</summary>
    public AdmitOutcome TryAdmit(T item)
    {
        // Invariant: while a slot is free, every waiter is blocked by its adapter or stands behind one the
        // gate refused; a newcomer never overtakes a waiter that only waits for the gate.
        if (Running < Slots && CanRun(item) && !AnyWaiterBlockedOnlyByGate() && (_tryStart?.Invoke(item) ?? true))
        {
            StartRunning(item);
            return AdmitOutcome.Running;
        }

        if (_waiting.Count >= MaxWaiting)
        {
            return AdmitOutcome.QueueFull;
        }

        _index[item] = _waiting.AddLast(item);
        _waitingAdapters.Add(_adapterOf(item));
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
        _waitingAdapters.Remove(_adapterOf(item));
        return true;
    }

    /// <summary>
    /// Frees the slot (and adapter use) of the running <paramref name="item"/> and starts every waiter
    /// that can now run; they are returned in the order they were started (they now hold slots).
    /// </summary>
    public IReadOnlyList<T> Release(T item)
    {
        if (Running == 0)
        {
            throw new InvalidOperationException("Release without a running request.");
        }

        Running--;
        _runningAdapters.Remove(_adapterOf(item));
        return PromoteWaiting();
    }

    private bool AnyWaiterBlockedOnlyByGate()
    {
        if (_tryStart is null)
        {
            return false;
        }

        foreach (var waiter in _waiting)
        {
            if (CanRun(waiter))
            {
                return true;
            }
        }

        return false;
    }

    private bool CanRun(T item) =>
        _adapterOf(item) is not { } adapter
        || _runningAdapters.Contains(adapter)
        || _runningAdapters.Names.Count < MaxAdapters;

    private void StartRunning(T item)
    {
        Running++;
        _runningAdapters.Add(_adapterOf(item));
    }

    /// <summary>
    /// Starts every waiter that can run now (call after the gated resource was freed); returns them in the
    /// order they were started.
    /// </summary>
    public IReadOnlyList<T> PromoteWaiting()
    {
        List<T>? started = null;
        var node = _waiting.First;
        while (node is not null && Running < Slots)
        {
            var next = node.Next;
            if (CanRun(node.Value))
            {
                if (!(_tryStart?.Invoke(node.Value) ?? true))
                {
                    break; // the gate (KV blocks) holds the line until something is freed
                }

                var item = node.Value;
                _waiting.Remove(node);
                _index.Remove(item);
                _waitingAdapters.Remove(_adapterOf(item));
                StartRunning(item);
                (started ??= []).Add(item);
            }

            node = next;
        }

        return started ?? [];
    }

    /// <summary>Reference counts per adapter name, keeping first-use order for reporting.</summary>
    private sealed class AdapterCounts
    {
        private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
        private readonly List<string> _names = [];

        public List<string> Names => _names;

        public long Version { get; private set; }

        public bool Contains(string name) => _counts.ContainsKey(name);

        public void Add(string? name)
        {
            if (name is null)
            {
                return;
            }

            _counts[name] = _counts.GetValueOrDefault(name) + 1;
            if (_counts[name] == 1)
            {
                _names.Add(name);
                Version++;
            }
        }

        public void Remove(string? name)
        {
            if (name is null || !_counts.TryGetValue(name, out var count))
            {
                return;
            }

            if (count > 1)
            {
                _counts[name] = count - 1;
                return;
            }

            _counts.Remove(name);
            _names.Remove(name);
            Version++;
        }
    }
}
