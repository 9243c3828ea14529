using OrleansSim.Core.Configuration;

namespace OrleansSim.Core.Scheduling;

/// <summary>
/// Decides a request's timing: time to first token (counted from the moment it holds a slot) and the
/// inter-token latency, each with optional gaussian jitter (<c>--*-std-dev</c>), clamped as
/// llm-d-inference-sim does to [0.3, 1.7] × the mean so a draw never goes negative.
/// </summary>
public sealed class LatencyModel(SimulatorOptions options)
{
    public TimeSpan NextTimeToFirstToken(Random random) =>
        Jitter(options.TimeToFirstToken, options.TimeToFirstTokenStdDev, random);

    public TimeSpan NextInterTokenLatency(Random random) =>
        Jitter(options.InterTokenLatency, options.InterTokenLatencyStdDev, random);

    /// <summary>Mean inter-token latency (used to plan non-streaming replies).</summary>
    public TimeSpan InterTokenLatency => options.InterTokenLatency;

    public bool HasInterTokenJitter => options.InterTokenLatencyStdDev > TimeSpan.Zero;

    internal static TimeSpan Jitter(TimeSpan mean, TimeSpan stdDev, Random random)
    {
        if (stdDev <= TimeSpan.Zero || mean <= TimeSpan.Zero)
        {
            return mean;
        }

        // Box–Muller: one standard normal draw.
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        var z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
        var ticks = mean.Ticks + (z * stdDev.Ticks);
        var low = mean.Ticks * 0.3;
        var high = mean.Ticks * 1.7;
        return TimeSpan.FromTicks((long)Math.Clamp(ticks, low, high));
    }
}
