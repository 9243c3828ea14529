using System.Globalization;

namespace OrleansSim.Bench;

/// <summary>
/// Whole-machine CPU use between two readings of /proc/stat, in percent of all cores: tells whether a run was
/// limited by the machine (other processes, kernel networking in softirq) rather than by the server.
/// </summary>
public sealed record MachineCpu(double User, double System, double SoftIrq, double Steal, double Idle)
{
    public static long[]? Read()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").First();
            return [.. line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture))];
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Fields: user nice system idle iowait irq softirq steal ...</summary>
    public static MachineCpu? Between(long[]? start, long[]? end)
    {
        if (start is null || end is null || start.Length < 8 || end.Length < 8)
        {
            return null;
        }

        var d = end.Zip(start, (e, s) => (double)(e - s)).ToArray();
        var total = d.Take(8).Sum();
        if (total <= 0)
        {
            return null;
        }

        double P(double v) => Math.Round(100 * v / total, 1);
        return new MachineCpu(P(d[0] + d[1]), P(d[2] + d[5]), P(d[6]), P(d[7]), P(d[3] + d[4]));
    }
}
