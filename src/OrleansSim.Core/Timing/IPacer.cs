namespace OrleansSim.Core.Timing;

/// <summary>
/// Waits until absolute deadlines, given as timestamps of the simulator's <see cref="TimeProvider"/>
/// (<see cref="TimeProvider.GetTimestamp"/>). Streams pace their tokens through it: absolute deadlines keep
/// timer error from accumulating along a stream.
/// </summary>
public interface IPacer
{
    /// <summary>
    /// Completes at <paramref name="deadline"/> (at once when it has passed), or cancels with
    /// <paramref name="cancellationToken"/>. The result must be awaited exactly once.
    /// </summary>
    ValueTask WaitUntilAsync(long deadline, CancellationToken cancellationToken);
}

/// <summary>
/// Paces on any <see cref="TimeProvider"/> (a fake clock in tests) with <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>.
/// Simple and exact on a fake clock; on the system clock <see cref="DeadlineTimer"/> is far more precise.
/// </summary>
public sealed class TimeProviderPacer(TimeProvider time) : IPacer
{
    public ValueTask WaitUntilAsync(long deadline, CancellationToken cancellationToken)
    {
        var remaining = time.GetElapsedTime(time.GetTimestamp(), deadline);
        return remaining > TimeSpan.Zero ? new ValueTask(Task.Delay(remaining, time, cancellationToken)) : ValueTask.CompletedTask;
    }
}
