namespace OrleansSim.Core.Metrics;

/// <summary>
/// Evaluates the fake gauges of a <see cref="FakeMetricsSpec"/> against the time since the fake metrics
/// started. As in llm-d-inference-sim, function values move only every <c>--fake-metrics-refresh-interval</c>
/// (there a ticker republishes them; here the elapsed time is rounded down to a whole number of intervals,
/// so every scrape within one interval sees the same values), and request counts are whole numbers.
/// </summary>
public sealed class FakeMetricsClock
{
    private readonly TimeProvider _time;
    private readonly long _start;

    public FakeMetricsClock(FakeMetricsSpec spec, TimeSpan refreshInterval, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(refreshInterval, TimeSpan.Zero);
        Spec = spec;
        RefreshInterval = refreshInterval;
        _time = time;
        _start = time.GetTimestamp();
    }

    public FakeMetricsSpec Spec { get; }

    public TimeSpan RefreshInterval { get; }

    /// <summary>The time the functions are evaluated at now: the elapsed time, rounded down to the refresh interval.</summary>
    public TimeSpan Elapsed => Quantize(_time.GetElapsedTime(_start), RefreshInterval);

    /// <summary>vllm:num_requests_running now, or null when not pinned.</summary>
    public double? Running() => Spec.RunningRequests is { } v ? Math.Floor(v.At(Elapsed)) : null;

    /// <summary>vllm:num_requests_waiting now, or null when not pinned.</summary>
    public double? Waiting() => Spec.WaitingRequests is { } v ? Math.Floor(v.At(Elapsed)) : null;

    /// <summary>vllm:kv_cache_usage_perc now, or null when not pinned.</summary>
    public double? KvCacheUsage() => Spec.KvCacheUsage?.At(Elapsed);

    public static TimeSpan Quantize(TimeSpan elapsed, TimeSpan interval) =>
        elapsed <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks(elapsed.Ticks - (elapsed.Ticks % interval.Ticks));
}

/// <summary>A histogram filled from per-bucket counts: what each bucket holds and the sum of the samples.</summary>
/// <param name="Counts">Samples per bucket (not cumulative), one per bound plus +Inf.</param>
/// <param name="Sum">The samples' sum: each sample counts as its bucket's upper bound, +Inf ones as the last bound + 1 (llm-d-inference-sim's choice).</param>
public sealed record FakeHistogramFill(long[] Counts, double Sum)
{
    /// <summary>Spreads <paramref name="values"/> (entry i = samples in bucket i) over <paramref name="bounds"/> (without +Inf); entries past +Inf add to +Inf.</summary>
    public static FakeHistogramFill Of(IReadOnlyList<double> bounds, IReadOnlyList<long> values)
    {
        ArgumentOutOfRangeException.ThrowIfZero(bounds.Count);
        var counts = new long[bounds.Count + 1];
        double sum = 0;
        for (var i = 0; i < values.Count; i++)
        {
            var bucket = Math.Min(i, bounds.Count);
            var sample = bucket < bounds.Count ? bounds[bucket] : bounds[^1] + 1;
            counts[bucket] += values[i];
            sum += values[i] * sample;
        }

        return new FakeHistogramFill(counts, sum);
    }
}
