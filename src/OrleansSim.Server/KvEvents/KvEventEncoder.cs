using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using OrleansSim.Core.KvCache;

namespace OrleansSim.Server.KvEvents;

/// <summary>
/// Encodes a batch of KV events as vLLM's <c>KVEventBatch</c> in msgpack: <c>[ts, [event…], data_parallel_rank]</c>.
/// Events use vLLM's msgspec <c>array_like</c> form by default (<c>["BlockStored", block_hashes, parent_block_hash,
/// token_ids, block_size, lora_id, medium, lora_name]</c>, <c>["BlockRemoved", block_hashes, medium]</c>,
/// <c>["AllBlocksCleared"]</c>), or type-tagged maps (<c>{"type": "BlockStored", "block_hashes": …}</c>) with
/// <c>--kv-events-format map</c>. Trailing fields with defaults (extra_keys, group_idx, …) are omitted, as
/// msgspec's <c>omit_defaults</c> does.
/// </summary>
public static class KvEventEncoder
{
    private const string Medium = "GPU";

    public static byte[] EncodeBatch(IReadOnlyList<KvCacheEvent> events, double timestamp, int dataParallelRank, bool mapFormat)
    {
        var w = new MsgPackWriter();
        w.WriteArrayHeader(3);
        w.WriteFloat64(timestamp);
        w.WriteArrayHeader(events.Count);
        foreach (var e in events)
        {
            if (mapFormat)
            {
                WriteMap(w, e);
            }
            else
            {
                WriteArray(w, e);
            }
        }

        w.WriteUInt(checked((ulong)dataParallelRank));
        return w.ToArray();
    }

    private static void WriteArray(MsgPackWriter w, KvCacheEvent e)
    {
        switch (e)
        {
            case BlockStored s:
                w.WriteArrayHeader(8);
                w.WriteString("BlockStored");
                WriteHashes(w, s.BlockHashes);
                WriteParent(w, s.ParentBlockHash);
                WriteTokens(w, s.TokenIds);
                w.WriteUInt((ulong)s.BlockSize);
                w.WriteNil(); // lora_id
                w.WriteString(Medium);
                w.WriteNil(); // lora_name
                break;
            case BlockRemoved r:
                w.WriteArrayHeader(3);
                w.WriteString("BlockRemoved");
                WriteHashes(w, r.BlockHashes);
                w.WriteString(Medium);
                break;
            case AllBlocksCleared:
                w.WriteArrayHeader(1);
                w.WriteString("AllBlocksCleared");
                break;
            default:
                throw new ArgumentException($"unknown KV event {e.GetType().Name}", nameof(e));
        }
    }

    private static void WriteMap(MsgPackWriter w, KvCacheEvent e)
    {
        switch (e)
        {
            case BlockStored s:
                w.WriteMapHeader(8);
                w.WriteString("type");
                w.WriteString("BlockStored");
                w.WriteString("block_hashes");
                WriteHashes(w, s.BlockHashes);
                w.WriteString("parent_block_hash");
                WriteParent(w, s.ParentBlockHash);
                w.WriteString("token_ids");
                WriteTokens(w, s.TokenIds);
                w.WriteString("block_size");
                w.WriteUInt((ulong)s.BlockSize);
                w.WriteString("lora_id");
                w.WriteNil();
                w.WriteString("medium");
                w.WriteString(Medium);
                w.WriteString("lora_name");
                w.WriteNil();
                break;
            case BlockRemoved r:
                w.WriteMapHeader(3);
                w.WriteString("type");
                w.WriteString("BlockRemoved");
                w.WriteString("block_hashes");
                WriteHashes(w, r.BlockHashes);
                w.WriteString("medium");
                w.WriteString(Medium);
                break;
            case AllBlocksCleared:
                w.WriteMapHeader(1);
                w.WriteString("type");
                w.WriteString("AllBlocksCleared");
                break;
            default:
                throw new ArgumentException($"unknown KV event {e.GetType().Name}", nameof(e));
        }
    }

    private static void WriteHashes(MsgPackWriter w, ulong[] hashes)
    {
        w.WriteArrayHeader(hashes.Length);
        foreach (var h in hashes)
        {
            w.WriteUInt(h);
        }
    }

    private static void WriteParent(MsgPackWriter w, ulong? parent)
    {
        if (parent is { } p)
        {
            w.WriteUInt(p);
        }
        else
        {
            w.WriteNil();
        }
    }

    private static void WriteTokens(MsgPackWriter w, int[] tokens)
    {
        w.WriteArrayHeader(tokens.Length);
        foreach (var t in tokens)
        {
            w.WriteUInt((uint)t);
        }
    }
}

/// <summary>The handful of msgpack items the KV events need, each in its shortest form.</summary>
internal sealed class MsgPackWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public void WriteNil() => WriteByte(0xc0);

    public void WriteArrayHeader(int count) => WriteHeader(count, 0x90, 0xdc, 0xdd);

    public void WriteMapHeader(int count) => WriteHeader(count, 0x80, 0xde, 0xdf);

    public void WriteUInt(ulong value)
    {
        var span = _buffer.GetSpan(9);
        if (value < 0x80)
        {
            span[0] = (byte)value;
            _buffer.Advance(1);
        }
        else if (value <= byte.MaxValue)
        {
            span[0] = 0xcc;
            span[1] = (byte)value;
            _buffer.Advance(2);
        }
        else if (value <= ushort.MaxValue)
        {
            span[0] = 0xcd;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)value);
            _buffer.Advance(3);
        }
        else if (value <= uint.MaxValue)
        {
            span[0] = 0xce;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)value);
            _buffer.Advance(5);
        }
        else
        {
            span[0] = 0xcf;
            BinaryPrimitives.WriteUInt64BigEndian(span[1..], value);
            _buffer.Advance(9);
        }
    }

    public void WriteFloat64(double value)
    {
        var span = _buffer.GetSpan(9);
        span[0] = 0xcb;
        BinaryPrimitives.WriteDoubleBigEndian(span[1..], value);
        _buffer.Advance(9);
    }

    public void WriteString(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        var span = _buffer.GetSpan(5 + length);
        int head;
        if (length < 32)
        {
            span[0] = (byte)(0xa0 | length);
            head = 1;
        }
        else if (length <= byte.MaxValue)
        {
            span[0] = 0xd9;
            span[1] = (byte)length;
            head = 2;
        }
        else if (length <= ushort.MaxValue)
        {
            span[0] = 0xda;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)length);
            head = 3;
        }
        else
        {
            span[0] = 0xdb;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            head = 5;
        }

        Encoding.UTF8.GetBytes(value, span[head..]);
        _buffer.Advance(head + length);
    }

    private void WriteHeader(int count, byte fix, byte code16, byte code32)
    {
        var span = _buffer.GetSpan(5);
        if (count < 16)
        {
            span[0] = (byte)(fix | count);
            _buffer.Advance(1);
        }
        else if (count <= ushort.MaxValue)
        {
            span[0] = code16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)count);
            _buffer.Advance(3);
        }
        else
        {
            span[0] = code32;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)count);
            _buffer.Advance(5);
        }
    }

    private void WriteByte(byte b)
    {
        _buffer.GetSpan(1)[0] = b;
        _buffer.Advance(1);
    }
}
