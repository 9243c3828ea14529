using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace OrleansSim.Core.Timing;

/// <summary>
/// One dedicated thread that completes waits at absolute <see cref="Stopwatch"/> deadlines (the timestamps of
/// <see cref="TimeProvider.System"/>). <see cref="Task.Delay(TimeSpan)"/> on Linux runs on
/// <see cref="Environment.TickCount64"/>, a coarse clock (4 ms steps on the benchmark VM), so it wakes 0–4 ms late;
/// a monitor wait with a millisecond timeout wakes about 0.1 ms late.
/// <list type="bullet">
/// <item>Waits sit in a binary min-heap keyed by deadline; each knows its heap slot, so cancelling one removes it
/// (O(log n)) instead of leaving it queued until its deadline.</item>
/// <item>Every wait due within <see cref="Slack"/> of a wake-up is released by that one wake-up, in deadline order,
/// in batches of <see cref="BatchSize"/>: each batch is one thread-pool work item that runs the waiters'
/// continuations one after another (one pool hop per batch, not one per stream).</item>
/// <item>Wait objects are pooled <see cref="IValueTaskSource"/>s: a wait allocates nothing in the steady state.</item>
/// </list>
/// </summary>
public sealed class DeadlineTimer : IPacer, IDisposable
{
    /// <summary>Waits due this close to a wake-up (or to the call) complete at once: 0.5 ms.</summary>
    public static readonly long Slack = Stopwatch.Frequency / 2000;

    /// <summary>Waiters whose continuations one thread-pool work item runs.</summary>
    internal const int BatchSize = 16;

    private const int MaxPooled = 4096;

    private readonly object _gate = new();
    private readonly Thread _thread;
    private Waiter[] _heap = new Waiter[64];
    private int _count;
    private long _nextDue = long.MaxValue;
    private bool _disposed;

    private readonly object _poolGate = new();
    private readonly Stack<Waiter> _waiters = new();
    private readonly Stack<Batch> _batches = new();

    public DeadlineTimer()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "deadline-timer" };
        _thread.Start();
    }

    /// <summary>Waits still queued (for tests and diagnostics).</summary>
    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    public ValueTask WaitUntilAsync(long deadline, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        if (deadline - Stopwatch.GetTimestamp() <= Slack)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return ValueTask.CompletedTask;
        }

        var waiter = RentWaiter();
        waiter.Deadline = deadline;
        waiter.Token = cancellationToken;
        if (cancellationToken.CanBeCanceled)
        {
            // Registered before the waiter is queued, so whoever takes it off the heap (timer or cancel) owns it.
            waiter.Registration = cancellationToken.UnsafeRegister(static s => ((Waiter)s!).Owner.Cancel((Waiter)s), waiter);
        }

        Exception? failure = null;
        lock (_gate)
        {
            if (_disposed)
            {
                failure = new ObjectDisposedException(nameof(DeadlineTimer));
            }
            else if (cancellationToken.IsCancellationRequested)
            {
                failure = new OperationCanceledException(cancellationToken);
            }
            else
            {
                Push(waiter);
                if (deadline < _nextDue)
                {
                    _nextDue = deadline;
                    Monitor.Pulse(_gate);
                }
            }
        }

        if (failure is not null)
        {
            waiter.Registration.Dispose();
            waiter.Core.SetException(failure);
        }

        return new ValueTask(waiter, waiter.Core.Version);
    }

    /// <summary>Stops the thread; waits still queued fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        Waiter[] left;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            left = _heap[.._count];
            foreach (var w in left)
            {
                w.Index = -1;
            }

            Array.Clear(_heap);
            _count = 0;
            Monitor.Pulse(_gate);
        }

        foreach (var w in left)
        {
            w.Registration.Dispose();
            w.Core.SetException(new ObjectDisposedException(nameof(DeadlineTimer)));
        }

        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    private void Run()
    {
        var due = new List<Waiter>();
        while (true)
        {
            lock (_gate)
            {
                while (true)
                {
                    if (_disposed)
                    {
                        return;
                    }

                    var now = Stopwatch.GetTimestamp();
                    while (_count > 0 && _heap[0].Deadline - now <= Slack)
                    {
                        due.Add(PopMin());
                    }

                    _nextDue = _count > 0 ? _heap[0].Deadline : long.MaxValue;
                    if (due.Count > 0)
                    {
                        break;
                    }

                    // Millisecond resolution; the last partial millisecond is covered by Slack or by the next turn.
                    var ms = _count == 0 ? Timeout.Infinite : (int)Math.Clamp((_nextDue - now) * 1000 / Stopwatch.Frequency, 1, int.MaxValue);
                    Monitor.Wait(_gate, ms);
                }
            }

            for (var i = 0; i < due.Count; i += BatchSize)
            {
                var batch = RentBatch();
                var n = Math.Min(BatchSize, due.Count - i);
                due.CopyTo(i, batch.Waiters, 0, n);
                batch.Count = n;
                ThreadPool.UnsafeQueueUserWorkItem(batch, preferLocal: false);
            }

            due.Clear();
        }
    }

    /// <summary>The cancellation callback: completes the waiter unless the timer already took it.</summary>
    private void Cancel(Waiter waiter)
    {
        lock (_gate)
        {
            if (waiter.Index < 0)
            {
                return; // released by the timer, or never queued (the caller saw the cancellation)
            }

            RemoveAt(waiter.Index);
        }

        waiter.Core.SetException(new OperationCanceledException(waiter.Token));
    }

    private void Push(Waiter waiter)
    {
        if (_count == _heap.Length)
        {
            Array.Resize(ref _heap, _heap.Length * 2);
        }

        Place(waiter, _count++);
        SiftUp(waiter.Index);
    }

    private Waiter PopMin()
    {
        var min = _heap[0];
        RemoveAt(0);
        return min;
    }

    private void RemoveAt(int index)
    {
        var removed = _heap[index];
        removed.Index = -1;
        var last = _heap[--_count];
        _heap[_count] = null!;
        if (index == _count)
        {
            return;
        }

        Place(last, index);
        if (index > 0 && last.Deadline < _heap[(index - 1) / 2].Deadline)
        {
            SiftUp(index);
        }
        else
        {
            SiftDown(index);
        }
    }

    private void SiftUp(int index)
    {
        var item = _heap[index];
        while (index > 0)
        {
            var parent = (index - 1) / 2;
            if (_heap[parent].Deadline <= item.Deadline)
            {
                break;
            }

            Place(_heap[parent], index);
            index = parent;
        }

        Place(item, index);
    }

    private void SiftDown(int index)
    {
        var item = _heap[index];
        while (true)
        {
            var child = (2 * index) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && _heap[child + 1].Deadline < _heap[child].Deadline)
            {
                child++;
            }

            if (item.Deadline <= _heap[child].Deadline)
            {
                break;
            }

            Place(_heap[child], index);
            index = child;
        }

        Place(item, index);
    }

    private void Place(Waiter waiter, int index)
    {
        _heap[index] = waiter;
        waiter.Index = index;
    }

    private Waiter RentWaiter()
    {
        lock (_poolGate)
        {
            if (_waiters.TryPop(out var waiter))
            {
                return waiter;
            }
        }

        return new Waiter(this);
    }

    private void Return(Waiter waiter)
    {
        waiter.Token = default;
        waiter.Registration = default;
        waiter.Core.Reset();
        lock (_poolGate)
        {
            if (_waiters.Count < MaxPooled)
            {
                _waiters.Push(waiter);
            }
        }
    }

    private Batch RentBatch()
    {
        lock (_poolGate)
        {
            if (_batches.TryPop(out var batch))
            {
                return batch;
            }
        }

        return new Batch(this);
    }

    private void Return(Batch batch)
    {
        Array.Clear(batch.Waiters, 0, batch.Count);
        batch.Count = 0;
        lock (_poolGate)
        {
            if (_batches.Count < MaxPooled / BatchSize)
            {
                _batches.Push(batch);
            }
        }
    }

    /// <summary>One wait: a reusable value-task source that also is its own heap entry.</summary>
    private sealed class Waiter(DeadlineTimer owner) : IValueTaskSource
    {
        // Continuations run where the result is set: inside a batch's work item, not as one pool item each.
        public ManualResetValueTaskSourceCore<bool> Core = new() { RunContinuationsAsynchronously = false };

        public DeadlineTimer Owner { get; } = owner;

        public long Deadline;

        /// <summary>Slot in the heap; −1 when not queued.</summary>
        public int Index = -1;

        public CancellationToken Token;

        public CancellationTokenRegistration Registration;

        public ValueTaskSourceStatus GetStatus(short token) => Core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            Core.OnCompleted(continuation, state, token, flags);

        public void GetResult(short token)
        {
            try
            {
                Core.GetResult(token);
            }
            finally
            {
                Owner.Return(this);
            }
        }
    }

    /// <summary>Waiters released by one wake-up, completed one after another on one pool thread.</summary>
    private sealed class Batch(DeadlineTimer owner) : IThreadPoolWorkItem
    {
        public Waiter[] Waiters { get; } = new Waiter[BatchSize];

        public int Count;

        public void Execute()
        {
            for (var i = 0; i < Count; i++)
            {
                var waiter = Waiters[i];
                // The timer took it off the heap, so a cancellation now finds nothing to do; unhook it.
                waiter.Registration.Dispose();
                waiter.Core.SetResult(true);
            }

            owner.Return(this);
        }
    }
}
