using OrleansSim.Core.KvCache;
using OrleansSim.Core.Scheduling;
using Xunit;

namespace OrleansSim.Core.Tests.KvCache;

public sealed class KvBlockCacheTests
{
    private const int BlockSize = 4;
    private static readonly BlockHasher Hasher = new(BlockSize, null, "m");

    /// <summary>A prompt of <paramref name="blocks"/> full blocks plus one token, starting at <paramref name="first"/>.</summary>
    private static PromptBlocks Prompt(int first, int blocks)
    {
        int[] ids = [.. Enumerable.Range(first, (blocks * BlockSize) + 1)];
        return new PromptBlocks(Hasher.Hash(ids), ids);
    }

    [Fact]
    public void FirstRequestStoresItsBlocksAndARepeatHitsThem()
    {
        var cache = new KvBlockCache(8, BlockSize);
        var events = new List<KvCacheEvent>();
        var prompt = Prompt(1, 3);

        var first = cache.TryAcquire([prompt], events)!;
        Assert.Equal(0, first.CachedTokens);
        Assert.Equal(13, first.QueriedTokens);
        var stored = Assert.IsType<BlockStored>(Assert.Single(events));
        Assert.Equal(prompt.Hashes, stored.BlockHashes);
        Assert.Null(stored.ParentBlockHash);
        Assert.Equal(prompt.TokenIds[..12], stored.TokenIds);
        Assert.Equal(3, cache.PinnedBlocks);

        events.Clear();
        var second = cache.TryAcquire([prompt], events)!;
        Assert.Equal(12, second.CachedTokens);
        Assert.Empty(events);
        Assert.Equal(3, cache.PinnedBlocks); // shared, not doubled

        cache.Release(first);
        cache.Release(second);
        Assert.Equal(0, cache.PinnedBlocks);
        Assert.Equal(3, cache.CachedBlocks);
    }

    [Fact]
    public void ExtendingAPromptStoresOnlyTheNewBlocksWithTheirParent()
    {
        var cache = new KvBlockCache(8, BlockSize);
        var events = new List<KvCacheEvent>();
        var shortPrompt = Prompt(1, 2);
        cache.Release(cache.TryAcquire([shortPrompt], events)!);
        events.Clear();

        var longPrompt = Prompt(1, 4);
        var lease = cache.TryAcquire([longPrompt], events)!;
        Assert.Equal(8, lease.CachedTokens);
        var stored = Assert.IsType<BlockStored>(Assert.Single(events));
        Assert.Equal(longPrompt.Hashes[2..], stored.BlockHashes);
        Assert.Equal(longPrompt.Hashes[1], stored.ParentBlockHash);
        Assert.Equal(longPrompt.TokenIds[8..16], stored.TokenIds);
    }

    [Fact]
    public void AFullyCachedPromptStillComputesItsLastToken()
    {
        var cache = new KvBlockCache(8, BlockSize);
        int[] ids = [.. Enumerable.Range(1, 8)]; // exactly two blocks
        var prompt = new PromptBlocks(Hasher.Hash(ids), ids);
        cache.Release(cache.TryAcquire([prompt], [])!);
        Assert.Equal(4, cache.TryAcquire([prompt], [])!.CachedTokens); // as vLLM: hits stop before the last token
    }

    [Fact]
    public void FreedBlocksAreEvictedLeastRecentlyUsedFirstAndTailFirst()
    {
        var cache = new KvBlockCache(4, BlockSize);
        var a = Prompt(100, 2);
        var b = Prompt(200, 2);
        var leaseA = cache.TryAcquire([a], [])!;
        var leaseB = cache.TryAcquire([b], [])!;
        cache.Release(leaseA); // A freed first: least recently used
        cache.Release(leaseB);

        var events = new List<KvCacheEvent>();
        var c = Prompt(300, 1);
        cache.TryAcquire([c], events);
        var removed = Assert.IsType<BlockRemoved>(events[0]);
        Assert.Equal([a.Hashes[1]], removed.BlockHashes); // A's tail block goes first; its head stays usable
        Assert.IsType<BlockStored>(events[1]);
        Assert.True(cache.Contains(a.Hashes[0]));
        Assert.True(cache.Contains(b.Hashes[0]) && cache.Contains(b.Hashes[1]));
    }

    [Fact]
    public void PinnedBlocksAreNeverEvictedAndARequestWithoutRoomGetsNothing()
    {
        var cache = new KvBlockCache(4, BlockSize);
        var a = Prompt(100, 3);
        var leaseA = cache.TryAcquire([a], [])!;

        var events = new List<KvCacheEvent>();
        var b = Prompt(200, 2);
        Assert.Null(cache.TryAcquire([b], events));
        Assert.Empty(events);
        Assert.Equal(3, cache.PinnedBlocks);
        Assert.True(cache.FitsAtAll([b]));
        Assert.False(cache.FitsAtAll([Prompt(300, 5)]));

        cache.Release(leaseA);
        Assert.NotNull(cache.TryAcquire([b], events));
        Assert.Equal(2, a.Hashes.Count(cache.Contains)); // one of A's blocks made room
    }

    [Fact]
    public void GatedSchedulerKeepsARequestWaitingUntilBlocksFree()
    {
        var cache = new KvBlockCache(4, BlockSize);
        var leases = new Dictionary<string, KvLease>();
        var prompts = new Dictionary<string, PromptBlocks>
        {
            ["a"] = Prompt(100, 3),
            ["b"] = Prompt(200, 3),
            ["c"] = Prompt(300, 2),
            ["d"] = Prompt(400, 1),
        };
        var scheduler = new SlotScheduler<string>(4, 10, tryStart: name =>
        {
            if (cache.TryAcquire([prompts[name]], []) is not { } lease)
            {
                return false;
            }

            leases[name] = lease;
            return true;
        });

        Assert.Equal(AdmitOutcome.Running, scheduler.TryAdmit("a"));
        Assert.Equal(AdmitOutcome.Queued, scheduler.TryAdmit("b")); // a slot is free but the blocks are not
        Assert.Equal(AdmitOutcome.Queued, scheduler.TryAdmit("c"));
        Assert.Equal(AdmitOutcome.Queued, scheduler.TryAdmit("d")); // FIFO: d would fit, but waits behind b
        Assert.Equal(1, scheduler.Running);

        cache.Release(leases["a"]);
        Assert.Equal(["b"], scheduler.Release("a")); // c needs 2 blocks, b pins 3 of 4: c and d keep waiting
        Assert.Empty(scheduler.PromoteWaiting());

        cache.Release(leases["b"]);
        Assert.Equal(["c", "d"], scheduler.Release("b")); // the freed blocks let two start after one release
        Assert.Empty(scheduler.PromoteWaiting());
        Assert.Equal(2, scheduler.Running);
        Assert.Equal(3, cache.PinnedBlocks);
    }
}
