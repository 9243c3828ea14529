using OrleansSim.Core.Configuration;
using OrleansSim.Core.Scheduling;
using Xunit;

namespace OrleansSim.Core.Tests.Scheduling;

public sealed class LatencyModelTests
{
    [Fact]
    public void WithoutStdDevTheMeanIsReturnedExactly()
    {
        var model = new LatencyModel(new SimulatorOptions { TimeToFirstToken = TimeSpan.FromMilliseconds(250), InterTokenLatency = TimeSpan.FromMilliseconds(20) });
        var random = new Random(1);
        Assert.Equal(TimeSpan.FromMilliseconds(250), model.NextTimeToFirstToken(random));
        Assert.Equal(TimeSpan.FromMilliseconds(20), model.NextInterTokenLatency(random));
    }

    [Fact]
    public void JitterIsGaussianAroundTheMeanAndClamped()
    {
        var mean = TimeSpan.FromMilliseconds(100);
        var sd = TimeSpan.FromMilliseconds(30);
        var random = new Random(7);
        var samples = Enumerable.Range(0, 20_000).Select(_ => LatencyModel.Jitter(mean, sd, random).TotalMilliseconds).ToList();

        Assert.InRange(samples.Average(), 98, 102);
        var variance = samples.Select(s => (s - samples.Average()) * (s - samples.Average())).Average();
        Assert.InRange(Math.Sqrt(variance), 26, 31); // clamping at ±70 % trims the tails a little
        Assert.All(samples, s => Assert.InRange(s, 30, 170));
    }

    [Fact]
    public void SameSeedSameDraws()
    {
        var model = new LatencyModel(new SimulatorOptions { TimeToFirstToken = TimeSpan.FromMilliseconds(100), TimeToFirstTokenStdDev = TimeSpan.FromMilliseconds(10) });
        var r1 = new Random(3);
        var r2 = new Random(3);
        var first = Enumerable.Range(0, 10).Select(_ => model.NextTimeToFirstToken(r1)).ToList();
        var second = Enumerable.Range(0, 10).Select(_ => model.NextTimeToFirstToken(r2)).ToList();
        Assert.Equal(first, second);
        Assert.True(first.Distinct().Count() > 1);
    }
}
