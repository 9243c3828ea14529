using OrleansSim.Core.Configuration;
using OrleansSim.Core.Generation;

namespace OrleansSim.Core.Scheduling;

/// <summary>
/// Decides a request's timing: time to first token (counted from the moment it holds a slot) and the
/// inter-token latency, each with optional gaussian jitter (<c>--*-std-dev</c>), clamped as
/// llm-d-inference-sim does to [0.3, 1.7] × the mean so a draw never goes negative.
/// </summary>
/// <remarks>
/// <para>TTFT follows llm-d-inference-sim's <c>--latency-calculator</c>: <c>constant</c> uses
/// <c>--time-to-first-token</c>; <c>per-token</c> uses <c>--prefill-overhead</c> + (prompt − cached tokens) ×
/// <c>--prefill-time-per-token</c> (jitter <c>--prefill-time-std-dev</c>); the legacy <c>""</c> is constant when
/// the TTFT or its std-dev is set, else per-token.</para>
/// <para>Load: TTFT, prefill and ITL means are multiplied by
/// <c>1 + (time-factor-under-load − 1) × (running − 1) / (max-num-seqs − 1)</c> (1 when max-num-seqs is 1),
/// where running counts the request itself.</para>
/// </remarks>
public sealed class LatencyModel(SimulatorOptions options)
{
    private readonly bool _perToken = options.LatencyCalculator switch
    {
        "per-token" => true,
        "constant" => false,
        _ => options.TimeToFirstToken == TimeSpan.Zero && options.TimeToFirstTokenStdDev == TimeSpan.Zero,
    };

    public TimeSpan NextTimeToFirstToken(SimRandom random) => NextTimeToFirstToken(random, 0, 0, 1);

    /// <summary>TTFT for a prompt of <paramref name="promptTokens"/> of which <paramref name="cachedTokens"/> hit the prefix cache.</summary>
    public TimeSpan NextTimeToFirstToken(SimRandom random, int promptTokens, int cachedTokens, int running)
    {
        var load = LoadFactor(running);
        if (!_perToken)
        {
            return Jitter(Scale(options.TimeToFirstToken, load), options.TimeToFirstTokenStdDev, random);
        }

        var prefill = Scale(options.PrefillOverhead, load)
            + (Scale(options.PrefillTimePerToken, load) * Math.Max(0, promptTokens - cachedTokens));
        return Jitter(prefill, options.PrefillTimeStdDev, random);
    }

    /// <summary>
    /// P/D decode side: the time to first token of a request whose prefill ran on another pod is the KV transfer, as
    /// llm-d-inference-sim computes it: <c>--kv-cache-transfer-latency</c> (jitter its std-dev) when either is set, else
    /// <paramref name="promptTokens"/> × <c>--kv-cache-transfer-time-per-token</c> (jitter its std-dev); not scaled by load.
    /// </summary>
    public TimeSpan NextKvTransferTime(SimRandom random, int promptTokens) =>
        options.KvCacheTransferLatency != TimeSpan.Zero || options.KvCacheTransferLatencyStdDev != TimeSpan.Zero
            ? Jitter(options.KvCacheTransferLatency, options.KvCacheTransferLatencyStdDev, random)
            : Jitter(options.KvCacheTransferTimePerToken, options.KvCacheTransferTimeStdDev, random) * promptTokens;

    public TimeSpan NextInterTokenLatency(SimRandom random) => NextInterTokenLatency(random, 1);

    /// <summary>One inter-token gap; <paramref name="loadFactor"/> is <see cref="LoadFactor"/> at admission.</summary>
    public TimeSpan NextInterTokenLatency(SimRandom random, double loadFactor) =>
        Jitter(Scale(options.InterTokenLatency, loadFactor), options.InterTokenLatencyStdDev, random);

    /// <summary>Mean inter-token latency (used to plan non-streaming replies).</summary>
    public TimeSpan InterTokenLatency => options.InterTokenLatency;

    public bool HasInterTokenJitter => options.InterTokenLatencyStdDev > TimeSpan.Zero;

    /// <summary>The latency multiplier with <paramref name="running"/> requests holding slots (this one included).</summary>
    public double LoadFactor(int running) =>
        options.MaxNumSeqs <= 1 ? 1.0 : 1 + ((options.TimeFactorUnderLoad - 1) * Math.Max(0, running - 1) / (options.MaxNumSeqs - 1));

    private static TimeSpan Scale(TimeSpan value, double factor) =>
        factor == 1.0 ? value : TimeSpan.FromTicks((long)(value.Ticks * factor));

    internal static TimeSpan Jitter(TimeSpan mean, TimeSpan stdDev, SimRandom random)
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
