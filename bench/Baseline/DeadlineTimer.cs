using System.Diagnostics;

namespace OrleansSim.Bench.Baseline;

/// <summary>
/// One thread that completes waits at absolute <see cref="Stopwatch"/> deadlines, for <c>--timer precise</c>.
/// <see cref="Task.Delay(TimeSpan)"/> on Linux is driven by <see cref="Environment.TickCount64"/>, a coarse clock
/// (4 ms steps on this kernel), so it wakes 0–4 ms late; a monitor wait with a millisecond timeout is precise to
/// about 0.1 ms. Waits due within <see cref="Slack"/> of now complete together, so one wake-up serves every
/// stream due at that instant.
/// </summary>
public sealed class DeadlineTimer
{
    private static readonly long Slack = Stopwatch.Frequency / 2000; // 0.5 ms

    private readonly PriorityQueue<TaskCompletionSource, long> _queue = new();
    private readonly object _gate = new();
    private readonly List<TaskCompletionSource> _due = [];
    private long _nextDue = long.MaxValue;

    public DeadlineTimer()
    {
        new Thread(Run) { IsBackground = true, Name = "deadline-timer" }.Start();
    }

    public Task WaitUntilAsync(long deadline, CancellationToken cancellationToken)
    {
        if (deadline - Stopwatch.GetTimestamp() <= Slack)
        {
            return Task.CompletedTask;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _queue.Enqueue(done, deadline);
            if (deadline < _nextDue)
            {
                _nextDue = deadline;
                Monitor.Pulse(_gate);
            }
        }

        if (cancellationToken.CanBeCanceled)
        {
            // The entry stays queued until its deadline; completing it twice is harmless.
            cancellationToken.Register(static s => ((TaskCompletionSource)s!).TrySetCanceled(), done);
        }

        return done.Task;
    }

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                while (true)
                {
                    var now = Stopwatch.GetTimestamp();
                    while (_queue.TryPeek(out var waiter, out var due) && due - now <= Slack)
                    {
                        _queue.Dequeue();
                        _due.Add(waiter);
                    }

                    _nextDue = _queue.TryPeek(out _, out var next) ? next : long.MaxValue;
                    if (_due.Count > 0)
                    {
                        break;
                    }

                    var ms = _nextDue == long.MaxValue ? Timeout.Infinite : (int)Math.Max(1, (_nextDue - now) * 1000 / Stopwatch.Frequency);
                    Monitor.Wait(_gate, ms);
                }
            }

            foreach (var waiter in _due)
            {
                waiter.TrySetResult();
            }

            _due.Clear();
        }
    }
}
