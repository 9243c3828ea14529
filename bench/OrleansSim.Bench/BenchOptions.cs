using System.Globalization;
using OrleansSim.Core.Configuration;

namespace OrleansSim.Bench;

/// <summary>The load generator's command line (see <see cref="Usage"/>).</summary>
public sealed record BenchOptions
{
    public IReadOnlyList<Uri> Targets { get; init; } = [];
    public int? Concurrency { get; init; }
    public double? Rate { get; init; }
    public bool Stream { get; init; }
    public int PromptTokens { get; init; } = 32;
    public int OutputTokens { get; init; } = 16;
    public bool IgnoreEos { get; init; }
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);
    public int? Requests { get; init; }
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan Ramp { get; init; } = TimeSpan.Zero;
    public string Endpoint { get; init; } = "chat";
    public string Model { get; init; } = "bench-model";
    public double? ExpectTtftMs { get; init; }
    public double? ExpectItlMs { get; init; }
    public int? ServerPid { get; init; }
    public string Label { get; init; } = "";
    public string? JsonPath { get; init; }
    public string? MarkdownPath { get; init; }
    public string? JsonLinesPath { get; init; }
    public bool ServerLateness { get; init; }
    public int Seed { get; init; } = 1;
    public bool FailOnErrors { get; init; }

    public const string Usage = """
        Usage: OrleansSim.Bench --url http://127.0.0.1:8000 [--url ...] (--concurrency N | --rate R [--concurrency N]) [options]
          --url URL              server base URL; repeat for several ranks (connections spread round-robin, results per URL too)
          --concurrency N        N workers, each sends its next request when the previous one ends (with --rate: at most N in flight)
          --rate R               Poisson arrivals at R requests/s
          --stream               SSE streaming (stream_options.include_usage = true)
          --endpoint chat|completions   (default chat)
          --prompt-tokens N      prompt length, about N tokens (default 32)
          --output-tokens N      max_tokens (default 16)
          --ignore-eos           send ignore_eos = true (exactly N output tokens)
          --duration S           measured load after the warm-up (default 10); durations: a plain number is seconds,
                                 else the server's forms ('500ms', '1.5s', '1m', '1m30s')
          --requests N           stop after N measured requests instead of --duration
          --warmup S             seconds of unmeasured load first (default 1)
          --ramp S               spread the workers' first requests over S seconds (default 0: all at once)
          --expect-ttft-ms X     configured TTFT: report measured - X per percentile
          --expect-itl-ms X      configured ITL: report measured - X per percentile
          --server-pid PID       sample this process: CPU time per request and peak RSS (from /proc)
          --model NAME           model field of the requests (default bench-model)
          --label TEXT           name of the run in the report
          --json FILE            write the result as JSON;  --markdown FILE  append a markdown table row
          --jsonl FILE           append the result as one JSON line (bench/OrleansSim.Charts reads these)
          --server-lateness      scrape orleanssim:token_lateness_seconds from each URL's /metrics before and after the
                                 window: how late the server's own token writes were against their due times
          --fail-on-errors       exit 1 when a request failed or none completed (CI smoke)
          --seed N               seed of the Poisson arrivals (default 1)
        """;

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        var targets = new List<Uri>();
        for (var i = 0; i < args.Length; i++)
        {
            var flag = args[i];
            string Value() => ++i < args.Length ? args[i] : throw new ArgumentException($"{flag} needs a value");
            switch (flag)
            {
                case "--url": targets.Add(Url(flag, Value())); break;
                case "--concurrency": o = o with { Concurrency = Positive(flag, Int(flag, Value())) }; break;
                case "--rate": o = o with { Rate = Number(flag, Value()) }; break;
                case "--stream": o = o with { Stream = true }; break;
                case "--endpoint": o = o with { Endpoint = Value() }; break;
                case "--prompt-tokens": o = o with { PromptTokens = Int(flag, Value()) }; break;
                case "--output-tokens": o = o with { OutputTokens = Int(flag, Value()) }; break;
                case "--ignore-eos": o = o with { IgnoreEos = true }; break;
                case "--duration": o = o with { Duration = Seconds(flag, Value()) }; break;
                case "--requests": o = o with { Requests = Int(flag, Value()) }; break;
                case "--warmup": o = o with { Warmup = Seconds(flag, Value()) }; break;
                case "--ramp": o = o with { Ramp = Seconds(flag, Value()) }; break;
                case "--expect-ttft-ms": o = o with { ExpectTtftMs = Number(flag, Value()) }; break;
                case "--expect-itl-ms": o = o with { ExpectItlMs = Number(flag, Value()) }; break;
                case "--server-pid": o = o with { ServerPid = Int(flag, Value()) }; break;
                case "--model": o = o with { Model = Value() }; break;
                case "--label": o = o with { Label = Value() }; break;
                case "--json": o = o with { JsonPath = Value() }; break;
                case "--markdown": o = o with { MarkdownPath = Value() }; break;
                case "--jsonl": o = o with { JsonLinesPath = Value() }; break;
                case "--server-lateness": o = o with { ServerLateness = true }; break;
                case "--seed": o = o with { Seed = Int(flag, Value()) }; break;
                case "--fail-on-errors": o = o with { FailOnErrors = true }; break;
                default: throw new ArgumentException($"unknown flag {flag}");
            }
        }

        if (targets.Count == 0)
        {
            throw new ArgumentException("--url is required");
        }

        if (o.Concurrency is null && o.Rate is null)
        {
            throw new ArgumentException("give --concurrency N or --rate R");
        }

        if (o.Endpoint is not ("chat" or "completions"))
        {
            throw new ArgumentException("--endpoint is chat or completions");
        }

        return o with { Targets = targets };
    }

    private static Uri Url(string flag, string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new ArgumentException($"{flag} '{text}' is not an http(s) URL");

    private static int Int(string flag, string text) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"{flag} '{text}' is not an integer");

    private static int Positive(string flag, int value) =>
        value > 0 ? value : throw new ArgumentException($"{flag} must be at least 1, got {value}");

    private static double Number(string flag, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : throw new ArgumentException($"{flag} '{text}' is not a number");

    /// <summary>
    /// A plain number is seconds (the bench's unit since its first version, which bench/run.sh relies on); anything
    /// else is read by the server's duration parser (<c>500ms</c>, <c>1.5s</c>, <c>1m</c>, <c>1m30s</c>, <c>2h</c>).
    /// </summary>
    private static TimeSpan Seconds(string flag, string text)
    {
        var value = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds)
            ? TimeSpan.FromSeconds(seconds)
            : DurationText.TryParse(text, out var parsed) ? parsed
            : throw new ArgumentException($"{flag} '{text}' is not a duration (seconds, or e.g. 500ms, 1.5s, 1m, 1m30s)");
        return value >= TimeSpan.Zero ? value : throw new ArgumentException($"{flag} must not be negative, got '{text}'");
    }
}
