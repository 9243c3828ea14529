using System.Globalization;

namespace OrleansSim.Bench.Baseline;

/// <summary>
/// Command line of the baseline: a subset of the simulator's flags (durations in ms or with ms/s suffix), plus
/// <c>--timer delay|precise</c>: Task.Delay per token (default, what the simulator does) or <see cref="DeadlineTimer"/>.
/// </summary>
public sealed record BaselineSettings(int Port, int Ranks, TimeSpan TimeToFirstToken, TimeSpan InterTokenLatency, string Model, bool PreciseTimer)
{
    public static BaselineSettings Parse(string[] args)
    {
        var s = new BaselineSettings(8100, 1, TimeSpan.Zero, TimeSpan.Zero, "bench-model", PreciseTimer: false);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            s = args[i] switch
            {
                "--port" => s with { Port = int.Parse(value, CultureInfo.InvariantCulture) },
                "--data-parallel-size" => s with { Ranks = int.Parse(value, CultureInfo.InvariantCulture) },
                "--time-to-first-token" => s with { TimeToFirstToken = Duration(value) },
                "--inter-token-latency" => s with { InterTokenLatency = Duration(value) },
                "--model" => s with { Model = value },
                "--timer" => s with { PreciseTimer = value == "precise" ? true : value == "delay" ? false : throw new ArgumentException("--timer is delay or precise") },
                _ => throw new ArgumentException($"unknown flag {args[i]}"),
            };
            i++;
        }

        return s;
    }

    private static TimeSpan Duration(string text) =>
        text.EndsWith("ms", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(double.Parse(text[..^2], CultureInfo.InvariantCulture))
        : text.EndsWith('s') ? TimeSpan.FromSeconds(double.Parse(text[..^1], CultureInfo.InvariantCulture))
        : TimeSpan.FromMilliseconds(double.Parse(text, CultureInfo.InvariantCulture));
}
