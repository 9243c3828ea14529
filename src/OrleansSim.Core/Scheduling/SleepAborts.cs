using System.Collections.Concurrent;

namespace OrleansSim.Core.Scheduling;

/// <summary>
/// Sleep mode's <c>mode=abort</c> (vLLM's default pause mode) inside one process: each request's run loop files a
/// cancellation source under its lease key while it holds or waits for a rank, and a rank grain that falls asleep
/// cancels the sources of the leases it holds. The run loop then ends the request as vLLM ends an aborted one (HTTP 200,
/// finish_reason <c>abort</c>) and releases its lease. The ranks of a pod live in the pod's process (the grains are
/// placed locally), so the signal needs no grain call per token and no message per request.
/// </summary>
public sealed class SleepAborts
{
    private readonly ConcurrentDictionary<Guid, CancellationTokenSource> _runs = new();

    /// <summary>
    /// Files the request's source under <paramref name="lease"/>; <see cref="Forget"/> takes it out. The source is the
    /// caller's (it owns and disposes it after <see cref="Forget"/>).
    /// </summary>
    public void File(Guid lease, CancellationTokenSource source) => _runs[lease] = source;

    public void Forget(Guid lease) => _runs.TryRemove(lease, out _);

    /// <summary>
    /// Cancels the request filed under <paramref name="lease"/>, if it is filed here. The cancellation's callbacks run
    /// on the thread pool, not in the caller's (the grain's) turn. True when a request was signalled.
    /// </summary>
    public bool Abort(Guid lease)
    {
        if (!_runs.TryRemove(lease, out var source))
        {
            return false;
        }

        try
        {
            _ = source.CancelAsync();
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false; // the request ended as it was signalled
        }
    }
}
