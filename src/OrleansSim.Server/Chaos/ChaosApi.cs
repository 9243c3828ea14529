using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansSim.Core.Chaos;
using OrleansSim.Core.Configuration;
using OrleansSim.Grains.Chaos;
using OrleansSim.Grains.Cluster;
using OrleansSim.Server.Api;

namespace OrleansSim.Server.Chaos;

/// <summary>
/// The cluster-wide chaos API on every rank port of every pod (docs/chaos.md): <c>POST /admin/chaos</c> sets a fault on
/// any pod and rank of the cluster, <c>GET</c> lists the whole cluster's faults, <c>DELETE</c> removes one or all.
/// </summary>
public static class ChaosApi
{
    public static RouteGroupBuilder MapChaosApi(this RouteGroupBuilder admin)
    {
        admin.MapPost("/chaos", AddAsync).WithName("AddChaosFault")
            .WithSummary("Sets a fault (error, latency, stall, drop, unready, queue_full, kv_flush) on a pod/rank of the cluster; target omitted = this pod, every rank; 201 with the stored fault")
            .WithJsonExample("""{"kind":"error","target":{"pod":"*","rank":0},"duration":"30s","rate":50,"types":["server_error"]}""");
        admin.MapGet("/chaos", ListAsync).WithName("ListChaosFaults")
            .WithSummary("Every active fault of the cluster: {\"faults\": [{id, kind, target, parameters, started_at, expires_at}]}");
        admin.MapDelete("/chaos/{id}", RemoveAsync).WithName("RemoveChaosFault")
            .WithSummary("Removes one fault (204; 404 when the id is unknown)");
        admin.MapDelete("/chaos", ClearAsync).WithName("ClearChaosFaults")
            .WithSummary("Removes every fault of the cluster (204)");
        return admin;
    }

    private static IChaosGrain Store(IGrainFactory grains) => grains.GetGrain<IChaosGrain>(IChaosGrain.Key);

    private static async Task AddAsync(HttpContext context, IGrainFactory grains, SimulatorOptions options, TimeProvider time)
    {
        using var document = await RequestBody.ReadJsonAsync(context);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.BadRequest("The request body must be a JSON object with 'kind'.");
        }

        ChaosFault fault;
        try
        {
            fault = ChaosRequest.Parse(JsonNode.Parse(document.RootElement.GetRawText())!.AsObject(), options.PodName, time.GetUtcNow());
        }
        catch (ChaosFormatException ex)
        {
            throw ApiException.BadRequest(ex.Message, ex.Field);
        }

        try
        {
            fault = await Store(grains).Add(fault);
        }
        catch (PodNotActiveException)
        {
            throw ApiException.BadRequest($"Unknown pod '{fault.Target.Pod}': it is not an active member of the cluster (see GET /cluster).", "target.pod");
        }

        await JsonResponse.WriteAsync(context, fault, static (w, f) => f.WriteTo(w), StatusCodes.Status201Created);
    }

    private static async Task ListAsync(HttpContext context, IGrainFactory grains)
    {
        var faults = await Store(grains).List();
        await JsonResponse.WriteAsync(context, faults, static (w, list) => ChaosFault.WriteList(w, list));
    }

    private static async Task<IResult> RemoveAsync(string id, IGrainFactory grains) =>
        await Store(grains).Remove(id)
            ? Results.NoContent()
            : throw new ApiException(StatusCodes.Status404NotFound, $"No chaos fault with id '{id}'.", "id");

    private static async Task<IResult> ClearAsync(IGrainFactory grains)
    {
        await Store(grains).Clear();
        return Results.NoContent();
    }
}
