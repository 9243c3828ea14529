using System.Globalization;

namespace OrleansSim.Bench;

/// <summary>
/// The simulator's own record of how late its streamed token steps left (<c>orleanssim:token_lateness_seconds</c>,
/// write returned minus due time): scraped from every target's <c>/metrics</c> at the start and the end of the measured
/// window, bucket counts differenced and summed over the targets, percentiles interpolated inside a bucket the way
/// Prometheus' <c>histogram_quantile</c> does. In ms.
/// </summary>
public sealed record LatenessReport(double P50, double P90, double P99, long Count, double WithinOneMsShare, double WithinFiveMsShare)
{
    public const string Family = "orleanssim:token_lateness_seconds";

    /// <summary>Cumulative bucket counts by upper bound, summed over the targets' series; empty when no target serves the family.</summary>
    public static async Task<SortedDictionary<double, long>> ScrapeAsync(IReadOnlyList<Uri> targets)
    {
        var buckets = new SortedDictionary<double, long>();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var target in targets)
        {
            string text;
            try
            {
                text = await http.GetStringAsync(new Uri(target, "metrics"));
            }
            catch (HttpRequestException)
            {
                continue;
            }

            foreach (var line in text.Split('\n'))
            {
                if (!line.StartsWith(Family + "_bucket{", StringComparison.Ordinal))
                {
                    continue;
                }

                var le = line.IndexOf("le=\"", StringComparison.Ordinal) + 4;
                var bound = line[le..line.IndexOf('"', le)];
                var upper = bound == "+Inf" ? double.PositiveInfinity : double.Parse(bound, CultureInfo.InvariantCulture);
                var count = (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                buckets[upper] = buckets.GetValueOrDefault(upper) + count;
            }
        }

        return buckets;
    }

    /// <summary>The window's figures from two scrapes; null when the family was not served.</summary>
    public static LatenessReport? Between(SortedDictionary<double, long> before, SortedDictionary<double, long> after)
    {
        if (after.Count == 0)
        {
            return null;
        }

        var bounds = after.Keys.ToArray();
        var cumulative = bounds.Select(b => after[b] - before.GetValueOrDefault(b)).ToArray();
        var total = cumulative[^1];
        if (total <= 0)
        {
            return new LatenessReport(double.NaN, double.NaN, double.NaN, 0, double.NaN, double.NaN);
        }

        double Quantile(double q)
        {
            var rank = q * total;
            for (var i = 0; i < bounds.Length; i++)
            {
                if (cumulative[i] >= rank)
                {
                    var lower = i == 0 ? 0 : bounds[i - 1];
                    if (double.IsPositiveInfinity(bounds[i]))
                    {
                        return lower * 1000; // beyond the last finite bound: report that bound, as histogram_quantile does
                    }

                    var below = i == 0 ? 0 : cumulative[i - 1];
                    var inBucket = cumulative[i] - below;
                    return (lower + ((bounds[i] - lower) * (inBucket == 0 ? 1 : (rank - below) / inBucket))) * 1000;
                }
            }

            return double.NaN;
        }

        double Share(double seconds) => Array.IndexOf(bounds, seconds) is var i and >= 0 ? cumulative[i] / (double)total : double.NaN;
        return new LatenessReport(Quantile(0.50), Quantile(0.90), Quantile(0.99), total, Share(0.001), Share(0.005));
    }
}
