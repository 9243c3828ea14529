using OrleansSim.Core.Configuration;
using OrleansSim.Core.KvCache;

namespace OrleansSim.Grains.KvCache;

/// <summary>
/// The KV cache of one rank grain (<c>--enable-kvcache</c>): hashes prompts into blocks, pins and stores them
/// through <see cref="KvBlockCache"/>, counts prefix-cache queries and hits, and hands every cache event to the
/// <see cref="IKvEventSink"/> (which never blocks). Used only from the grain's turns.
/// </summary>
internal sealed class RankKvCache(SimulatorOptions options, int rank, IKvEventSink? sink)
{
    private readonly BlockHasher _hasher = new(options.BlockSize, options.HashSeed, options.DisplayModelName);
    private readonly KvBlockCache _cache = new(options.KvCacheSize, options.BlockSize);
    private readonly List<KvCacheEvent> _events = [];

    public int UsedBlocks => _cache.PinnedBlocks;

    public int TotalBlocks => _cache.Capacity;

    public long QueriedTokens { get; private set; }

    public long HitTokens { get; private set; }

    public PromptBlocks[] BlocksOf(IReadOnlyList<int[]> prompts) =>
        [.. prompts.Select(ids => new PromptBlocks(_hasher.Hash(ids), ids))];

    /// <summary>False when the prompts need more blocks than the whole cache holds: waiting would never help.</summary>
    public bool FitsAtAll(PromptBlocks[] blocks) => _cache.FitsAtAll(blocks);

    public KvLease? TryAcquire(PromptBlocks[] blocks)
    {
        var lease = _cache.TryAcquire(blocks, _events);
        if (lease is null)
        {
            return null;
        }

        QueriedTokens += lease.QueriedTokens;
        HitTokens += lease.CachedTokens;
        foreach (var e in _events)
        {
            sink?.Publish(rank, e);
        }

        _events.Clear();
        return lease;
    }

    public void Release(KvLease lease) => _cache.Release(lease);

    /// <summary>Clears the cache (its unpinned blocks) and publishes <c>AllBlocksCleared</c>; returns the blocks dropped.</summary>
    public int Flush()
    {
        var cleared = _cache.ClearUnpinned();
        sink?.Publish(rank, new AllBlocksCleared());
        return cleared;
    }
}
