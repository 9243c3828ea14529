using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using OrleansSim.Core.Timing;
using Xunit;

namespace OrleansSim.Core.Tests.Timing;

/// <summary>Behaviour of the deadline timer; no timing assertions (only order, completion and bookkeeping).</summary>
public sealed class DeadlineTimerTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private static bool CompletedAtOnce(ValueTask wait) => wait.IsCompletedSuccessfully;

    private static long In(TimeSpan delay) => Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);

    [Fact]
    public async Task ReleasesWaitsInDeadlineOrder()
    {
        // What the timer guarantees is the order it takes waits off its heap: a wait is released only after every wait
        // with an earlier deadline. The order their continuations then run in is the thread pool's (two batches released
        // 100 ms apart may run in either order on a busy machine), so each wait records how many were still queued when
        // its continuation ran: never one with an earlier deadline.
        using var timer = new DeadlineTimer();
        var pendingAtRelease = new ConcurrentDictionary<int, int>();
        async Task Wait(int id, long deadline)
        {
            await timer.WaitUntilAsync(deadline, CancellationToken.None);
            pendingAtRelease[id] = timer.Pending;
        }

        // A generous lead: the four waits are queued long before the first is due, even on a busy machine.
        var start = In(TimeSpan.FromSeconds(1));
        var ms = Stopwatch.Frequency / 1000;
        var waits = new[] { Wait(3, start + (300 * ms)), Wait(1, start + (100 * ms)), Wait(2, start + (200 * ms)), Wait(0, start) };
        await Task.WhenAll(waits).WaitAsync(Generous, TestContext.Current.CancellationToken);

        // Wait k (deadline order) was released with at most the 3 - k later ones still queued.
        Assert.All(pendingAtRelease, p => Assert.InRange(p.Value, 0, 3 - p.Key));
        Assert.Equal(0, pendingAtRelease[3]);
        Assert.Equal(0, timer.Pending);
    }

    [Fact]
    public async Task CancellationCompletesTheWaitAndFreesItsEntry()
    {
        using var timer = new DeadlineTimer();
        using var cts = new CancellationTokenSource();
        var keep = timer.WaitUntilAsync(In(TimeSpan.FromHours(1)), CancellationToken.None);
        var wait = timer.WaitUntilAsync(In(TimeSpan.FromHours(1)), cts.Token).AsTask();
        Assert.Equal(2, timer.Pending);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Generous, TestContext.Current.CancellationToken));
        Assert.Equal(1, timer.Pending);
        Assert.False(keep.IsCompleted);
    }

    [Fact]
    public async Task AnAlreadyCancelledTokenNeverQueues()
    {
        using var timer = new DeadlineTimer();
        var wait = timer.WaitUntilAsync(In(TimeSpan.FromHours(1)), new CancellationToken(canceled: true));
        Assert.True(wait.IsCanceled);
        Assert.Equal(0, timer.Pending);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task ReleasesEveryWaiterDueAtTheSameInstant()
    {
        using var timer = new DeadlineTimer();
        var deadline = In(TimeSpan.FromMilliseconds(100));
        var released = 0;
        async Task Wait()
        {
            await timer.WaitUntilAsync(deadline, CancellationToken.None);
            Interlocked.Increment(ref released);
        }

        var waits = Enumerable.Range(0, 2000).Select(_ => Wait()).ToArray();
        await Task.WhenAll(waits).WaitAsync(Generous, TestContext.Current.CancellationToken);

        Assert.Equal(2000, released);
        Assert.Equal(0, timer.Pending);
    }

    [Fact]
    public async Task ReusesWaitsAcrossManySequentialDeadlines()
    {
        using var timer = new DeadlineTimer();
        using var cts = new CancellationTokenSource();
        var start = Stopwatch.GetTimestamp();
        var step = Stopwatch.Frequency / 1000;
        for (var k = 1; k <= 50; k++)
        {
            await timer.WaitUntilAsync(start + (k * step), cts.Token).AsTask().WaitAsync(Generous, TestContext.Current.CancellationToken);
        }

        Assert.Equal(0, timer.Pending);
        await cts.CancelAsync(); // registrations of completed waits are gone: cancelling now touches nothing
        Assert.Equal(0, timer.Pending);
    }

    [Fact]
    public void APassedDeadlineCompletesAtOnce()
    {
        using var timer = new DeadlineTimer();
        Assert.True(CompletedAtOnce(timer.WaitUntilAsync(Stopwatch.GetTimestamp() - 1, CancellationToken.None)));
        Assert.Equal(0, timer.Pending);
    }

    [Fact]
    public async Task DisposalFailsQueuedWaitsAndRefusesNewOnes()
    {
        var timer = new DeadlineTimer();
        var wait = timer.WaitUntilAsync(In(TimeSpan.FromHours(1)), CancellationToken.None).AsTask();

        timer.Dispose();
        timer.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => wait.WaitAsync(Generous, TestContext.Current.CancellationToken));
        Assert.Equal(0, timer.Pending);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => timer.WaitUntilAsync(In(TimeSpan.FromHours(1)), CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task TimeProviderPacerWaitsOnItsClock()
    {
        var clock = new FakeTimeProvider();
        var pacer = new TimeProviderPacer(clock);
        var deadline = clock.GetTimestamp() + (long)(0.050 * clock.TimestampFrequency);

        var wait = pacer.WaitUntilAsync(deadline, CancellationToken.None).AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(49));
        Assert.False(wait.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await wait.WaitAsync(Generous, TestContext.Current.CancellationToken);

        Assert.True(CompletedAtOnce(pacer.WaitUntilAsync(deadline, CancellationToken.None)));
    }
}
