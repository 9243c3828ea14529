namespace OrleansSim.Bench;

/// <summary>p50/p90/p99 (linear interpolation between closest ranks), mean and max of a sample.</summary>
public sealed record Percentiles(double P50, double P90, double P99, double Mean, double Max, int Count)
{
    public static Percentiles Of(IEnumerable<double> values, double shift = 0)
    {
        var sorted = values.Select(v => v - shift).ToArray();
        if (sorted.Length == 0)
        {
            return new Percentiles(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, 0);
        }

        Array.Sort(sorted);
        return new Percentiles(At(sorted, 0.50), At(sorted, 0.90), At(sorted, 0.99), sorted.Average(), sorted[^1], sorted.Length);
    }

    private static double At(double[] sorted, double q)
    {
        var pos = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (pos - lo));
    }
}
