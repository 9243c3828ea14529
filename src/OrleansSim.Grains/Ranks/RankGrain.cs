using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Microsoft.Extensions.DependencyInjection;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.KvCache;
using OrleansSim.Core.Scheduling;
using OrleansSim.Grains.KvCache;

namespace OrleansSim.Grains.Ranks;

/// <summary>
/// A rank: <c>--max-num-seqs</c> slots and a FIFO wait queue. Reentrant so that waiting admissions do
/// not block releases; Orleans still runs one turn at a time, so the state needs no locks.
/// </summary>
[Reentrant]
[Orleans.Placement.PreferLocalPlacement]
[CollectionAgeLimit(AlwaysActive = true)]
public sealed class RankGrain(SimulatorOptions options, TimeProvider time, ILogger<RankGrain> logger) : Grain, IRankGrain
{
    // With the KV cache a waiter starts only once its blocks are pinned too (FIFO: the head blocks the rest).
    private readonly SlotScheduler<Waiter> _scheduler = new(options.MaxNumSeqs, options.MaxWaitingQueueLength, static w => w.TryAcquireBlocks());
    private readonly LatencyModel _latency = new(options);
    private readonly Dictionary<long, KvLease?> _running = [];
    private RankKvCache? _kv;
    private Random _random = new(0);
    private string _pod = "";
    private int _rank;
    private long _admitted;
    private long _completed;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_pod, _rank) = RankKey.Parse(this.GetPrimaryKeyString());
        // Each rank draws from its own stream: same --seed and same request order → same outputs.
        _random = new Random(unchecked((int)(options.Seed ^ (options.Seed >> 32)) + (_rank * 7919)));
        _kv = options.EnableKvCache ? new RankKvCache(options, _rank, ServiceProvider.GetService<IKvEventSink>()) : null;
        logger.LogDebug("Rank {Rank} of pod {Pod} activated with {Slots} slots", _rank, _pod, options.MaxNumSeqs);
        return Task.CompletedTask;
    }

    public async Task<AdmitResult> Admit(AdmitRequest request, CancellationToken cancellationToken)
    {
        var waiter = new Waiter(request, time.GetTimestamp(), _kv);
        if (waiter.Blocks is { } blocks && !_kv!.FitsAtAll(blocks))
        {
            return AdmitResult.KvCacheTooSmall;
        }

        switch (_scheduler.TryAdmit(waiter))
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

            throw;
        }
    }

    public Task Release(long ticket)
    {
        ReleaseSlot(ticket);
        return Task.CompletedTask;
    }

    public Task<RankStatus> GetStatus() =>
        Task.FromResult(new RankStatus(
            _pod, _rank, _scheduler.Running, _scheduler.Waiting, options.MaxNumSeqs, _admitted, _completed,
            _kv?.UsedBlocks ?? 0, _kv?.TotalBlocks ?? 0, _kv?.QueriedTokens ?? 0, _kv?.HitTokens ?? 0));

    private void ReleaseSlot(long ticket)
    {
        if (!_running.Remove(ticket, out var lease))
        {
            return;
        }

        _completed++;
        if (lease is not null)
        {
            _kv!.Release(lease);
        }

        if (_scheduler.Release() is { } next)
        {
            next.Slot.TrySetResult(Start(next));
        }

        // Freed blocks may let more waiters start than the one slot freed.
        while (_kv is not null && _scheduler.PromoteWaiting() is { } more)
        {
            more.Slot.TrySetResult(Start(more));
        }
    }


    private AdmitResult Start(Waiter waiter)
    {
        var ticket = ++_admitted;
        _running.Add(ticket, waiter.Lease);
        var seed = waiter.Request.Seed ?? _random.NextInt64();
        var cached = waiter.Lease?.CachedTokens ?? 0;
        var running = _scheduler.Running;
        var ttft = _latency.NextTimeToFirstToken(_random, waiter.Request.PromptTokens, cached, running);
        return new AdmitResult(AdmitStatus.Admitted, seed, ttft, time.GetElapsedTime(waiter.EnqueuedAt), ticket, cached, _latency.LoadFactor(running));
    }

    private sealed class Waiter(AdmitRequest request, long enqueuedAt, RankKvCache? kv)
    {
        public AdmitRequest Request { get; } = request;

        public long EnqueuedAt { get; } = enqueuedAt;

        /// <summary>The prompts' KV blocks (null without the KV cache).</summary>
        public PromptBlocks[]? Blocks { get; } = kv?.BlocksOf(request.PromptTokenIds ?? []);

        /// <summary>The pinned blocks, once the scheduler let the waiter start.</summary>
        public KvLease? Lease { get; private set; }

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

        public TaskCompletionSource<AdmitResult> Slot { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
