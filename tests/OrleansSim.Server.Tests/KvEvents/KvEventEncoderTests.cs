using MessagePack;
using OrleansSim.Core.KvCache;
using OrleansSim.Server.KvEvents;

namespace OrleansSim.Server.Tests.KvEvents;

/// <summary>Every event type in both forms, decoded with MessagePack-CSharp.</summary>
public sealed class KvEventEncoderTests
{
    private static object?[] Decode(byte[] payload) => (object?[])MessagePackSerializer.Deserialize<object>(payload)!;

    [Fact]
    public void ArrayFormFollowsVllmFieldOrder()
    {
        var batch = Decode(KvEventEncoder.EncodeBatch([new BlockRemoved([ulong.MaxValue, 7]), new AllBlocksCleared()], 1.5, 3, mapFormat: false));
        Assert.Equal(1.5, batch[0]);
        Assert.Equal(3, Convert.ToInt32(batch[2], System.Globalization.CultureInfo.InvariantCulture));
        var events = (object?[])batch[1]!;
        var removed = (object?[])events[0]!;
        Assert.Equal("BlockRemoved", removed[0]);
        Assert.Equal([ulong.MaxValue, 7UL], ((object?[])removed[1]!).Select(h => Convert.ToUInt64(h, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("GPU", removed[2]);
        Assert.Equal(["AllBlocksCleared"], (object?[])events[1]!);
    }

    [Fact]
    public void MapFormIsTaggedWithType()
    {
        var events = (object?[])Decode(KvEventEncoder.EncodeBatch([new BlockRemoved([42]), new AllBlocksCleared()], 0, 0, mapFormat: true))[1]!;
        var removed = (Dictionary<object, object?>)events[0]!;
        Assert.Equal("BlockRemoved", removed["type"]);
        Assert.Equal("GPU", removed["medium"]);
        var cleared = (Dictionary<object, object?>)events[1]!;
        Assert.Equal("AllBlocksCleared", Assert.Single(cleared).Value);
    }
}
