using OrleansSim.Bench;

namespace OrleansSim.Bench.Tests;

public sealed class LatenessReportTests
{
    private static SortedDictionary<double, long> Buckets(params (double Le, long Count)[] buckets) =>
        new(buckets.ToDictionary(b => b.Le, b => b.Count));

    [Fact]
    public void PercentilesComeFromTheWindowsBucketDeltas()
    {
        // Before the window: 50 observations under 1 ms. In the window: 100 more, 60 under 0.5 ms, 30 in (1, 2] ms, 10 in (2, 5] ms.
        // Prometheus' bucket counts are cumulative.
        var before = Buckets((0.0005, 40), (0.001, 50), (0.002, 50), (0.005, 50), (double.PositiveInfinity, 50));
        var after = Buckets((0.0005, 100), (0.001, 110), (0.002, 140), (0.005, 150), (double.PositiveInfinity, 150));

        var report = LatenessReport.Between(before, after)!;

        Assert.Equal(100, report.Count);
        Assert.Equal(0.5 * 50 / 60, report.P50, 6); // 50th of 60 in [0, 0.5] ms
        Assert.Equal(2.0, report.P90, 6); // 90th: the last of the 30 in (1, 2] ms
        Assert.Equal(2 + (3 * 9.0 / 10), report.P99, 6); // 99th: 9 into the 10 of (2, 5] ms
        Assert.Equal(0.6, report.WithinOneMsShare, 6);
        Assert.Equal(1.0, report.WithinFiveMsShare, 6);
    }

    [Fact]
    public void NoFamilyMeansNoReportAndAnEmptyWindowNoFigures()
    {
        Assert.Null(LatenessReport.Between(Buckets(), Buckets()));
        var same = Buckets((0.001, 5), (double.PositiveInfinity, 5));
        var empty = LatenessReport.Between(same, same)!;
        Assert.Equal(0, empty.Count);
        Assert.True(double.IsNaN(empty.P50));
    }
}
