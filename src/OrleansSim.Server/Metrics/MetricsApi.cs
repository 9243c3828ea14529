using OrleansSim.Core.Configuration;
using OrleansSim.Core.Metrics;
using OrleansSim.Server.Hosting;

namespace OrleansSim.Server.Metrics;

/// <summary>The <see cref="RankMetrics"/> of every rank of this process, by rank.</summary>
public sealed class RankMetricsSet
{
    private readonly RankMetrics[] _ranks;
    private readonly RankDirectory _directory;

    public RankMetricsSet(SimulatorOptions options, RankDirectory directory, TimeProvider time)
    {
        _directory = directory;
        _ranks = new RankMetrics[directory.Count];
        // One clock for every rank: their fake functions are in phase.
        var fake = options.FakeMetrics is { } spec ? new FakeMetricsClock(spec, options.FakeMetricsRefreshInterval, time) : null;
        for (var r = 0; r < _ranks.Length; r++)
        {
            _ranks[r] = new RankMetrics(options, r, directory[r], time, fake);
        }
    }

    public RankMetrics this[int rank] => _ranks[rank];

    /// <summary>The metrics of the rank whose port accepted this connection.</summary>
    public RankMetrics For(HttpContext context) => _ranks[_directory.RankOf(context)];
}

/// <summary>GET /metrics: the Prometheus text exposition (0.0.4) of the rank behind this port.</summary>
public static class MetricsApi
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", WriteAsync).WithName("Metrics").WithSummary("vLLM Prometheus metrics of this port's rank (engine label = rank)");
        return app;
    }

    private static async Task WriteAsync(HttpContext context, RankMetricsSet metrics)
    {
        var text = await metrics.For(context).Registry.CollectAsync(context.RequestAborted);
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = ContentType;
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }
}
