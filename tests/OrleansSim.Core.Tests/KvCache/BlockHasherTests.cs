using OrleansSim.Core.KvCache;
using Xunit;

namespace OrleansSim.Core.Tests.KvCache;

/// <summary>Fixed vectors: any change to the hash scheme breaks llm-d's index and must fail here.</summary>
public sealed class BlockHasherTests
{
    [Fact]
    public void MatchesLlmDKvCacheGoldenVector()
    {
        // llm-d-kv-cache's UDS tokenizer e2e golden values: block size 4, no hash seed, granite-3.1-8b-instruct,
        // "What is the capital of France?" → 7 tokens → one full block.
        var hasher = new BlockHasher(4, null, "ibm-granite/granite-3.1-8b-instruct");
        Assert.Equal([1334984470577408192UL], hasher.Hash([8197, 438, 322, 18926, 432, 45600, 49]));
    }

    [Fact]
    public void ChainsFullBlocksFromTheRoot()
    {
        var hasher = new BlockHasher(16, "", "test-model");
        int[] tokens = [.. Enumerable.Range(1, 32)];
        Assert.Equal([9540012594951042066UL, 16921089685996993662UL], hasher.Hash(tokens));
    }

    [Fact]
    public void HashSeedAndModelNameChangeTheRoot()
    {
        int[] tokens = [.. Enumerable.Range(100, 16)];
        Assert.Equal([9378952021296697260UL, 8559936648932054566UL], new BlockHasher(8, "42", "Qwen/Qwen2.5-1.5B-Instruct").Hash(tokens));
        Assert.NotEqual(9378952021296697260UL, new BlockHasher(8, "43", "Qwen/Qwen2.5-1.5B-Instruct").Hash(tokens)[0]);
        Assert.NotEqual(9378952021296697260UL, new BlockHasher(8, "42", "other").Hash(tokens)[0]);
    }

    [Fact]
    public void PartialTailBlockHasNoHashAndPrefixesShareHashes()
    {
        var hasher = new BlockHasher(16, null, "test-model");
        Assert.Empty(hasher.Hash([.. Enumerable.Range(1, 15)]));
        var longer = hasher.Hash([.. Enumerable.Range(1, 40)]);
        Assert.Equal(2, longer.Length);
        Assert.Equal(hasher.Hash([.. Enumerable.Range(1, 32)]), longer);
    }

    [Fact]
    public void RootIsFnv64aOfCanonicalCborOfSeedHashNullAndModel()
    {
        // FNV-64a("") is the offset basis; CBOR: 0x83 (array of 3), 0x1b + 8 bytes (uint64), 0xf6 (null), 0x61 'm' (text).
        byte[] cbor = [0x83, 0x1b, 0xcb, 0xf2, 0x9c, 0xe4, 0x84, 0x22, 0x23, 0x25, 0xf6, 0x61, (byte)'m'];
        Assert.Equal(BlockHasher.Fnv64a(cbor), new BlockHasher(16, null, "m").RootHash);
        Assert.Equal(14695981039346656037UL, BlockHasher.Fnv64a([]));
    }
}
