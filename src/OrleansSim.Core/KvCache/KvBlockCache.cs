namespace OrleansSim.Core.KvCache;

/// <summary>One prompt of a request as the cache sees it: its full-block hashes and all its token ids.</summary>
public sealed record PromptBlocks(ulong[] Hashes, int[] TokenIds);

/// <summary>The blocks a running request holds (pinned) and what its prompts found cached.</summary>
public sealed class KvLease
{
    internal KvLease(ulong[][] pinned, int queriedTokens, int cachedTokens)
    {
        Pinned = pinned;
        QueriedTokens = queriedTokens;
        CachedTokens = cachedTokens;
    }

    internal ulong[][] Pinned { get; }

    /// <summary>Prompt tokens looked up (vLLM's prefix-cache queries).</summary>
    public int QueriedTokens { get; }

    /// <summary>Prompt tokens found cached (vLLM's prefix-cache hits; <c>cached_tokens</c> in usage).</summary>
    public int CachedTokens { get; }
}

/// <summary>
/// A rank's KV block table: at most <see cref="Capacity"/> blocks, keyed by block hash. Blocks of running
/// requests are pinned (reference counted); when the last request holding a block ends, the block stays
/// cached on an LRU list until a new block needs its room. Single-threaded by contract (the rank grain owns it).
/// </summary>
/// <remarks>
/// As in vLLM: a prompt's cache hit is its longest cached prefix of full blocks, never the whole prompt (the
/// last token is always computed, so hits stop at <c>(tokens - 1) / block size</c> blocks); freed blocks join
/// the LRU list tail-first, so a prompt's last blocks are evicted before its first ones.
/// </remarks>
public sealed class KvBlockCache
{
    private readonly Dictionary<ulong, Block> _blocks = [];
    private readonly LinkedList<Block> _free = new();

    public KvBlockCache(int capacity, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        Capacity = capacity;
        BlockSize = blockSize;
    }

    public int Capacity { get; }

    public int BlockSize { get; }

    /// <summary>Blocks held by running requests (vLLM's KV cache usage is this over <see cref="Capacity"/>).</summary>
    public int PinnedBlocks { get; private set; }

    /// <summary>Blocks in the table, pinned or free.</summary>
    public int CachedBlocks => _blocks.Count;

    /// <summary>True when the hash is in the table (pinned or free).</summary>
    public bool Contains(ulong hash) => _blocks.ContainsKey(hash);

    /// <summary>Blocks that would become pinned if <paramref name="prompts"/> started now.</summary>
    public int BlocksToPin(IReadOnlyList<PromptBlocks> prompts)
    {
        var distinct = new HashSet<ulong>();
        foreach (var prompt in prompts)
        {
            foreach (var hash in prompt.Hashes)
            {
                if (!(_blocks.TryGetValue(hash, out var block) && block.RefCount > 0))
                {
                    distinct.Add(hash);
                }
            }
        }

        return distinct.Count;
    }

    /// <summary>Whether the prompts could ever fit, with nothing else running.</summary>
    public bool FitsAtAll(IReadOnlyList<PromptBlocks> prompts) =>
        prompts.SelectMany(p => p.Hashes).Distinct().Count() <= Capacity;

    /// <summary>
    /// Pins every full block of <paramref name="prompts"/>, storing the missing ones (evicting LRU free blocks
    /// for room), and appends the resulting events to <paramref name="events"/>. Null (and no change) when the
    /// free and evictable blocks are too few: the request has to wait for running ones to end.
    /// </summary>
    public KvLease? TryAcquire(IReadOnlyList<PromptBlocks> prompts, List<KvCacheEvent> events)
    {
        if (PinnedBlocks + BlocksToPin(prompts) > Capacity)
        {
            return null;
        }

        var pinned = new ulong[prompts.Count][];
        int queried = 0, cached = 0;
        for (var p = 0; p < prompts.Count; p++)
        {
            var (hashes, tokens) = (prompts[p].Hashes, prompts[p].TokenIds);
            var maxHits = Math.Min(hashes.Length, Math.Max(0, tokens.Length - 1) / BlockSize);
            var hits = 0;
            while (hits < maxHits && _blocks.ContainsKey(hashes[hits]))
            {
                hits++;
            }

            queried += tokens.Length;
            cached += hits * BlockSize;
            StoreAndPin(hashes, tokens, events);
            pinned[p] = hashes;
        }

        return new KvLease(pinned, queried, cached);
    }

    /// <summary>
    /// Drops every cached block nobody holds (a chaos <c>kv_flush</c>, like vLLM's prefix-cache reset) and returns how
    /// many; blocks pinned by running requests stay until those finish.
    /// </summary>
    public int ClearUnpinned()
    {
        var cleared = _free.Count;
        foreach (var block in _free)
        {
            _blocks.Remove(block.Hash);
            block.FreeNode = null;
        }

        _free.Clear();
        return cleared;
    }

    /// <summary>Unpins a lease's blocks; blocks nobody holds any more stay cached as the most recently used.</summary>
    public void Release(KvLease lease)
    {
        foreach (var hashes in lease.Pinned)
        {
            for (var i = hashes.Length - 1; i >= 0; i--)
            {
                var block = _blocks[hashes[i]];
                if (--block.RefCount == 0)
                {
                    block.FreeNode = _free.AddLast(block);
                    PinnedBlocks--;
                }
            }
        }
    }

    private void StoreAndPin(ulong[] hashes, int[] tokens, List<KvCacheEvent> events)
    {
        var removed = new List<ulong>();
        var runStart = -1;
        for (var i = 0; i <= hashes.Length; i++)
        {
            var present = i < hashes.Length && _blocks.ContainsKey(hashes[i]);
            if (runStart >= 0 && (present || i == hashes.Length))
            {
                // A run of newly stored blocks ends: report evictions first, then the run with its parent.
                FlushRemoved(removed, events);
                events.Add(new BlockStored(
                    hashes[runStart..i],
                    runStart == 0 ? null : hashes[runStart - 1],
                    tokens[(runStart * BlockSize)..(i * BlockSize)],
                    BlockSize));
                runStart = -1;
            }

            if (i == hashes.Length)
            {
                break;
            }

            if (present)
            {
                Pin(_blocks[hashes[i]]);
                continue;
            }

            if (_blocks.Count >= Capacity)
            {
                var victim = _free.First!.Value;
                _free.RemoveFirst();
                _blocks.Remove(victim.Hash);
                removed.Add(victim.Hash);
            }

            var block = new Block(hashes[i]);
            _blocks[block.Hash] = block;
            Pin(block);
            if (runStart < 0)
            {
                runStart = i;
            }
        }

        FlushRemoved(removed, events);
    }

    private static void FlushRemoved(List<ulong> removed, List<KvCacheEvent> events)
    {
        if (removed.Count > 0)
        {
            events.Add(new BlockRemoved([.. removed]));
            removed.Clear();
        }
    }

    private void Pin(Block block)
    {
        if (block.RefCount++ == 0)
        {
            if (block.FreeNode is { } node)
            {
                _free.Remove(node);
                block.FreeNode = null;
            }

            PinnedBlocks++;
        }
    }

    private sealed class Block(ulong hash)
    {
        public ulong Hash { get; } = hash;

        public int RefCount { get; set; }

        public LinkedListNode<Block>? FreeNode { get; set; }
    }
}
