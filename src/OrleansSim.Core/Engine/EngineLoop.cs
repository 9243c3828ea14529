using OrleansSim.Core.Timing;

namespace OrleansSim.Core.Engine;

/// <summary>Observes every engine step of a rank (metrics): called once per step, never per token.</summary>
public interface IEngineStepSink
{
    void OnStep(int rank, EngineStep step, BatchEngine engine);
}

/// <summary>
/// Slows a rank's engine clock while a chaos <c>latency</c> fault acts on it (docs/chaos.md): asked once per step, at the
/// step's start, for the time the step takes with the faults applied.
/// </summary>
public interface IEngineChaos
{
    /// <summary>The duration of a step of rank <paramref name="rank"/> that the profile says takes <paramref name="planned"/>.</summary>
    TimeSpan StepTime(int rank, TimeSpan planned);
}

/// <summary>
/// Runs a <see cref="BatchEngine"/> against a clock: steps back to back while there is work, each starting when the
/// previous one ends; at a step's start it tells every request it produces a token for when that token is due
/// (the step's end), then waits for the end on the <see cref="IPacer"/>. Idle when there is no work; <see cref="Kick"/>
/// (after adding a sequence) starts it again.
/// The loop never uses <c>ConfigureAwait(false)</c>: started from a grain turn, all of it runs as turns of that grain,
/// interleaved with its other calls, so the engine stays single-threaded.
/// <paramref name="stretch"/>, when given, maps each step's profile time to the time it takes (chaos <c>latency</c>);
/// the step's <see cref="EngineStep.Duration"/> then reports the stretched time.
/// </summary>
public sealed class EngineLoop(BatchEngine engine, TimeProvider time, IPacer pacer, Action<EngineStep>? onStep = null, Func<TimeSpan, TimeSpan>? stretch = null)
{
    /// <summary>A wake-up later than this after a step's end restarts the clock at "now" instead of catching up.</summary>
    private static readonly TimeSpan MaxLag = TimeSpan.FromMilliseconds(2);

    private Task _loop = Task.CompletedTask;
    private long _lastEnd;

    public BatchEngine Engine => engine;

    /// <summary>The loop's task (completed while idle), for tests.</summary>
    public Task Completion => _loop;

    /// <summary>Starts the step loop unless it runs.</summary>
    public void Kick()
    {
        if (_loop.IsCompleted)
        {
            _loop = RunAsync();
        }
    }

    private async Task RunAsync()
    {
        await Task.Yield(); // leave the caller's turn first: the join that kicked the loop returns at once
        var at = Math.Max(time.GetTimestamp(), _lastEnd);
        try
        {
            while (engine.HasWork)
            {
                var step = engine.Step();
                if (step.IsEmpty)
                {
                    break; // nothing can run until something is cancelled or added (Kick)
                }

                if (stretch is not null)
                {
                    step.Duration = stretch(step.Duration);
                }

                var end = at + (long)(step.Duration.TotalSeconds * time.TimestampFrequency);
                foreach (var seq in step.Started)
                {
                    (seq.Tag as EngineStream)?.OnStarted(at, seq.FirstCachedTokens);
                }

                foreach (var e in step.Events)
                {
                    (e.Sequence.Tag as EngineStream)?.OnToken(end, e.Last);
                }

                onStep?.Invoke(step);
                _lastEnd = end;
                await pacer.WaitUntilAsync(end, CancellationToken.None);
                var now = time.GetTimestamp();
                at = time.GetElapsedTime(end, now) > MaxLag ? now : end;
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or OperationCanceledException)
        {
            // The process is shutting down (the pacer is gone): nothing more will be produced.
        }
    }
}
