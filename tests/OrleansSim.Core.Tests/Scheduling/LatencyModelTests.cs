using OrleansSim.Core.Generation;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Scheduling;
using Xunit;

namespace OrleansSim.Core.Tests.Scheduling;

public sealed class LatencyModelTests
{
    private static readonly SimRandom Rng = new(1);

    private static SimulatorOptions Options(string calculator = "") => new()
    {
        Model = "m",
        MaxNumSeqs = 5,
        TimeToFirstToken = TimeSpan.FromMilliseconds(100),
        InterTokenLatency = TimeSpan.FromMilliseconds(10),
        PrefillOverhead = TimeSpan.FromMilliseconds(20),
        PrefillTimePerToken = TimeSpan.FromMilliseconds(2),
        TimeFactorUnderLoad = 3,
        LatencyCalculator = calculator,
    };

    [Fact]
    public void PerTokenCountsOnlyUncachedPromptTokens()
    {
        var model = new LatencyModel(Options("per-token"));
        Assert.Equal(TimeSpan.FromMilliseconds(20 + (100 * 2)), model.NextTimeToFirstToken(Rng, 100, 0, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(20 + (4 * 2)), model.NextTimeToFirstToken(Rng, 100, 96, 1));
    }

    [Fact]
    public void ConstantIgnoresThePromptAndLegacyPicksByTtft()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(100), new LatencyModel(Options("constant")).NextTimeToFirstToken(Rng, 1000, 0, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(100), new LatencyModel(Options()).NextTimeToFirstToken(Rng, 1000, 0, 1));
        var legacyPerToken = new LatencyModel(Options() with { TimeToFirstToken = TimeSpan.Zero });
        Assert.Equal(TimeSpan.FromMilliseconds(20 + 20), legacyPerToken.NextTimeToFirstToken(Rng, 10, 0, 1));
    }

    [Fact]
    public void LoadScalesLinearlyFromOneRequestToMaxNumSeqs()
    {
        var model = new LatencyModel(Options("constant"));
        Assert.Equal(1.0, model.LoadFactor(1));
        Assert.Equal(2.0, model.LoadFactor(3));
        Assert.Equal(3.0, model.LoadFactor(5));
        Assert.Equal(TimeSpan.FromMilliseconds(300), model.NextTimeToFirstToken(Rng, 0, 0, 5));
        Assert.Equal(TimeSpan.FromMilliseconds(20), model.NextInterTokenLatency(Rng, model.LoadFactor(3)));
        var perToken = new LatencyModel(Options("per-token"));
        Assert.Equal(TimeSpan.FromMilliseconds((20 + (10 * 2)) * 2), perToken.NextTimeToFirstToken(Rng, 10, 0, 3));
        Assert.Equal(1.0, new LatencyModel(Options() with { MaxNumSeqs = 1 }).LoadFactor(1));
    }
}

public sealed class LatencyJitterTests
{
    [Fact]
    public void WithoutStdDevTheMeanIsReturnedExactly()
    {
        var model = new LatencyModel(new SimulatorOptions { TimeToFirstToken = TimeSpan.FromMilliseconds(250), InterTokenLatency = TimeSpan.FromMilliseconds(20) });
        var random = new SimRandom(1);
        Assert.Equal(TimeSpan.FromMilliseconds(250), model.NextTimeToFirstToken(random));
        Assert.Equal(TimeSpan.FromMilliseconds(20), model.NextInterTokenLatency(random));
    }

    [Fact]
    public void JitterIsGaussianAroundTheMeanAndClamped()
    {
        var mean = TimeSpan.FromMilliseconds(100);
        var sd = TimeSpan.FromMilliseconds(30);
        var random = new SimRandom(7);
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
        var r1 = new SimRandom(3);
        var r2 = new SimRandom(3);
        var first = Enumerable.Range(0, 10).Select(_ => model.NextTimeToFirstToken(r1)).ToList();
        var second = Enumerable.Range(0, 10).Select(_ => model.NextTimeToFirstToken(r2)).ToList();
        Assert.Equal(first, second);
        Assert.True(first.Distinct().Count() > 1);
    }
}
