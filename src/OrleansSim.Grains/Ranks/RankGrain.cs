using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Scheduling;

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
    private readonly SlotScheduler<Waiter> _scheduler = new(options.MaxNumSeqs, options.MaxWaitingQueueLength, options.MaxLoras, w => w.Request.Lora);
    private readonly LatencyModel _latency = new(options);
    private readonly Dictionary<long, Waiter> _running = [];
    /// <summary>Adapter-set changes kept for the metrics scrape (more between two scrapes lose only intermediate states).</summary>
    private const int LoraChangeWindow = 64;

    private readonly Queue<LoraChange> _loraChanges = new();
    private long _lorasVersion;
    private Random _random = new(0);
    private string _pod = "";
    private int _rank;
    private long _admitted;
    private long _completed;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_pod, _rank) = RankKey.Parse(this.GetPrimaryKeyString());
        _loraChanges.Enqueue(new LoraChange("", "", time.GetUtcNow()));
        // Each rank draws from its own stream: same --seed and same request order → same outputs.
        _random = new Random(unchecked((int)(options.Seed ^ (options.Seed >> 32)) + (_rank * 7919)));
        logger.LogDebug("Rank {Rank} of pod {Pod} activated with {Slots} slots", _rank, _pod, options.MaxNumSeqs);
        return Task.CompletedTask;
    }

    public async Task<AdmitResult> Admit(AdmitRequest request, CancellationToken cancellationToken)
    {
        var waiter = new Waiter(request, time.GetTimestamp());
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

    public Task Release(long ticket)
    {
        ReleaseSlot(ticket);
        return Task.CompletedTask;
    }

    public Task<RankStatus> GetStatus() =>
        Task.FromResult(new RankStatus(_pod, _rank, _scheduler.Running, _scheduler.Waiting, options.MaxNumSeqs, _admitted, _completed)
        {
            RunningLoras = [.. _scheduler.RunningAdapters],
            WaitingLoras = [.. _scheduler.WaitingAdapters],
            LoraChanges = [.. _loraChanges],
        });

    private void ReleaseSlot(long ticket)
    {
        if (!_running.Remove(ticket, out var finished))
        {
            return;
        }

        _completed++;
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
        _loraChanges.Enqueue(new LoraChange(string.Join(',', _scheduler.WaitingAdapters), string.Join(',', _scheduler.RunningAdapters), time.GetUtcNow()));
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
        var ttft = _latency.NextTimeToFirstToken(_random);
        return new AdmitResult(AdmitStatus.Admitted, seed, ttft, time.GetElapsedTime(waiter.EnqueuedAt), ticket);
    }

    private sealed class Waiter(AdmitRequest request, long enqueuedAt)
    {
        public AdmitRequest Request { get; } = request;

        public long EnqueuedAt { get; } = enqueuedAt;

        public TaskCompletionSource<AdmitResult> Slot { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
