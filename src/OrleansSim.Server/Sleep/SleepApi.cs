using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using OrleansSim.Core.Configuration;
using OrleansSim.Grains.Ranks;
using OrleansSim.Server.Api;
using OrleansSim.Server.Hosting;

namespace OrleansSim.Server.Sleep;

/// <summary>
/// vLLM's sleep-mode development endpoints (vllm/entrypoints/serve/dev/sleep/api_router.py): <c>POST /sleep?level=&amp;mode=</c>,
/// <c>POST /wake_up[?tags=…]</c>, <c>GET /is_sleeping</c>. vLLM mounts them only with <c>VLLM_SERVER_DEV_MODE=1</c>; OrleansSim
/// also needs <c>--enable-sleep-mode</c>, and otherwise they are unknown paths (404). A call applies to every rank of the
/// process, as vLLM's engine client broadcasts it to each data-parallel engine. README, "Sleep mode".
/// </summary>
public static class SleepApi
{
    /// <summary>vLLM's pause modes (vllm/v1/engine/__init__.py, <c>PauseMode</c>): what happens to the requests the engine holds when it falls asleep.</summary>
    private static PauseMode? PauseModeOf(string mode) => mode switch
    {
        "abort" => PauseMode.Abort,
        "wait" => PauseMode.Wait,
        "keep" => PauseMode.Keep,
        _ => null,
    };

    public static IEndpointRouteBuilder MapSleepApi(this IEndpointRouteBuilder app, SimulatorOptions options)
    {
        if (!options.ServesSleepEndpoints)
        {
            return app;
        }

        app.MapPost("/sleep", SleepAsync)
            .WithName("Sleep")
            .WithSummary("Puts every rank to sleep: new requests wait until /wake_up; the requests held are aborted (mode=abort, the default: finish_reason \"abort\") or finish (wait, keep); then level ≥ 1 drops the KV cache (AllBlocksCleared) → 200, empty body")
            .WithQueryExample("level", "1", "0 pauses only; 1 (default) offloads the weights and drops the KV cache; 2 drops both")
            .WithQueryExample("mode", "wait", "vLLM's pause mode: abort (the default) ends every running or queued request at once with finish_reason \"abort\" (HTTP 200; a stream gets its final chunk, then [DONE]); wait lets them finish first; keep (vLLM freezes them until the wake-up) lets them finish as wait does");
        app.MapPost("/wake_up", WakeUpAsync)
            .WithName("WakeUp")
            .WithSummary("Wakes every rank (tags: weights, kv_cache, scheduling; none = all) and starts the requests that waited → 200, empty body")
            .WithQueryExample("tags", "weights", "the parts to wake (repeatable): weights, kv_cache, scheduling; none wakes everything");
        app.MapGet("/is_sleeping", IsSleepingAsync)
            .WithName("IsSleeping")
            .WithSummary("{\"is_sleeping\": bool}");
        return app;
    }

    private static async Task SleepAsync(HttpContext context, RankDirectory ranks, [FromQuery] string? level = null, [FromQuery] string? mode = null)
    {
        var text = level ?? "1";
        if (!int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            // vLLM converts with int(level); the ValueError's text is Python's.
            throw ApiException.BadRequest($"invalid literal for int() with base 10: '{text}'");
        }

        // vLLM's route reads mode with the default "abort"; EngineCore.pause_scheduler rejects any other name.
        if (PauseModeOf(mode ?? "abort") is not { } pause)
        {
            throw ApiException.BadRequest($"Invalid pause mode: {mode}");
        }

        await Task.WhenAll(Enumerable.Range(0, ranks.Count).Select(r => ranks[r].Sleep(value, pause)));
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentLength = 0;
    }

    private static async Task WakeUpAsync(HttpContext context, RankDirectory ranks, [FromQuery] string[]? tags = null)
    {
        string[]? parts = tags is { Length: > 0 } ? tags : null; // vLLM: no tags → None → wake every part
        await Task.WhenAll(Enumerable.Range(0, ranks.Count).Select(r => ranks[r].WakeUp(parts)));
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentLength = 0;
    }

    private static async Task IsSleepingAsync(HttpContext context, RankDirectory ranks)
    {
        var states = await Task.WhenAll(Enumerable.Range(0, ranks.Count).Select(r => ranks[r].IsSleeping()));
        var sleeping = states.Any(s => s);
        await JsonResponse.WriteAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("is_sleeping", sleeping);
            w.WriteEndObject();
        });
    }
}
