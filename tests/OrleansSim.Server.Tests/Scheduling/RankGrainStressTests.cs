using Microsoft.Extensions.DependencyInjection;
using OrleansSim.Core.Engine;
using OrleansSim.Grains.Ranks;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Scheduling;

/// <summary>
/// Seeded randomized stress of the real rank grains in the server's own silo (DP 2, KV cache with pinned blocks,
/// more LoRA adapters than <c>--max-loras</c>): thousands of admissions, each given up at a random point of its way —
/// released before its admission arrives, cancelled before the call, while queued, at the instant a slot frees for
/// it, while it runs, during its release, released twice; a third of them instant (freed as they start). Afterwards nothing is held: no running or waiting request,
/// no pinned block, no adapter in use, every slot granted was freed, and every admission ended in exactly one outcome.
/// Run with the constant latency model (the grain queues and starts requests) and with the engine clock
/// (<c>--latency-calculator step</c>: the grain's batch engine does, and admitted requests join it and read some of their
/// token deadlines before they go). The seed is printed and named in any failure (<see cref="StressSeed"/>).
/// </summary>
public sealed class RankGrainStressTests
{
    private const int Ranks = 2;
    private const int Slots = 4;
    private const int QueueLength = 24;
    private const int MaxLoras = 2;
    private const int KvBlocks = 32;
    private const int BlockSize = 4;
    private const int Admissions = 4000;
    private const int Concurrency = 64;

    private static readonly string?[] Adapters = [null, "lora-1", "lora-2", "lora-3", "lora-4", "lora-5"];

    private enum Way
    {
        ReleasedBeforeAdmit,
        CancelledBeforeCall,
        CancelledWhileQueued,
        ReleaseRacesAdmit,
        CancelledAtPromotion,
        ReleasedMidRun,
        CancelledDuringRelease,
        ReleasedTwice,
    }

    private enum Outcome
    {
        Admitted,
        Released,
        Cancelled,
        QueueFull,
        KvCacheTooSmall,
    }

    /// <param name="sleepy">
    /// The ranks are also put to sleep (random level) and woken (random tags) all along, as POST /sleep and /wake_up do:
    /// admissions then also wait parked, and are given up there.
    /// </param>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public Task ThousandsOfAdmissionsGivenUpAtRandomPointsLeaveNothingHeld(bool engineClock, bool sleepy) => StressSeed.RunAsync(async seed =>
    {
        await using var host = await SimHost.StartAsync(o => o with
        {
            LatencyCalculator = engineClock ? "step" : "",
            MaxNumSeqs = Slots,
            MaxWaitingQueueLength = QueueLength,
            EnableKvCache = true,
            KvCacheSize = KvBlocks,
            BlockSize = BlockSize,
            ZmqEndpoint = "",
            MaxLoras = MaxLoras,
        }, ranks: Ranks);
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var ranks = Enumerable.Range(0, Ranks).Select(r => grains.GetGrain<IRankGrain>(RankKey.For(host.Options.PodName, r))).ToArray();
        var board = engineClock ? host.Services.GetRequiredService<EngineBoard>() : null;

        var outcomes = new int[Enum.GetValues<Outcome>().Length];
        var releases = new ReleaseSignal();
        var next = -1;
        using var stop = new CancellationTokenSource();
        // The engine counts admitted requests that have not joined yet as waiting, beyond the queue's length.
        var watcher = WatchBoundsAsync(ranks, engineClock ? Concurrency : QueueLength, stop.Token);
        using var stopSleeping = new CancellationTokenSource();
        var sleeper = sleepy ? SleepAndWakeAsync(ranks, new Random(seed ^ 0x51EE9), stopSleeping.Token) : Task.CompletedTask;

        async Task Worker(int worker)
        {
            var random = new Random(seed + (worker * 7919));
            while (Interlocked.Increment(ref next) < Admissions)
            {
                var rank = ranks[random.Next(Ranks)];
                var way = (Way)random.Next(Enum.GetValues<Way>().Length);
                var outcome = await AdmitOnceAsync(rank, way, RequestFor(random), random, releases, board);
                Interlocked.Increment(ref outcomes[(int)outcome]);
            }
        }

        try
        {
            await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(Worker)).WaitAsync(TimeSpan.FromSeconds(120), TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            var stuck = await Task.WhenAll(ranks.Select(r => r.GetStatus()));
            Assert.Fail("admissions still waiting after 120 s (a slot or a queue place that is never freed?): "
                + string.Join("; ", stuck.Select(s => $"rank {s.Rank}: running {s.Running}, waiting {s.Waiting}, pinned blocks {s.KvBlocksUsed}, adapters [{string.Join(',', s.RunningLoras)}]")));
        }
        await stopSleeping.CancelAsync();
        await sleeper; // ends with every rank awake
        await stop.CancelAsync();
        await watcher;

        var summary = string.Join(", ", Enum.GetValues<Outcome>().Select(o => $"{o} {outcomes[(int)o]}"));
        TestContext.Current.TestOutputHelper?.WriteLine(summary);
        Assert.True(outcomes.Sum() == Admissions, $"every admission ends in one outcome: {summary}");
        Assert.True(outcomes[(int)Outcome.Admitted] > 0 && outcomes[(int)Outcome.Released] > 0 && outcomes[(int)Outcome.Cancelled] > 0,
            $"the mix reaches the ways it is meant to: {summary}");

        var statuses = await Task.WhenAll(ranks.Select(r => r.GetStatus()));
        foreach (var s in statuses)
        {
            Assert.True(s is { Running: 0, Waiting: 0, KvBlocksUsed: 0, RunningLoras.Count: 0, WaitingLoras.Count: 0 },
                $"rank {s.Rank} holds nothing: running {s.Running}, waiting {s.Waiting}, pinned blocks {s.KvBlocksUsed}, running adapters [{string.Join(',', s.RunningLoras)}], waiting adapters [{string.Join(',', s.WaitingLoras)}]");
            Assert.True(s.Admitted == s.Completed, $"rank {s.Rank}: every slot granted was freed ({s.Admitted} granted, {s.Completed} freed)");
            Assert.True(s is { IsSleeping: false, SleepLevel: null }, $"rank {s.Rank} is awake");
        }

        // A grant the caller's cancellation overtook counts on the rank but not as the caller's Admitted; a Released,
        // QueueFull or KvCacheTooSmall answer never holds a slot.
        var granted = statuses.Sum(s => s.Admitted);
        Assert.InRange(granted, outcomes[(int)Outcome.Admitted],
            Admissions - outcomes[(int)Outcome.Released] - outcomes[(int)Outcome.QueueFull] - outcomes[(int)Outcome.KvCacheTooSmall]);

        // Every slot of both ranks is free: a full set of admissions runs at once, none waits.
        foreach (var rank in ranks)
        {
            var leases = Enumerable.Range(0, Slots).Select(_ => new RankLease(rank)).ToArray();
            var plans = await Task.WhenAll(leases.Select(l => l.AdmitAsync(new AdmitRequest("fresh", null, [[1, 2, 3]]), CancellationToken.None)));
            Assert.All(plans, p => Assert.Equal(AdmitStatus.Admitted, p.Status));
            var (running, waiting) = await RunningWaitingAsync(rank);
            // The engine counts an admitted request as waiting until it joins; the constant model runs it at once.
            Assert.Equal(Slots, running + waiting);
            Assert.True(engineClock || waiting == 0, $"{running} running, {waiting} waiting");
            foreach (var lease in leases)
            {
                await lease.DisposeAsync();
            }

            Assert.Equal((0, 0), await RunningWaitingAsync(rank));
        }
    });

    /// <summary>Puts every rank to sleep and wakes it again at random moments until stopped; then wakes them for good.</summary>
    private static async Task SleepAndWakeAsync(IRankGrain[] ranks, Random random, CancellationToken stop)
    {
        string[]?[] wakeUps = [null, ["weights"], ["kv_cache"], ["scheduling"], ["weights", "kv_cache"]];
        var naps = 0;
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(random.Next(2, 30), CancellationToken.None);
            var level = random.Next(3);
            await Task.WhenAll(ranks.Select(r => r.Sleep(level, PauseMode.Wait))); // returns once the requests the ranks held are freed (raw grain calls: no run loop to abort)
            naps++;
            await Task.Delay(random.Next(2, 30), CancellationToken.None);
            var tags = wakeUps[random.Next(wakeUps.Length)];
            await Task.WhenAll(ranks.Select(r => r.WakeUp(tags)));
        }

        await Task.WhenAll(ranks.Select(r => r.WakeUp(null)));
        Assert.True(naps > 0, "the ranks slept at least once while admissions ran");
    }

    private static async Task<(int Running, int Waiting)> RunningWaitingAsync(IRankGrain rank)
    {
        var status = await rank.GetStatus();
        return (status.Running, status.Waiting);
    }

    /// <summary>One admission taken the given way; whatever happens, its lease releases it at the end.</summary>
    private static async Task<Outcome> AdmitOnceAsync(IRankGrain rank, Way way, AdmitRequest request, Random random, ReleaseSignal releases, EngineBoard? board)
    {
        await using var lease = new RankLease(rank);
        using var cancel = new CancellationTokenSource();
        try
        {
            switch (way)
            {
                case Way.ReleasedBeforeAdmit:
                    {
                        await lease.ReleaseAsync();
                        var late = await rank.Admit(lease.Key, request, CancellationToken.None);
                        Assert.Equal(AdmitStatus.Released, late.Status); // its release came first: nothing may be taken
                        return Outcome.Released;
                    }

                case Way.CancelledBeforeCall:
                    await cancel.CancelAsync();
                    return Of(await lease.AdmitAsync(request, cancel.Token));

                case Way.CancelledWhileQueued:
                    {
                        var admit = lease.AdmitAsync(request, cancel.Token);
                        await Pause(random);
                        await cancel.CancelAsync();
                        return Of(await admit);
                    }

                case Way.ReleaseRacesAdmit:
                    {
                        var admit = lease.AdmitAsync(request, CancellationToken.None);
                        await Pause(random);
                        await lease.ReleaseAsync();
                        return Of(await admit);
                    }

                case Way.CancelledAtPromotion:
                    {
                        // The next release anywhere promotes waiters; the cancellation races the grant it may bring.
                        var promoted = releases.Next;
                        var admit = lease.AdmitAsync(request, cancel.Token);
                        await Task.WhenAny(promoted, admit);
                        await cancel.CancelAsync();
                        return Of(await admit);
                    }

                case Way.ReleasedMidRun:
                    {
                        var plan = await lease.AdmitAsync(request, CancellationToken.None);
                        await RunAWhileAsync(rank, plan, random, board);
                        return Of(plan);
                    }

                case Way.CancelledDuringRelease:
                    {
                        var admit = lease.AdmitAsync(request, cancel.Token);
                        await Pause(random);
                        await Task.WhenAll(lease.ReleaseAsync(), cancel.CancelAsync(), rank.Release(lease.Key));
                        return Of(await admit);
                    }

                case Way.ReleasedTwice:
                    {
                        var plan = await lease.AdmitAsync(request, CancellationToken.None);
                        await RunAWhileAsync(rank, plan, random, board);
                        await rank.Release(lease.Key);
                        await rank.Release(lease.Key);
                        return Of(plan);
                    }

                default:
                    throw new ArgumentOutOfRangeException(nameof(way));
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return Outcome.Cancelled;
        }
        finally
        {
            await lease.ReleaseAsync();
            releases.Fire();
        }
    }

    /// <summary>
    /// An admitted request runs for a random while: a pause, or with the engine clock (<paramref name="board"/>) it joins
    /// the engine as the run loop does and reads a few of its token deadlines (as many as it produces at most).
    /// </summary>
    private static async Task RunAWhileAsync(IRankGrain rank, AdmitResult plan, Random random, EngineBoard? board)
    {
        if (board is null || plan.Status != AdmitStatus.Admitted || random.Next(4) == 0)
        {
            await Pause(random);
            return;
        }

        var key = rank.GetPrimaryKeyString();
        var tokens = random.Next(1, 6);
        var stream = board.Open(key, plan.Ticket);
        if (!await rank.Join(plan.Ticket, tokens))
        {
            board.Forget(key, plan.Ticket);
            return;
        }

        for (var k = random.Next(tokens + 1); k > 0; k--)
        {
            await stream.NextDueAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    private static Outcome Of(AdmitResult plan) => plan.Status switch
    {
        AdmitStatus.Admitted => Outcome.Admitted,
        AdmitStatus.Released => Outcome.Released,
        AdmitStatus.QueueFull => Outcome.QueueFull,
        AdmitStatus.KvCacheTooSmall => Outcome.KvCacheTooSmall,
        _ => throw new ArgumentOutOfRangeException(nameof(plan), plan.Status, "unknown status"),
    };

    /// <summary>A random point: at once, after a few scheduler turns, or after a short sleep.</summary>
    private static async Task Pause(Random random)
    {
        switch (random.Next(3))
        {
            case 0:
                break;
            case 1:
                for (var i = random.Next(1, 8); i > 0; i--)
                {
                    await Task.Yield();
                }

                break;
            default:
                await Task.Delay(random.Next(1, 4));
                break;
        }
    }

    /// <summary>
    /// A prompt of 1–60 tokens (1–15 blocks of 4, sharing prefixes so some blocks hit the cache), now and then one larger
    /// than the whole cache; the base model or one of five adapters (two may run at once).
    /// </summary>
    private static AdmitRequest RequestFor(Random random)
    {
        var length = random.Next(50) == 0 ? (KvBlocks + 1) * BlockSize : random.Next(1, 61);
        var prefix = random.Next(4);
        var tokens = new int[length];
        for (var i = 0; i < length; i++)
        {
            tokens[i] = i < 16 ? (prefix * 100) + i : random.Next(1000, 50_000);
        }

        long? seed = random.Next(2) == 0 ? random.Next() : null;
        // A third are instant (no simulated time): freed in the turn that starts them, also when a release promotes them.
        return new AdmitRequest($"stress-{random.Next()}", seed, [tokens]) { Lora = Adapters[random.Next(Adapters.Length)], Instant = random.Next(3) == 0 };
    }

    /// <summary>While the stress runs, every rank stays within its bounds: slots, queue, blocks and resident adapters.</summary>
    private static async Task WatchBoundsAsync(IRankGrain[] ranks, int maxWaiting, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            foreach (var rank in ranks)
            {
                var s = await rank.GetStatus();
                Assert.True(s.Running <= Slots && s.Waiting <= maxWaiting && s.KvBlocksUsed <= s.KvBlocksTotal,
                    $"rank {s.Rank} within bounds: running {s.Running}, waiting {s.Waiting}, blocks {s.KvBlocksUsed}/{s.KvBlocksTotal}");
                Assert.True(s.RunningLoras.Count <= MaxLoras, $"rank {s.Rank}: at most {MaxLoras} adapters resident, saw [{string.Join(',', s.RunningLoras)}]");
                foreach (var change in s.LoraChanges)
                {
                    var resident = change.Running.Length == 0 ? 0 : change.Running.Split(',').Length;
                    Assert.True(resident <= MaxLoras, $"rank {s.Rank}: at most {MaxLoras} adapters resident, the history shows [{change.Running}]");
                }
            }

            try
            {
                await Task.Delay(10, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Completes a task at every release (anywhere), so a waiter can cancel at the instant a slot frees.</summary>
    private sealed class ReleaseSignal
    {
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Next => Volatile.Read(ref _next).Task;

        public void Fire() =>
            Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
