using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Engine;
using OrleansSim.Core.KvCache;
using OrleansSim.Core.Scheduling;
using OrleansSim.Core.Timing;
using OrleansSim.Grains.KvCache;

namespace OrleansSim.Grains.Ranks;

/// <summary>
/// A rank: <c>--max-num-seqs</c> slots, a wait queue, LoRA residency (<c>--max-loras</c>) and, with
/// <c>--enable-kvcache</c>, the rank's KV blocks. Reentrant so that waiting admissions do not block
/// releases; Orleans still runs one turn at a time, so the state needs no locks.
/// </summary>
[Reentrant]
[Orleans.Placement.PreferLocalPlacement]
[CollectionAgeLimit(AlwaysActive = true)]
public sealed class RankGrain : Grain, IRankGrain
{
    /// <summary>Adapter-set changes kept for the metrics scrape (more between two scrapes lose only intermediate states).</summary>
    private const int LoraChangeWindow = 64;

    private readonly SimulatorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RankGrain> _logger;
    // A waiter starts once a slot is free, its adapter may run, and (with the KV cache) its blocks are pinned.
    private readonly SlotScheduler<Waiter> _scheduler;
    private readonly RuntimeSettings _settings;
    private readonly Dictionary<long, Waiter> _running = [];
    private readonly Queue<LoraChange> _loraChanges = new();
    private long _lorasVersion;
    private RankKvCache? _kv;
    private RankEngine? _engine;
    private Random _random = new(0);
    private string _pod = "";
    private int _rank;
    private long _admitted;
    private long _completed;

    public RankGrain(SimulatorOptions options, RuntimeSettings settings, TimeProvider time, ILogger<RankGrain> logger)
    {
        _options = options;
        _settings = settings;
        _time = time;
        _logger = logger;
        _scheduler = new SlotScheduler<Waiter>(
            options.MaxNumSeqs, options.MaxWaitingQueueLength, options.MaxLoras,
            adapterOf: static w => w.Request.Lora,
            tryStart: static w => w.TryAcquireBlocks());
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_pod, _rank) = RankKey.Parse(this.GetPrimaryKeyString());
        _loraChanges.Enqueue(new LoraChange("", "", _time.GetUtcNow()));
        // Each rank draws from its own stream: same --seed and same request order → same outputs.
        _random = new Random(unchecked((int)(_options.Seed ^ (_options.Seed >> 32)) + (_rank * 7919)));
        _kv = _options.EnableKvCache ? new RankKvCache(_options, _rank, ServiceProvider.GetService<IKvEventSink>()) : null;
        if (_options.EngineClock)
        {
            // The step loop runs as turns of this grain (EngineLoop never leaves the grain's scheduler); the board is
            // this process's, shared with the front-ends of this pod (docs/architecture.md, "engine clock").
            _engine = new RankEngine(
                _options, this.GetPrimaryKeyString(), _rank, _kv, ServiceProvider.GetRequiredService<EngineBoard>(),
                ServiceProvider.GetService<IEngineStepSink>(), _time, ServiceProvider.GetRequiredService<IPacer>());
        }

        _logger.LogDebug("Rank {Rank} of pod {Pod} activated with {Slots} slots", _rank, _pod, _options.MaxNumSeqs);
        return Task.CompletedTask;
    }

    public async Task<AdmitResult> Admit(AdmitRequest request, CancellationToken cancellationToken)
    {
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
            return new AdmitResult(AdmitStatus.Admitted, request.Seed ?? _random.NextInt64(), TimeSpan.Zero, TimeSpan.Zero, ticket);
        }

        var waiter = new Waiter(request, _time.GetTimestamp(), _kv);
        if (waiter.Blocks is { } blocks && !_kv!.FitsAtAll(blocks))
        {
            return AdmitResult.KvCacheTooSmall;
        }

        var outcome = _scheduler.TryAdmit(waiter);
        NoteLoraChange();
        switch (outcome)
        {
            case AdmitOutcome.Running:
                return Start(waiter);
            case AdmitOutcome.QueueFull:
                return AdmitResult.QueueFull;
        }

        try
        {
            return await waiter.Slot.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Either still queued (drop it), or promoted in the same instant (give the slot back).
            if (!_scheduler.CancelWaiting(waiter) && waiter.Slot.Task.IsCompletedSuccessfully)
            {
                ReleaseSlot(waiter.Slot.Task.Result.Ticket);
            }

            NoteLoraChange();
            throw;
        }
    }

    public Task<bool> Join(long ticket, int outputTokens) =>
        Task.FromResult(_engine?.Join(ticket, outputTokens) ?? false);

    public Task Release(long ticket)
    {
        if (_engine is not null)
        {
            _completed += _engine.Release(ticket) ? 1 : 0;
            return Task.CompletedTask;
        }

        ReleaseSlot(ticket);
        return Task.CompletedTask;
    }

    public Task<RankStatus> GetStatus() =>
        Task.FromResult(_engine is { } engine ? EngineStatus(engine) : new RankStatus(
            _pod, _rank, _scheduler.Running, _scheduler.Waiting, _options.MaxNumSeqs, _admitted, _completed,
            _kv?.UsedBlocks ?? 0, _kv?.TotalBlocks ?? 0, _kv?.QueriedTokens ?? 0, _kv?.HitTokens ?? 0)
        {
            RunningLoras = [.. _scheduler.RunningAdapters],
            WaitingLoras = [.. _scheduler.WaitingAdapters],
            LoraChanges = [.. _loraChanges],
        });

    private RankStatus EngineStatus(RankEngine engine) =>
        new(_pod, _rank, engine.Running, engine.Waiting, _options.MaxNumSeqs, _admitted, _completed,
            engine.UsedBlocks, _kv?.TotalBlocks ?? 0, _kv?.QueriedTokens ?? 0, _kv?.HitTokens ?? 0)
        {
            RunningLoras = engine.RunningAdapters,
            WaitingLoras = engine.WaitingAdapters,
            // The engine's adapter sets change every step; the scrape sees their current state.
            LoraChanges = [new LoraChange(string.Join(',', engine.WaitingAdapters), string.Join(',', engine.RunningAdapters), _time.GetUtcNow())],
        };

    private void ReleaseSlot(long ticket)
    {
        if (!_running.Remove(ticket, out var finished))
        {
            return;
        }

        _completed++;
        if (finished.Lease is { } lease)
        {
            _kv!.Release(lease);
        }

        foreach (var next in _scheduler.Release(finished))
        {
            next.Slot.TrySetResult(Start(next));
        }

        NoteLoraChange();
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

    private AdmitResult Start(Waiter waiter)
    {
        var ticket = ++_admitted;
        _running.Add(ticket, waiter);
        var seed = waiter.Request.Seed ?? _random.NextInt64();
        var cached = waiter.Lease?.CachedTokens ?? 0;
        var running = _scheduler.Running;
        var latency = _settings.Latency; // the latency settings of this moment (POST /admin/config may change them)
        var ttft = latency.NextTimeToFirstToken(_random, waiter.Request.PromptTokens, cached, running);
        return new AdmitResult(AdmitStatus.Admitted, seed, ttft, _time.GetElapsedTime(waiter.EnqueuedAt), ticket, cached, latency.LoadFactor(running));
    }

    private sealed class Waiter(AdmitRequest request, long enqueuedAt, RankKvCache? kv)
    {
        public AdmitRequest Request { get; } = request;

        public long EnqueuedAt { get; } = enqueuedAt;

        /// <summary>The prompts' KV blocks (null without the KV cache).</summary>
        public PromptBlocks[]? Blocks { get; } = kv?.BlocksOf(request.PromptTokenIds ?? []);

        /// <summary>The pinned blocks, once the scheduler let the waiter start.</summary>
        public KvLease? Lease { get; private set; }

        public TaskCompletionSource<AdmitResult> Slot { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

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
