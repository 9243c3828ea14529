using OrleansSim.Core.Engine;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Metrics;
using OrleansSim.Server.Chaos;
using OrleansSim.Server.Hosting;

namespace OrleansSim.Server.Metrics;

/// <summary>The <see cref="RankMetrics"/> of every rank of this process, by rank.</summary>
public sealed class RankMetricsSet : IEngineStepSink
{
    private readonly RankDirectory _directory;
    private readonly TimeProvider _time;
    private readonly Observability.RequestTelemetry _telemetry;
    private readonly PodChaos _chaos;
    private volatile RankMetrics[] _ranks;

    public RankMetricsSet(SimulatorOptions options, RuntimeSettings settings, RankDirectory directory, TimeProvider time, Observability.RequestTelemetry telemetry, PodChaos chaos)
    {
        _directory = directory;
        _time = time;
        _telemetry = telemetry;
        _chaos = chaos;
        _ranks = Build(settings.Options);
        // POST /admin/config may pin, change or drop the fake metrics: every rank gets new registries with the new
        // values (with the fake metrics dropped, the real ones start again from zero).
        settings.Changed += (before, after) =>
        {
            if (!ReferenceEquals(before.FakeMetrics, after.FakeMetrics))
            {
                _ranks = Build(after);
            }
        };
    }

    public RankMetrics this[int rank] => _ranks[rank];

    /// <summary>An engine step of rank <paramref name="rank"/> (<c>--latency-calculator step</c>): once per step, from the rank grain.</summary>
    public void OnStep(int rank, EngineStep step, BatchEngine engine) => _ranks[rank].OnEngineStep(step);

    /// <summary>The metrics of the rank whose port accepted this connection.</summary>
    public RankMetrics For(HttpContext context) => _ranks[_directory.RankOf(context)];

    private RankMetrics[] Build(SimulatorOptions options)
    {
        var ranks = new RankMetrics[_directory.Count];
        // One clock for every rank: their fake functions are in phase.
        var fake = options.FakeMetrics is { } spec ? new FakeMetricsClock(spec, options.FakeMetricsRefreshInterval, _time) : null;
        for (var r = 0; r < ranks.Length; r++)
        {
            ranks[r] = new RankMetrics(options, r, _directory[r], _time, fake, _telemetry);
            AddChaosSeries(ranks[r].Registry, r);
        }

        return ranks;
    }

    /// <summary>
    /// <c>orleanssim:chaos_active{kind,fault_id}</c>: 1 for each fault acting on the rank at the scrape, 0 for one that
    /// acted earlier and has stopped (not a vLLM family: real fleets have no such series).
    /// </summary>
    private void AddChaosSeries(MetricsRegistry registry, int rank)
    {
        var family = registry.Gauge(ChaosActive, "Chaos faults acting on this rank (1 active, 0 stopped).", "kind", "fault_id");
        var seen = new Dictionary<string, GaugeFamily.Gauge>(StringComparer.Ordinal);
        registry.BeforeCollect(_ =>
        {
            var active = _chaos.For(rank)?.Faults ?? [];
            lock (seen)
            {
                foreach (var gauge in seen.Values)
                {
                    gauge.Set(0);
                }

                foreach (var fault in active)
                {
                    if (!seen.TryGetValue(fault.Id, out var gauge))
                    {
                        gauge = family.WithLabels(fault.Kind, fault.Id);
                        seen[fault.Id] = gauge;
                    }

                    gauge.Set(1);
                }
            }

            return Task.CompletedTask;
        });
    }

    /// <summary>The chaos metric family (OrleansSim's own prefix).</summary>
    public const string ChaosActive = "orleanssim:chaos_active";
}

/// <summary>
/// GET /metrics: the exposition of the rank behind this port, negotiated as prometheus_client's ASGI app
/// (what vLLM mounts) does: OpenMetrics 1.0.0 when any entry of <c>Accept</c> is
/// <c>application/openmetrics-text</c>, else the text format 0.0.4; gzip-compressed when
/// <c>Accept-Encoding</c> lists <c>gzip</c>.
/// </summary>
public static class MetricsApi
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", WriteAsync).WithName("Metrics")
            .WithSummary("vLLM Prometheus metrics of this port's rank (engine label = rank)")
            .WithDescription("Text format 0.0.4 by default; OpenMetrics 1.0.0 with `Accept: application/openmetrics-text`; gzip with `Accept-Encoding: gzip`.");
        return app;
    }

    /// <summary>prometheus_client's choose_encoder: the first media type (parameters and q ignored) decides.</summary>
    public static ExpositionFormat Negotiate(string? accept)
    {
        foreach (var entry in (accept ?? "").Split(','))
        {
            var mediaType = entry.Split(';')[0].Trim();
            if (mediaType.Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase))
            {
                return ExpositionFormat.OpenMetrics;
            }
        }

        return ExpositionFormat.Text;
    }

    /// <summary>prometheus_client's gzip_accepted: any <c>Accept-Encoding</c> entry named gzip.</summary>
    public static bool GzipAccepted(string? acceptEncoding)
    {
        foreach (var entry in (acceptEncoding ?? "").Split(','))
        {
            if (entry.Split(';')[0].Trim().Equals("gzip", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static async Task WriteAsync(HttpContext context, RankMetricsSet metrics)
    {
        var format = Negotiate(context.Request.Headers.Accept);
        var text = await metrics.For(context).Registry.CollectAsync(format, context.RequestAborted);
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        if (GzipAccepted(context.Request.Headers.AcceptEncoding))
        {
            using var compressed = new MemoryStream(bytes.Length / 4);
            using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(bytes);
            }

            bytes = compressed.ToArray();
            context.Response.Headers.ContentEncoding = "gzip";
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = format == ExpositionFormat.OpenMetrics ? OpenMetricsContentType : ContentType;
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }
}
