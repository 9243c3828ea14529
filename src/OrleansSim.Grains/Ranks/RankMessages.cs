namespace OrleansSim.Grains.Ranks;

/// <summary>What the front-end tells its rank when a request arrives (one call per request).</summary>
/// <param name="RequestId">The request id (x-request-id or generated).</param>
/// <param name="Seed">The request's own <c>seed</c>, when it gave one.</param>
/// <param name="PromptTokenIds">Token ids of each prompt (chat: the rendered template), for the KV cache and the per-token latency model.</param>
[GenerateSerializer, Immutable]
public sealed record AdmitRequest(
    [property: Id(0)] string RequestId,
    [property: Id(1)] long? Seed,
    [property: Id(20), Immutable] int[][]? PromptTokenIds = null)
{
    public int PromptTokens => PromptTokenIds?.Sum(p => p.Length) ?? 0;

    /// <summary>The LoRA adapter the request uses (its <c>model</c>), or null for the base model.</summary>
    [Id(10)]
    public string? Lora { get; init; }

    /// <summary>P/D decode side: the prompt's KV comes from a prefill pod, so the first token waits for the transfer, not a prefill.</summary>
    [Id(11)]
    public bool RemotePrefill { get; init; }

    /// <summary>
    /// The front-end's share of the request's time is zero (no inter-token gaps, no chaos latency): when its time to first
    /// token is zero too, the request has nothing to hold its slot for, and the rank frees it in the turn that starts it
    /// (<see cref="AdmitResult.Finished"/>), so the request costs one grain call instead of two.
    /// </summary>
    [Id(12)]
    public bool Instant { get; init; }
}

/// <summary>
/// vLLM's pause modes (vllm/v1/engine/__init__.py, <c>PauseMode</c>): what a sleep does with the requests the rank holds.
/// </summary>
public enum PauseMode
{
    /// <summary>vLLM's default: every request the rank holds (running or queued) is aborted at once (finish_reason <c>abort</c>).</summary>
    Abort,

    /// <summary>The requests the rank holds finish; the sleep completes once they have.</summary>
    Wait,

    /// <summary>vLLM freezes the held requests until the wake-up; OrleansSim lets them finish, as <see cref="Wait"/> does.</summary>
    Keep,
}

public enum AdmitStatus
{
    /// <summary>The request holds a slot and may stream.</summary>
    Admitted,
    /// <summary>The wait queue is full: answer 429.</summary>
    QueueFull,
    /// <summary>The prompt needs more KV blocks than the rank's whole cache (<c>--kv-cache-size</c>) holds.</summary>
    KvCacheTooSmall,
    /// <summary>The lease was released before or while it waited (its client went away): nothing is held.</summary>
    Released,
}

/// <summary>
/// The rank's plan for an admitted request: the seed its output is drawn from, the time to first
/// token the latency model chose and how long it waited for its slot (the request's lease key releases it); with the engine clock, the
/// engine's <paramref name="Ticket"/> that joins it (<see cref="IRankGrain.Join"/>).
/// <paramref name="CachedTokens"/> are the prompt tokens that hit the prefix cache; the front-end scales every
/// inter-token gap by <paramref name="InterTokenLatencyFactor"/> (the load factor at admission).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record AdmitResult(
    [property: Id(0)] AdmitStatus Status,
    [property: Id(1)] long Seed,
    [property: Id(2)] TimeSpan TimeToFirstToken,
    [property: Id(3)] TimeSpan QueueTime,
    [property: Id(4)] long Ticket = 0,
    [property: Id(20)] int CachedTokens = 0,
    [property: Id(21)] double InterTokenLatencyFactor = 1.0)
{
    /// <summary>
    /// The rank freed the request as it started it (an <see cref="AdmitRequest.Instant"/> request with a zero time to
    /// first token): it holds nothing, and its lease needs no <see cref="IRankGrain.Release"/>.
    /// </summary>
    [Id(22)]
    public bool Finished { get; init; }

    public static readonly AdmitResult QueueFull = new(AdmitStatus.QueueFull, 0, TimeSpan.Zero, TimeSpan.Zero);

    public static readonly AdmitResult KvCacheTooSmall = new(AdmitStatus.KvCacheTooSmall, 0, TimeSpan.Zero, TimeSpan.Zero);

    public static readonly AdmitResult Released = new(AdmitStatus.Released, 0, TimeSpan.Zero, TimeSpan.Zero);
}

/// <summary>
/// A rank's live state, for /cluster, metrics and tests. KV fields (zero without <c>--enable-kvcache</c>): blocks
/// pinned by running requests and the capacity (vLLM's <c>kv_cache_usage_perc</c> is their ratio), and the
/// cumulative prompt tokens looked up in / found in the prefix cache (<c>prefix_cache_queries</c>/<c>hits</c>).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RankStatus(
    [property: Id(0)] string Pod,
    [property: Id(1)] int Rank,
    [property: Id(2)] int Running,
    [property: Id(3)] int Waiting,
    [property: Id(4)] int MaxNumSeqs,
    [property: Id(5)] long Admitted,
    [property: Id(6)] long Completed,
    [property: Id(20)] int KvBlocksUsed = 0,
    [property: Id(21)] int KvBlocksTotal = 0,
    [property: Id(22)] long PrefixCacheQueriedTokens = 0,
    [property: Id(23)] long PrefixCacheHitTokens = 0)
{
    /// <summary>LoRA adapters in use by running requests (vLLM's running_lora_adapters).</summary>
    [Id(10)]
    public IReadOnlyList<string> RunningLoras { get; init; } = [];

    /// <summary>LoRA adapters of waiting requests (vLLM's waiting_lora_adapters).</summary>
    [Id(11)]
    public IReadOnlyList<string> WaitingLoras { get; init; } = [];

    /// <summary>
    /// The latest changes of the running/waiting adapter sets, oldest first (a bounded window; the last
    /// entry is the current state). vllm:lora_requests_info shows one series per combination.
    /// </summary>
    [Id(12)]
    public IReadOnlyList<LoraChange> LoraChanges { get; init; } = [];

    /// <summary>
    /// What <c>vllm:engine_sleep_state</c> shows: null when the last call was a wake-up (or none came), else the level of
    /// the last sleep (vLLM's <c>record_sleep_state(1, level)</c>; a wake-up records awake whatever its tags).
    /// </summary>
    [Id(13)]
    public int? SleepLevel { get; init; }

    /// <summary>vLLM's <c>is_sleeping</c>: the rank is paused or part of it (weights, KV cache) is still asleep.</summary>
    [Id(14)]
    public bool IsSleeping { get; init; }
}

/// <summary>The adapter sets of a rank (comma-joined, as vLLM's labels) from the moment <paramref name="At"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record LoraChange(
    [property: Id(0)] string Waiting,
    [property: Id(1)] string Running,
    [property: Id(2)] DateTimeOffset At);
