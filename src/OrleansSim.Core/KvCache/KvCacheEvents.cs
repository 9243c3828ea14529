namespace OrleansSim.Core.KvCache;

/// <summary>A change of a rank's KV cache, as vLLM reports it in a <c>KVEventBatch</c>.</summary>
public abstract record KvCacheEvent;

/// <summary>
/// Consecutive blocks of one prompt entered the cache. <paramref name="ParentBlockHash"/> is the hash of
/// the block before the first one (null when the run starts the prompt); <paramref name="TokenIds"/> are
/// the tokens of all the blocks, in order.
/// </summary>
public sealed record BlockStored(ulong[] BlockHashes, ulong? ParentBlockHash, int[] TokenIds, int BlockSize) : KvCacheEvent;

/// <summary>Blocks were evicted.</summary>
public sealed record BlockRemoved(ulong[] BlockHashes) : KvCacheEvent;

/// <summary>The whole cache was reset.</summary>
public sealed record AllBlocksCleared : KvCacheEvent;

/// <summary>
/// Where a rank hands its KV events. Implementations must never block the caller (the rank grain):
/// they queue and drop when full.
/// </summary>
public interface IKvEventSink
{
    void Publish(int rank, KvCacheEvent kvEvent);
}
