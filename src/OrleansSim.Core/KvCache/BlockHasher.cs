using System.Buffers;
using System.Text;

namespace OrleansSim.Core.KvCache;

/// <summary>
/// KV block hashes exactly as llm-d's kvblock index computes them (its chunked token processor, which
/// llm-d-inference-sim uses): FNV-64a over the canonical CBOR encoding of <c>[parent, [token…], null]</c>
/// for each full block, chained from the previous block's hash. The chain's root is
/// <c>FNV64a(CBOR([FNV64a(hashSeed), null, modelName]))</c>. A partial tail block has no hash.
/// </summary>
public sealed class BlockHasher
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    public BlockHasher(int blockSize, string? hashSeed, string modelName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        BlockSize = blockSize;
        var seed = Fnv64a(Encoding.UTF8.GetBytes(hashSeed ?? ""));
        var root = new ArrayBufferWriter<byte>(64);
        CanonicalCbor.WriteArrayHeader(root, 3);
        CanonicalCbor.WriteUInt(root, seed);
        CanonicalCbor.WriteNull(root);
        CanonicalCbor.WriteText(root, modelName);
        RootHash = Fnv64a(root.WrittenSpan);
    }

    public int BlockSize { get; }

    /// <summary>The parent of a prompt's first block (seed and model name).</summary>
    public ulong RootHash { get; }

    /// <summary>The hashes of the full blocks of <paramref name="tokens"/>, each chained from the one before.</summary>
    public ulong[] Hash(ReadOnlySpan<int> tokens)
    {
        var hashes = new ulong[tokens.Length / BlockSize];
        var buffer = new ArrayBufferWriter<byte>(16 + (BlockSize * 5));
        var parent = RootHash;
        for (var i = 0; i < hashes.Length; i++)
        {
            buffer.ResetWrittenCount();
            CanonicalCbor.WriteArrayHeader(buffer, 3);
            CanonicalCbor.WriteUInt(buffer, parent);
            CanonicalCbor.WriteArrayHeader(buffer, (ulong)BlockSize);
            foreach (var token in tokens.Slice(i * BlockSize, BlockSize))
            {
                CanonicalCbor.WriteUInt(buffer, (uint)token);
            }

            CanonicalCbor.WriteNull(buffer);
            parent = Fnv64a(buffer.WrittenSpan);
            hashes[i] = parent;
        }

        return hashes;
    }

    public static ulong Fnv64a(ReadOnlySpan<byte> bytes)
    {
        var hash = FnvOffset;
        foreach (var b in bytes)
        {
            hash ^= b;
            hash *= FnvPrime;
        }

        return hash;
    }
}

/// <summary>The few items of canonical CBOR (RFC 8949 §4.2) the block hash needs: shortest-form heads only.</summary>
public static class CanonicalCbor
{
    public static void WriteUInt(IBufferWriter<byte> w, ulong value) => WriteHead(w, 0, value);

    public static void WriteArrayHeader(IBufferWriter<byte> w, ulong count) => WriteHead(w, 4, count);

    public static void WriteNull(IBufferWriter<byte> w)
    {
        w.GetSpan(1)[0] = 0xf6;
        w.Advance(1);
    }

    public static void WriteText(IBufferWriter<byte> w, string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        WriteHead(w, 3, (ulong)length);
        var span = w.GetSpan(length);
        Encoding.UTF8.GetBytes(text, span);
        w.Advance(length);
    }

    private static void WriteHead(IBufferWriter<byte> w, int major, ulong value)
    {
        var span = w.GetSpan(9);
        var type = (byte)(major << 5);
        int size;
        if (value < 24)
        {
            span[0] = (byte)(type | (byte)value);
            size = 1;
        }
        else if (value <= byte.MaxValue)
        {
            span[0] = (byte)(type | 24);
            span[1] = (byte)value;
            size = 2;
        }
        else if (value <= ushort.MaxValue)
        {
            span[0] = (byte)(type | 25);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)value);
            size = 3;
        }
        else if (value <= uint.MaxValue)
        {
            span[0] = (byte)(type | 26);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)value);
            size = 5;
        }
        else
        {
            span[0] = (byte)(type | 27);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(span[1..], value);
            size = 9;
        }

        w.Advance(size);
    }
}
