using System.Text;
using OrleansSim.Core.Configuration;
using OrleansSim.Grains.Cluster;

namespace OrleansSim.Server.Cluster;

/// <summary><c>GET /cluster</c>: every live pod of the Orleans cluster with its ranks, read through this pod's silo.</summary>
public static class ClusterApi
{
    /// <summary>How long one pod may take to answer before it is listed as unreachable.</summary>
    public static readonly TimeSpan PodTimeout = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/cluster", GetClusterAsync).WithName("Cluster")
            .WithSummary("live pods of the cluster with queue length, running requests and health of each rank");
        return app;
    }

    private static async Task GetClusterAsync(HttpContext context, IGrainFactory grains, SimulatorOptions options)
    {
        var view = await ClusterView.ReadAsync(grains, options.ClusterId, PodTimeout);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(view.ToJson(), Encoding.UTF8, context.RequestAborted);
    }
}
