using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Engine;
using OrleansSim.Core.Generation;
using OrleansSim.Core.KvCache;
using OrleansSim.Core.Scheduling;
using OrleansSim.Core.Timing;
using OrleansSim.Grains.KvCache;

namespace OrleansSim.Grains.Ranks;

/// <summary>
/// A rank: <c>--max-num-seqs</c> slots, a wait queue, LoRA residency (<c>--max-loras</c>) and, with
/// <c>--enable-kvcache</c>, the rank's KV blocks. Reentrant so that waiting admissions do not block
/// releases; Orleans still runs one turn at a time, so the state needs no locks.
/// Every request is a <see cref="Holding"/> filed under its lease key from the moment it is queued or runs
/// until <see cref="Release"/> (or the cancellation of its <see cref="Admit"/>) frees it: the one place where a
/// place in the queue, a slot, pinned KV blocks and an adapter's use are given back.
/// </summary>
[Reentrant]
[Orleans.Placement.PreferLocalPlacement]
[CollectionAgeLimit(AlwaysActive = true)]
public sealed class RankGrain : Grain, IRankGrain
{
    /// <summary>Adapter-set changes kept for the metrics scrape (more between two scrapes lose only intermediate states).</summary>
    private const int LoraChangeWindow = 64;

    /// <summary>
    /// How many leases released before their admission arrived are remembered, and for how long: an
    /// <see cref="Admit"/> overtaken by its own <see cref="Release"/> arrives within milliseconds.
    /// </summary>
    private const int ReleasedKeyCapacity = 65_536;
    private static readonly TimeSpan ReleasedKeyAge = TimeSpan.FromMinutes(10);

    private readonly SimulatorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RankGrain> _logger;
    // A holding starts once a slot is free, its adapter may run, and (with the KV cache) its blocks are pinned.
    private readonly SlotScheduler<Holding> _scheduler;
    private readonly RuntimeSettings _settings;
    private readonly Dictionary<Guid, Holding> _holdings = [];
    // Engine clock: the engine's ticket of each lease (the engine files its holdings under the ticket).
    private readonly Dictionary<Guid, long> _engineTickets = [];
    private readonly ReleasedKeys<Guid> _released;
    private readonly Queue<LoraChange> _loraChanges = new();
    private long _lorasVersion;
    private RankKvCache? _kv;
    private RankEngine? _engine;
    private SimRandom _random = new(0);
    private string _pod = "";
    private int _rank;
    private long _admitted;
    private long _completed;
    // Sleep mode (vLLM's sleep/wake_up): while paused, admissions wait here in arrival order until a wake-up.
    private readonly LinkedList<Parked> _parked = new();
    private readonly HashSet<string> _sleepingTags = new(StringComparer.Ordinal);
    private bool _paused;
    private long _pauseEpoch;
    private int? _sleepLevel;
    private TaskCompletionSource? _drained;
    private SleepAborts? _aborts;

    public RankGrain(SimulatorOptions options, RuntimeSettings settings, TimeProvider time, ILogger<RankGrain> logger)
    {
        _options = options;
        _settings = settings;
        _time = time;
        _logger = logger;
        _released = new ReleasedKeys<Guid>(time, ReleasedKeyCapacity, ReleasedKeyAge);
        _scheduler = new SlotScheduler<Holding>(
            options.MaxNumSeqs, options.MaxWaitingQueueLength, options.MaxLoras,
            adapterOf: static h => h.Request.Lora,
            tryStart: static h => h.TryAcquireBlocks());
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_pod, _rank) = RankKey.Parse(this.GetPrimaryKeyString());
        _loraChanges.Enqueue(new LoraChange("", "", _time.GetUtcNow()));
        // Each rank draws from its own stream: same --seed and same request order → same outputs.
        _random = new SimRandom(_options.Seed + (_rank * 7919L));
        _aborts = ServiceProvider.GetService<SleepAborts>();
        _kv = _options.EnableKvCache ? new RankKvCache(_options, _rank, ServiceProvider.GetService<IKvEventSink>()) : null;
        if (_options.EngineClock)
        {
            // The step loop runs as turns of this grain (EngineLoop never leaves the grain's scheduler); the board is
            // this process's, shared with the front-ends of this pod (docs/architecture.md, "engine clock").
            _engine = new RankEngine(
                _options, this.GetPrimaryKeyString(), _rank, _kv, ServiceProvider.GetRequiredService<EngineBoard>(),
                ServiceProvider.GetService<IEngineStepSink>(), _time, ServiceProvider.GetRequiredService<IPacer>(),
                ServiceProvider.GetService<IEngineChaos>());
        }

        _logger.LogDebug("Rank {Rank} of pod {Pod} activated with {Slots} slots", _rank, _pod, _options.MaxNumSeqs);
        return Task.CompletedTask;
    }

    public async Task<AdmitResult> Admit(Guid lease, AdmitRequest request, CancellationToken cancellationToken)
    {
        if (_released.TryTake(lease))
        {
            return AdmitResult.Released; // its Release overtook it: the client is gone
        }

        if (_holdings.ContainsKey(lease))
        {
            throw new ArgumentException($"Lease {lease} is already admitted on rank {_rank}.", nameof(lease));
        }

        while (_paused)
        {
            // Asleep (vLLM's paused scheduler): the request waits, as vLLM parks it, until a wake-up resumes the rank.
            if (_parked.Count + Waiting >= _options.MaxWaitingQueueLength)
            {
                return AdmitResult.QueueFull;
            }

            var node = _parked.AddLast(new Parked(lease));
            try
            {
                if (!await node.Value.Resumed.Task.WaitAsync(cancellationToken))
                {
                    return AdmitResult.Released; // released while it waited
                }

                if (_released.TryTake(lease))
                {
                    // Released between the wake-up and this turn (its release found nothing and was remembered).
                    return AdmitResult.Released;
                }
            }
            catch (OperationCanceledException)
            {
                if (node.List is not null)
                {
                    _parked.Remove(node);
                }

                throw;
            }
        }

        if (_engine is not null)
        {
            // Engine clock: taken in at once; the engine decides when it runs (queue time is measured by its stream).
            var ticket = _admitted + 1;
            switch (_engine.TryAdmit(request, ticket))
            {
                case AdmitStatus.QueueFull:
                    return AdmitResult.QueueFull;
                case AdmitStatus.KvCacheTooSmall:
                    return AdmitResult.KvCacheTooSmall;
            }

            _admitted = ticket;
            _engineTickets.Add(lease, ticket);
            return new AdmitResult(AdmitStatus.Admitted, request.Seed ?? _random.NextInt64(), TimeSpan.Zero, TimeSpan.Zero, ticket);
        }

        var holding = new Holding(lease, request, _time.GetTimestamp(), _kv);
        if (holding.Blocks is { } blocks && !_kv!.FitsAtAll(blocks))
        {
            return AdmitResult.KvCacheTooSmall;
        }

        var outcome = _scheduler.TryAdmit(holding);
        NoteLoraChange();
        if (outcome == AdmitOutcome.QueueFull)
        {
            return AdmitResult.QueueFull;
        }

        _holdings.Add(lease, holding);
        if (outcome == AdmitOutcome.Running)
        {
            var started = Start(holding);
            if (started.Finished)
            {
                Free(lease); // nothing to hold the slot for: freed in this turn, as its release would
            }

            return started;
        }

        try
        {
            return await holding.Admitted.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Free(lease); // the caller gave up waiting: the same as its Release (which still comes, and finds nothing)
            throw;
        }
    }

    public Task<bool> Join(long ticket, int outputTokens) =>
        Task.FromResult(_engine?.Join(ticket, outputTokens) ?? false);

    public Task Release(Guid lease)
    {
        Free(lease);
        return Task.CompletedTask;
    }

    public async Task Sleep(int level, PauseMode mode)
    {
        // vLLM pauses the scheduler first (EngineCore.pause_scheduler): 'abort' finishes every request the scheduler holds
        // as FINISHED_ABORTED at once, 'wait' (and here 'keep') lets them finish (README, "Sleep mode").
        _paused = true;
        var epoch = _pauseEpoch;
        if (mode == PauseMode.Abort)
        {
            AbortHeld();
        }

        while (HasInFlight)
        {
            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await _drained.Task;
        }

        if (epoch != _pauseEpoch)
        {
            return; // woken up while it drained: the sleep is over before it began
        }

        if (level >= 1)
        {
            // The KV cache is discarded: vLLM resets the prefix cache, which publishes AllBlocksCleared.
            _kv?.Flush();
            if (_sleepingTags.Count == 0)
            {
                _sleepingTags.UnionWith(SleepTags);
            }
        }

        _sleepLevel = level;
        _logger.LogInformation("Rank {Rank} of pod {Pod} is asleep at level {Level}", _rank, _pod, level);
    }

    /// <summary>
    /// Signals every request this rank holds or parks to end as aborted: their run loops end them (finish_reason
    /// <c>abort</c>) and release their leases, which lets a waiting <see cref="Sleep"/> go on.
    /// </summary>
    private void AbortHeld()
    {
        if (_aborts is null)
        {
            return;
        }

        var signalled = 0;
        IEnumerable<Guid> held = _engine is not null ? _engineTickets.Keys : _holdings.Keys;
        foreach (var lease in held)
        {
            signalled += _aborts.Abort(lease) ? 1 : 0;
        }

        foreach (var parked in _parked)
        {
            signalled += _aborts.Abort(parked.Lease) ? 1 : 0;
        }

        _logger.LogInformation("Rank {Rank} of pod {Pod} aborts {Count} requests as it falls asleep", _rank, _pod, signalled);
    }

    public Task WakeUp(string[]? tags)
    {
        // vLLM: 'scheduling' only resumes; no tags wakes every part; named tags wake those parts.
        var parts = tags?.Where(t => t != SchedulingTag).ToArray();
        if (parts is null)
        {
            _sleepingTags.Clear();
        }
        else
        {
            _sleepingTags.ExceptWith(parts);
        }

        _paused = false;
        _pauseEpoch++;
        _sleepLevel = null;
        while (_parked.First is { } first)
        {
            _parked.RemoveFirst();
            first.Value.Resumed.TrySetResult(true);
        }

        _logger.LogInformation("Rank {Rank} of pod {Pod} woke up (tags: {Tags})", _rank, _pod, tags is null ? "all" : string.Join(',', tags));
        return Task.CompletedTask;
    }

    public Task<bool> IsSleeping() => Task.FromResult(IsAsleep);

    private bool IsAsleep => _paused || _sleepingTags.Count > 0;

    /// <summary>Requests the rank took before it paused and has not freed yet (running or queued for a slot).</summary>
    private bool HasInFlight => _engine is not null ? _engineTickets.Count > 0 : _holdings.Count > 0;

    private int Waiting => _engine?.Waiting ?? _scheduler.Waiting;

    public Task<RankStatus> GetStatus() =>
        Task.FromResult(_engine is { } engine ? EngineStatus(engine) : SlotStatus());

    private RankStatus SlotStatus() =>
        new(_pod, _rank, _scheduler.Running, _scheduler.Waiting + _parked.Count, _options.MaxNumSeqs, _admitted, _completed,
            _kv?.UsedBlocks ?? 0, _kv?.TotalBlocks ?? 0, _kv?.QueriedTokens ?? 0, _kv?.HitTokens ?? 0)
        {
            RunningLoras = [.. _scheduler.RunningAdapters],
            WaitingLoras = [.. _scheduler.WaitingAdapters],
            LoraChanges = [.. _loraChanges],
            SleepLevel = _sleepLevel,
            IsSleeping = IsAsleep,
        };

    private RankStatus EngineStatus(RankEngine engine) =>
        new(_pod, _rank, engine.Running, engine.Waiting + _parked.Count, _options.MaxNumSeqs, _admitted, _completed,
            engine.UsedBlocks, _kv?.TotalBlocks ?? 0, _kv?.QueriedTokens ?? 0, _kv?.HitTokens ?? 0)
        {
            RunningLoras = engine.RunningAdapters,
            WaitingLoras = engine.WaitingAdapters,
            // The engine's adapter sets change every step; the scrape sees their current state.
            LoraChanges = [new LoraChange(string.Join(',', engine.WaitingAdapters), string.Join(',', engine.RunningAdapters), _time.GetUtcNow())],
            SleepLevel = _sleepLevel,
            IsSleeping = IsAsleep,
        };

    public Task<int> FlushKvCache() => Task.FromResult(_kv?.Flush() ?? 0);

    /// <summary>
    /// Gives back everything held under <paramref name="lease"/>, whatever state it is in: a waiting request
    /// leaves the queue (its admission answers <see cref="AdmitStatus.Released"/>); a running one frees its
    /// slot, KV blocks and adapter use, and the waiters that can now run start. An unknown key is remembered,
    /// so its admission, if still on its way, is refused.
    /// </summary>
    private void Free(Guid lease)
    {
        for (var node = _parked.First; node is not null; node = node.Next)
        {
            if (node.Value.Lease == lease)
            {
                // Released while it waited for a wake-up: it never took anything.
                _parked.Remove(node);
                node.Value.Resumed.TrySetResult(false);
                return;
            }
        }

        FreeTaken(lease);
        NoteFreed();
    }

    /// <summary>A sleep waiting for the held requests to finish goes on once nothing is held.</summary>
    private void NoteFreed()
    {
        if (_drained is not null && !HasInFlight)
        {
            _drained.TrySetResult();
            _drained = null;
        }
    }

    private void FreeTaken(Guid lease)
    {
        if (_engine is not null)
        {
            if (_engineTickets.Remove(lease, out var ticket))
            {
                _completed += _engine.Release(ticket) ? 1 : 0;
            }
            else
            {
                _released.Add(lease);
            }

            return;
        }

        if (!_holdings.Remove(lease, out var holding))
        {
            _released.Add(lease);
            return;
        }

        if (holding.IsRunning)
        {
            FreeRunning(holding);
        }
        else
        {
            _scheduler.CancelWaiting(holding);
            holding.Admitted.TrySetResult(AdmitResult.Released);
        }

        NoteLoraChange();
    }

    /// <summary>
    /// Frees a running holding's slot, KV blocks and adapter use and starts the waiters that can now run. A waiter that is
    /// done as it starts (<see cref="AdmitResult.Finished"/>) is freed in turn: a work list, so a long line of instant
    /// requests behind a slot does not recurse.
    /// </summary>
    private void FreeRunning(Holding holding)
    {
        Stack<Holding>? done = null;
        while (true)
        {
            _completed++;
            if (holding.Lease is { } kvLease)
            {
                _kv!.Release(kvLease);
            }

            foreach (var next in _scheduler.Release(holding))
            {
                var started = Start(next);
                if (started.Finished)
                {
                    _holdings.Remove(next.Key);
                    (done ??= new Stack<Holding>()).Push(next);
                }

                next.Admitted.TrySetResult(started);
            }

            if (done is null || !done.TryPop(out holding!))
            {
                return;
            }
        }
    }

    /// <summary>Records a change of the running/waiting adapter sets and its time (vllm:lora_requests_info).</summary>
    private void NoteLoraChange()
    {
        if (_scheduler.AdapterVersion == _lorasVersion)
        {
            return;
        }

        _lorasVersion = _scheduler.AdapterVersion;
        _loraChanges.Enqueue(new LoraChange(string.Join(',', _scheduler.WaitingAdapters), string.Join(',', _scheduler.RunningAdapters), _time.GetUtcNow()));
        while (_loraChanges.Count > LoraChangeWindow)
        {
            _loraChanges.Dequeue();
        }
    }

    /// <summary>The holding got its slot (the scheduler just started it): plans its output.</summary>
    private AdmitResult Start(Holding holding)
    {
        _admitted++;
        holding.IsRunning = true;
        var seed = holding.Request.Seed ?? _random.NextInt64();
        var cached = holding.Lease?.CachedTokens ?? 0;
        var running = _scheduler.Running;
        var latency = _settings.Latency; // the latency settings of this moment (POST /admin/config may change them)
        var ttft = holding.Request.RemotePrefill
            ? latency.NextKvTransferTime(_random, holding.Request.PromptTokens)
            : latency.NextTimeToFirstToken(_random, holding.Request.PromptTokens, cached, running);
        return new AdmitResult(AdmitStatus.Admitted, seed, ttft, _time.GetElapsedTime(holding.EnqueuedAt), 0, cached, latency.LoadFactor(running))
        {
            Finished = holding.Request.Instant && ttft == TimeSpan.Zero,
        };
    }

    private const string SchedulingTag = "scheduling";

    /// <summary>The parts vLLM's executor puts to sleep at level 1 and 2 (its <c>sleeping_tags</c>).</summary>
    private static readonly string[] SleepTags = ["weights", "kv_cache"];

    /// <summary>An admission that arrived while the rank was paused; <see cref="Resumed"/> is true on wake-up, false when released.</summary>
    private sealed record Parked(Guid Lease)
    {
        public TaskCompletionSource<bool> Resumed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>What one request holds on this rank, filed under its lease key: a place in the queue, then a slot, its KV blocks and adapter use.</summary>
    private sealed class Holding(Guid key, AdmitRequest request, long enqueuedAt, RankKvCache? kv)
    {
        /// <summary>The lease key it is filed under.</summary>
        public Guid Key { get; } = key;

        public AdmitRequest Request { get; } = request;

        /// <summary>False while it waits in the queue, true once it holds a slot.</summary>
        public bool IsRunning { get; set; }

        public long EnqueuedAt { get; } = enqueuedAt;

        /// <summary>The prompts' KV blocks (null without the KV cache).</summary>
        public PromptBlocks[]? Blocks { get; } = kv?.BlocksOf(request.PromptTokenIds ?? []);

        /// <summary>The pinned blocks, once the scheduler let the waiter start.</summary>
        public KvLease? Lease { get; private set; }

        /// <summary>Completes when a waiting holding is started (its plan) or released while waiting.</summary>
        public TaskCompletionSource<AdmitResult> Admitted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The scheduler's gate: pins the prompt's blocks, or false when the cache has no room yet.</summary>
        public bool TryAcquireBlocks()
        {
            if (Blocks is null)
            {
                return true;
            }

            Lease = kv!.TryAcquire(Blocks);
            return Lease is not null;
        }
    }
}
