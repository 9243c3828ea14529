using System.Globalization;

namespace OrleansSim.Bench;

/// <summary>
/// Samples another process from outside through /proc: CPU time (utime + stime) and resident set size,
/// every 100 ms, keeping the peak RSS. Linux only; without a pid it measures nothing.
/// </summary>
public sealed class ProcessSampler : IAsyncDisposable
{
    private const double ClockTicksPerSecond = 100; // USER_HZ on Linux
    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _peakRssKb;

    public ProcessSampler(int pid)
    {
        _pid = pid;
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var rss = RssKb();
                if (rss > Interlocked.Read(ref _peakRssKb))
                {
                    Interlocked.Exchange(ref _peakRssKb, rss);
                }

                try
                {
                    await Task.Delay(100, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
    }

    public double PeakRssMb => Interlocked.Read(ref _peakRssKb) / 1024.0;

    public void ResetPeak() => Interlocked.Exchange(ref _peakRssKb, RssKb());

    /// <summary>User + system CPU seconds the process has used so far.</summary>
    public double CpuSeconds()
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{_pid}/stat");
            // Fields after the command name "(...)": state is field 3, utime 14, stime 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    public long RssKb()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
