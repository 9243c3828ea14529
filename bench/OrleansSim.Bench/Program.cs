using System.Diagnostics;
using OrleansSim.Bench;

if (args is ["--help"] or ["-h"])
{
    Console.Out.Write(BenchOptions.Usage);
    return 0;
}

if (args is ["--markdown-header"])
{
    Console.Out.WriteLine(Report.MarkdownHeader);
    return 0;
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException ex)
{
    // One line, as the server's configuration errors: the usage is one --help away.
    Console.Error.WriteLine($"error: {ex.Message} (--help for usage)");
    return 2;
}

// Thousands of connections start at once: do not make them wait for the thread pool's slow growth.
ThreadPool.SetMinThreads(Math.Max(Environment.ProcessorCount * 4, 16), Math.Max(Environment.ProcessorCount * 4, 16));

await using var sampler = options.ServerPid is int pid ? new ProcessSampler(pid) : null;
var runner = new LoadRunner(options);
double serverCpuStart = 0;
long wallStart = 0;
var clientCpuStart = TimeSpan.Zero;
var started = 0;
long[]? machineStart = null;
Task<SortedDictionary<double, long>>? latenessStart = null;
await runner.RunAsync(() =>
{
    if (options.ServerLateness)
    {
        latenessStart = LatenessReport.ScrapeAsync(options.Targets);
    }

    sampler?.ResetPeak();
    serverCpuStart = sampler?.CpuSeconds() ?? 0;
    clientCpuStart = Process.GetCurrentProcess().TotalProcessorTime;
    machineStart = MachineCpu.Read();
    wallStart = Stopwatch.GetTimestamp();
    Volatile.Write(ref started, 1);
});

// The measured window's CPU: from the end of the warm-up to the last measured completion.
var seconds = Volatile.Read(ref started) == 1 ? Stopwatch.GetElapsedTime(wallStart).TotalSeconds : double.NaN;
(double, double)? server = sampler is null ? null : (seconds, sampler.CpuSeconds() - serverCpuStart);
var clientCores = (Process.GetCurrentProcess().TotalProcessorTime - clientCpuStart).TotalSeconds / seconds;
var lateness = latenessStart is null ? null : LatenessReport.Between(await latenessStart, await LatenessReport.ScrapeAsync(options.Targets));
var report = Report.Build(options, runner, server, sampler?.PeakRssMb, clientCores) with
{
    Machine = MachineCpu.Between(machineStart, MachineCpu.Read()),
    ServerLateness = lateness,
};
Console.Out.Write(report.ToText());
if (options.JsonPath is { } json)
{
    await File.WriteAllTextAsync(json, report.ToJson());
}

if (options.JsonLinesPath is { } jsonl)
{
    await File.AppendAllTextAsync(jsonl, report.ToJsonLine() + "\n");
}

if (options.MarkdownPath is { } md)
{
    await File.AppendAllTextAsync(md, report.ToMarkdownRow() + "\n");
}

return options.FailOnErrors && (report.Errors > 0 || report.Completed == 0) ? 1 : 0;
