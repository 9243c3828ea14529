namespace OrleansSim.Grains.Ranks;

/// <summary>
/// One data-parallel rank of one pod: the single owner of its wait queue and slots. Keyed by
/// <see cref="RankKey"/>. The request path makes at most two calls per request, both keyed by the request's
/// lease key (unique per request, made by the front-end; see <see cref="RankLease"/>): <see cref="Admit"/>
/// and <see cref="Release"/> (not needed when the admission answers <see cref="AdmitResult.Finished"/>: a request
/// with no simulated time is freed as it starts). Everything the grain holds for a request (its place in the queue, its slot,
/// its pinned KV blocks, its use of a LoRA adapter) is filed under that key, and <see cref="Release"/>
/// frees all of it, whatever state the request is in, whatever became of the <see cref="Admit"/> call.
/// </summary>
public interface IRankGrain : IGrainWithStringKey
{
    /// <summary>
    /// Returns when the request holds a slot (with its plan), or at once with <see cref="AdmitStatus.QueueFull"/>,
    /// <see cref="AdmitStatus.KvCacheTooSmall"/> or, when <see cref="Release"/> for this key came first,
    /// <see cref="AdmitStatus.Released"/>. Cancelling <paramref name="cancellationToken"/> is the same as
    /// <see cref="Release"/>. Whatever the caller saw of this call (a result, a cancellation, a timeout), it
    /// calls <see cref="Release"/> with the same key afterwards.
    /// </summary>
    [ResponseTimeout("1.00:00:00")]
    Task<AdmitResult> Admit(Guid lease, AdmitRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// <c>--latency-calculator step</c> only: the admitted request (by the ticket its admission returned) produces
    /// <paramref name="outputTokens"/> tokens and joins the rank's engine; its token deadlines arrive on the stream its
    /// runner opened on this process's <see cref="Core.Engine.EngineBoard"/>. False when the ticket is unknown (released)
    /// or the grain is not in the runner's process. One call per request.
    /// </summary>
    Task<bool> Join(long ticket, int outputTokens);

    /// <summary>
    /// Frees whatever the request holds under <paramref name="lease"/>: takes it out of the queue if it waits
    /// (its <see cref="Admit"/> returns <see cref="AdmitStatus.Released"/>), frees its slot, KV blocks and
    /// adapter use if it runs (and starts the next waiters). Idempotent; an unknown key is remembered for a
    /// while so that an <see cref="Admit"/> arriving after its own release is refused.
    /// Not one-way on purpose: callers await it so that what they do next (count an abort, admit again with the
    /// same key) sees the release done; a one-way release could be overtaken by a later call.
    /// </summary>
    Task Release(Guid lease);

    Task<RankStatus> GetStatus();

    /// <summary>
    /// vLLM's <c>sleep(level, mode)</c> (docs: README, "Sleep mode"): the rank stops starting requests at once (new admissions
    /// wait until <see cref="WakeUp"/>); with <see cref="PauseMode.Abort"/> it signals every request it holds (running,
    /// queued for a slot, or waiting from an earlier sleep) to end as aborted through this process's
    /// <see cref="Core.Scheduling.SleepAborts"/>, otherwise it lets them finish; once they have released their leases it
    /// drops its KV cache at level 1 or 2 (<c>AllBlocksCleared</c>) and reports the level in <c>vllm:engine_sleep_state</c>.
    /// Returns once that is done.
    /// </summary>
    [ResponseTimeout("1.00:00:00")]
    Task Sleep(int level, PauseMode mode);

    /// <summary>
    /// vLLM's <c>wake_up(tags)</c>: null wakes everything; <c>weights</c> / <c>kv_cache</c> wake that part (the rank stays
    /// sleeping until both are awake); <c>scheduling</c> only resumes. Every call resumes the rank: the admissions that
    /// waited start in their order.
    /// </summary>
    Task WakeUp(string[]? tags);

    /// <summary>vLLM's <c>is_sleeping()</c>: paused, or part of the rank (weights, KV cache) still asleep.</summary>
    Task<bool> IsSleeping();

    /// <summary>Chaos <c>kv_flush</c>: clears the rank's KV cache once, publishing <c>AllBlocksCleared</c>; returns the blocks dropped (0 without <c>--enable-kvcache</c>).</summary>
    Task<int> FlushKvCache();
}

/// <summary>The grain key of a rank: pod name and rank, so two pods never share a rank grain.</summary>
public static class RankKey
{
    public static string For(string pod, int rank) => $"{pod}/{rank}";

    public static (string Pod, int Rank) Parse(string key)
    {
        var slash = key.LastIndexOf('/');
        return (key[..slash], int.Parse(key.AsSpan(slash + 1), System.Globalization.CultureInfo.InvariantCulture));
    }
}
