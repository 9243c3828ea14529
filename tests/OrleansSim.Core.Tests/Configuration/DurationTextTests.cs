using OrleansSim.Core.Configuration;
using Xunit;

namespace OrleansSim.Core.Tests.Configuration;

public sealed class DurationTextTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("200", 200)]
    [InlineData("1.5", 1.5)]
    [InlineData("-5", -5)]
    [InlineData("200ms", 200)]
    [InlineData("1.5s", 1500)]
    [InlineData("1m30s", 90_000)]
    [InlineData("500us", 0.5)]
    [InlineData("500µs", 0.5)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1h2m3s", 3_723_000)]
    [InlineData("-1.5s", -1500)]
    [InlineData(" 10ms ", 10)]
    public void Parses(string text, double ms)
    {
        Assert.True(DurationText.TryParse(text, out TimeSpan value));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ms")]
    [InlineData("10 ms")]
    [InlineData("10x")]
    [InlineData("1..5s")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-")]
    public void Rejects(string text)
    {
        Assert.False(DurationText.TryParse(text, out _));
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(200, "200ms")]
    [InlineData(1500, "1.5s")]
    [InlineData(90_000, "1m30s")]
    [InlineData(3_600_000, "1h0m0s")]
    [InlineData(0.5, "500us")]
    [InlineData(1.25, "1.25ms")]
    [InlineData(-5, "-5ms")]
    public void Formats(double ms, string expected)
    {
        Assert.Equal(expected, DurationText.Format(TimeSpan.FromMilliseconds(ms)));
    }
}
