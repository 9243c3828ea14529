using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansSim.Bench;

/// <summary>Per-URL figures of a run over several ranks.</summary>
public sealed record TargetReport(string Url, int Completed, int Errors, double RequestsPerSecond, Percentiles Ttft, Percentiles Itl, Percentiles? TtftError, Percentiles? ItlError);

/// <summary>The result of one run, as printed, written to JSON and appended as a markdown row.</summary>
public sealed record Report
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static readonly JsonSerializerOptions JsonLine = new(Json) { WriteIndented = false };

    public required string Label { get; init; }
    public required string Load { get; init; }
    /// <summary>Poisson arrival rate asked for (req/s); null for a closed loop.</summary>
    public double? OfferedRate { get; init; }
    public int? Concurrency { get; init; }
    public int PromptTokens { get; init; }
    public int OutputTokens { get; init; }
    /// <summary>The machine's load average (1, 5, 15 min) when the run ended.</summary>
    public string LoadAverage { get; init; } = "";
    /// <summary>The server's token lateness over the window (<c>--server-lateness</c>), in ms.</summary>
    public LatenessReport? ServerLateness { get; init; }
    public required bool Stream { get; init; }
    public required int Completed { get; init; }
    public required int Errors { get; init; }
    public required IReadOnlyList<string> ErrorSamples { get; init; }
    public required double WindowSeconds { get; init; }
    public required double RequestsPerSecond { get; init; }
    public required double OutputTokensPerSecond { get; init; }
    public required Percentiles Ttft { get; init; }
    public required Percentiles Itl { get; init; }
    public required Percentiles E2e { get; init; }
    public Percentiles? TtftError { get; init; }
    public Percentiles? ItlError { get; init; }
    public double? ServerCpuMsPerRequest { get; init; }
    public double? ServerCpuCores { get; init; }
    public double? ServerPeakRssMb { get; init; }
    public double ClientCpuCores { get; init; }
    public MachineCpu? Machine { get; init; }
    public IReadOnlyList<TargetReport> Targets { get; init; } = [];

    public static Report Build(BenchOptions o, LoadRunner runner, (double Seconds, double Cpu)? server, double? peakRssMb, double clientCpuCores)
    {
        var all = runner.Samples;
        var samples = all.Where(s => s.Measured).ToList();
        var ok = samples.Where(s => s.Error is null).ToList();
        var lastEnd = samples.Count == 0 ? runner.MeasureFrom : samples.Max(s => s.EndedAt);
        // Throughput: with --duration, requests (whenever sent) that finished inside the window, over its length;
        // with --requests, all measured requests over the time until the last one finished.
        double window;
        List<RequestSample> counted;
        if (o.Requests is null)
        {
            window = o.Duration.TotalSeconds;
            counted = [.. all.Where(s => s.Error is null && s.EndedAt >= runner.MeasureFrom && s.EndedAt <= runner.StopAt)];
        }
        else
        {
            window = (lastEnd - runner.MeasureFrom) / (double)Stopwatch.Frequency;
            counted = ok;
        }

        var shiftTtft = o.ExpectTtftMs;
        var shiftItl = o.ExpectItlMs;
        var targets = o.Targets.Count <= 1 ? [] : o.Targets.Select((url, i) =>
        {
            var mine = ok.Where(s => s.Target == i).ToList();
            return new TargetReport(url.ToString(), mine.Count, samples.Count(s => s.Target == i && s.Error is not null),
                counted.Count(s => s.Target == i) / window,
                Percentiles.Of(mine.Select(s => s.TtftMs)), Percentiles.Of(mine.SelectMany(s => s.ItlMs)),
                shiftTtft is double t ? Percentiles.Of(mine.Select(s => s.TtftMs), t) : null,
                shiftItl is double l && o.Stream ? Percentiles.Of(mine.SelectMany(s => s.ItlMs), l) : null);
        }).ToList();

        return new Report
        {
            Label = o.Label,
            Load = (o.Rate is double r ? $"rate {r.ToString(CultureInfo.InvariantCulture)}/s" + (o.Concurrency is int cap ? $" (cap {cap})" : "") : $"concurrency {o.Concurrency}")
                + (o.Targets.Count > 1 ? $" over {o.Targets.Count} URLs" : ""),
            OfferedRate = o.Rate,
            Concurrency = o.Concurrency,
            PromptTokens = o.PromptTokens,
            OutputTokens = o.OutputTokens,
            LoadAverage = ReadLoadAverage(),
            Stream = o.Stream,
            Completed = ok.Count,
            Errors = samples.Count - ok.Count,
            ErrorSamples = [.. samples.Where(s => s.Error is not null).Select(s => s.Error!).Distinct().Take(5)],
            WindowSeconds = window,
            RequestsPerSecond = counted.Count / window,
            OutputTokensPerSecond = counted.Sum(s => s.OutputTokens) / window,
            Ttft = Percentiles.Of(ok.Select(s => s.TtftMs)),
            Itl = Percentiles.Of(ok.SelectMany(s => s.ItlMs)),
            E2e = Percentiles.Of(ok.Select(s => s.E2eMs)),
            TtftError = shiftTtft is double tt ? Percentiles.Of(ok.Select(s => s.TtftMs), tt) : null,
            ItlError = shiftItl is double ll && o.Stream ? Percentiles.Of(ok.SelectMany(s => s.ItlMs), ll) : null,
            // CPU was sampled from the end of the warm-up to the last completion; scale the request count to that span.
            ServerCpuMsPerRequest = server is { } s1 && counted.Count > 0 ? s1.Cpu * 1000 / (counted.Count * s1.Seconds / window) : null,
            ServerCpuCores = server is { } s2 ? s2.Cpu / s2.Seconds : null,
            ServerPeakRssMb = peakRssMb,
            ClientCpuCores = clientCpuCores,
            Targets = targets,
        };
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public string ToJsonLine() => JsonSerializer.Serialize(this, JsonLine);

    private static string ReadLoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    public const string MarkdownHeader =
        "| run | load | req/s | out tok/s | TTFT p50/p90/p99 ms | ITL p50/p90/p99 ms | E2E p50/p99 ms | TTFT err p50/p99 | ITL err p50/p99 | errors | server CPU ms/req | server cores | peak RSS MB | machine idle % |\n" +
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

    public string ToMarkdownRow()
    {
        static string F(double v) => double.IsNaN(v) ? "–" : v.ToString(v >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture);
        static string P3(Percentiles p) => p.Count == 0 ? "–" : $"{F(p.P50)} / {F(p.P90)} / {F(p.P99)}";
        static string P2(Percentiles? p) => p is null || p.Count == 0 ? "–" : $"{F(p.P50)} / {F(p.P99)}";
        static string O(double? v) => v is double d ? F(d) : "–";
        return $"| {Label} | {Load} | {F(RequestsPerSecond)} | {F(OutputTokensPerSecond)} | {P3(Ttft)} | {P3(Itl)} | {F(E2e.P50)} / {F(E2e.P99)} | {P2(TtftError)} | {P2(ItlError)} | {Errors} | "
            + $"{(ServerCpuMsPerRequest is double c ? c.ToString("F3", CultureInfo.InvariantCulture) : "–")} | {O(ServerCpuCores)} | {O(ServerPeakRssMb)} | {O(Machine?.Idle)} |";
    }

    public string ToText()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"== {Label} ({Load}, {(Stream ? "stream" : "non-stream")}) ==");
        sb.AppendLine(CultureInfo.InvariantCulture, $"completed {Completed}, errors {Errors}, window {WindowSeconds:F1}s: {RequestsPerSecond:F1} req/s, {OutputTokensPerSecond:F0} output tok/s");
        Line(sb, "TTFT ms", Ttft);
        Line(sb, "ITL ms", Itl);
        Line(sb, "E2E ms", E2e);
        Line(sb, "TTFT error ms", TtftError);
        Line(sb, "ITL error ms", ItlError);
        if (ServerLateness is { } late)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  server lateness ms p50 {late.P50,8:F2}  p90 {late.P90,8:F2}  p99 {late.P99,8:F2}  (n={late.Count}; {late.WithinOneMsShare:P1} within 1 ms, {late.WithinFiveMsShare:P1} within 5 ms)");
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"load average {LoadAverage}");
        if (ServerCpuMsPerRequest is double cpu)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"server: {cpu:F3} CPU ms/request, {ServerCpuCores:F2} cores, peak RSS {ServerPeakRssMb:F0} MB; client {ClientCpuCores:F2} cores");
        }

        if (Machine is { } m)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"machine (all cores): user {m.User}%, system {m.System}%, softirq {m.SoftIrq}%, steal {m.Steal}%, idle {m.Idle}%");
        }

        foreach (var t in Targets)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {t.Url}: {t.Completed} ok, {t.Errors} errors, {t.RequestsPerSecond:F1} req/s, TTFT p50 {t.Ttft.P50:F1} p99 {t.Ttft.P99:F1}, ITL err p50 {t.ItlError?.P50:F2} p99 {t.ItlError?.P99:F2}");
        }

        foreach (var e in ErrorSamples)
        {
            sb.AppendLine("  error: " + e);
        }

        return sb.ToString();
    }

    private static void Line(StringBuilder sb, string name, Percentiles? p)
    {
        if (p is null || p.Count == 0)
        {
            return;
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"  {name,-14} p50 {p.P50,8:F2}  p90 {p.P90,8:F2}  p99 {p.P99,8:F2}  mean {p.Mean,8:F2}  max {p.Max,8:F2}  (n={p.Count})");
    }
}
