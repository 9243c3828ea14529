using Microsoft.Extensions.Time.Testing;
using OrleansSim.Core.Scheduling;
using Xunit;

namespace OrleansSim.Core.Tests.Scheduling;

public sealed class ReleasedKeysTests
{
    [Fact]
    public void AKeyIsTakenOnce()
    {
        var keys = new ReleasedKeys<int>(new FakeTimeProvider(), 10, TimeSpan.FromMinutes(1));
        keys.Add(1);
        Assert.True(keys.TryTake(1));
        Assert.False(keys.TryTake(1));
        Assert.False(keys.TryTake(2));
    }

    [Fact]
    public void KeysAgeOut()
    {
        var time = new FakeTimeProvider();
        var keys = new ReleasedKeys<int>(time, 10, TimeSpan.FromMinutes(1));
        keys.Add(1);
        time.Advance(TimeSpan.FromSeconds(40));
        keys.Add(2);
        time.Advance(TimeSpan.FromSeconds(30)); // 1 is 70 s old, 2 is 30 s old
        Assert.False(keys.TryTake(1));
        Assert.True(keys.TryTake(2));
    }

    [Fact]
    public void TheOldestKeysMakeRoomBeyondCapacity()
    {
        var keys = new ReleasedKeys<int>(new FakeTimeProvider(), 3, TimeSpan.FromMinutes(1));
        for (var k = 0; k < 5; k++)
        {
            keys.Add(k);
        }

        Assert.Equal(3, keys.Count);
        Assert.False(keys.TryTake(0));
        Assert.False(keys.TryTake(1));
        Assert.True(keys.TryTake(2));
        Assert.True(keys.TryTake(4));
    }
}
