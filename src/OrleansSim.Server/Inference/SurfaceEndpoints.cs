using System.Text.Json;
using OrleansSim.Core.Chaos;
using OrleansSim.Server.Api;
using OrleansSim.Server.Chaos;
using OrleansSim.Server.Hosting;
using OrleansSim.Server.Surfaces.Anthropic;
using OrleansSim.Server.Surfaces.Chat;
using OrleansSim.Server.Surfaces.Completions;
using OrleansSim.Server.Surfaces.Embeddings;
using OrleansSim.Server.Surfaces.Generate;
using OrleansSim.Server.Surfaces.Responses;

namespace OrleansSim.Server.Inference;

/// <summary>The API surfaces the server answers: one line per surface.</summary>
public static class SurfaceRegistry
{
    public static IServiceCollection AddApiSurfaces(this IServiceCollection services)
    {
        services.AddSingleton<PromptReader>();
        services.AddSingleton<ApiSurface, ChatSurface>();
        services.AddSingleton<ApiSurface, CompletionsSurface>();
        services.AddSingleton<ApiSurface, EmbeddingsSurface>();
        services.AddSingleton<ApiSurface, MessagesSurface>();
        services.AddSingleton<ApiSurface, ResponsesSurface>();
        services.AddSingleton<ApiSurface, GenerateSurface>();
        return services;
    }
}

/// <summary>
/// Maps every registered <see cref="ApiSurface"/> to its POST route. Each request takes the same way: read the
/// JSON body, X-Return-Error, injected failures (before model validation, as in llm-d-inference-sim), the surface's parser, then
/// the shared run loop on this listener's rank. Errors before the first byte are written by the surface.
/// </summary>
public static class SurfaceEndpoints
{
    public static IEndpointRouteBuilder MapApiSurfaces(this IEndpointRouteBuilder app)
    {
        var services = app.ServiceProvider;
        var ranks = services.GetRequiredService<RankDirectory>();
        var runner = services.GetRequiredService<InferenceRunner>();
        var failures = services.GetRequiredService<FailureInjector>();
        var chaos = services.GetRequiredService<PodChaos>();
        foreach (var surface in services.GetServices<ApiSurface>())
        {
            // A typed lambda (not a RequestDelegate), so the endpoint appears in the OpenAPI document.
            Delegate handler = (HttpContext context) => HandleAsync(context, surface, ranks, runner, failures, chaos);
            app.MapPost(surface.Route, handler)
                .WithName(surface.OperationName)
                .WithSummary(surface.Summary + "; header X-Return-Error: N answers at once with status N")
                .WithJsonExamples(surface.ExampleJson, surface.MoreExamples);
        }

        return app;
    }

    private static async Task HandleAsync(HttpContext context, ApiSurface surface, RankDirectory ranks, InferenceRunner runner, FailureInjector failures, PodChaos chaos)
    {
        try
        {
            var rank = ranks.RankOf(context);
            using var document = await RequestBody.ReadJsonAsync(context);
            // llm-d-inference-sim's order: the body parses, then X-Return-Error, then injected failures, then the model check.
            if (context.Request.Headers.TryGetValue(ReturnErrorHeader, out var returnError))
            {
                throw ReturnedError(returnError.ToString());
            }

            var faults = chaos.For(rank);
            if (faults is not null)
            {
                faults = await ApplyChaosAsync(context, rank, faults, chaos, failures, document.RootElement);
            }

            if (failures.Enabled && failures.Next(RequestedModel(document.RootElement) ?? failures.DefaultModel) is { } failure)
            {
                throw new ApiException(failure.Status, failure.Message, failure.Param);
            }

            var request = surface.Parse(document.RootElement, RequestIdentity.Of(context));
            await runner.RunAsync(context, ranks[rank], request, faults);
        }
        catch (ApiException error) when (!context.Response.HasStarted)
        {
            await surface.WriteErrorAsync(context, error);
        }
    }

    /// <summary>
    /// The front-door faults of the rank (docs/chaos.md): <c>stall</c> holds the request (no byte) until it clears, then
    /// <c>queue_full</c> answers vLLM's 429 and <c>error</c> rolls like failure injection with the fault's rate and types.
    /// </summary>
    private static async Task<RankChaos?> ApplyChaosAsync(HttpContext context, int rank, RankChaos faults, PodChaos chaos, FailureInjector failures, JsonElement body)
    {
        if (faults.Stalled)
        {
            await chaos.WaitWhileStalledAsync(rank, context.RequestAborted);
            if (chaos.For(rank) is not { } after)
            {
                return null;
            }

            faults = after;
        }

        if (faults.QueueFull)
        {
            throw new ApiException(StatusCodes.Status429TooManyRequests, InferenceRunner.QueueFullMessage);
        }

        if (faults.Error is { } error
            && failures.Roll(error.Parameters.Rate ?? 0, error.Parameters.Types, RequestedModel(body) ?? failures.DefaultModel, failures.MaxModelLen) is { } failure)
        {
            throw new ApiException(failure.Status, failure.Message, failure.Param);
        }

        return faults;
    }

    /// <summary>llm-d-inference-sim's request header that answers at once with the error status it names.</summary>
    public const string ReturnErrorHeader = "X-Return-Error";

    /// <summary>The error <c>X-Return-Error: N</c> asks for; a value that is not an HTTP status code is a 400.</summary>
    public static ApiException ReturnedError(string value)
    {
        if (!int.TryParse(value.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var status))
        {
            return ApiException.BadRequest($"Invalid X-Return-Error header value \"{value}\": must be an integer");
        }

        // An informational (1xx) or out-of-range status cannot carry an error body.
        return status is < 200 or > 599
            ? ApiException.BadRequest($"Invalid X-Return-Error header value \"{value}\": must be an HTTP status code between 200 and 599")
            : new ApiException(status, $"Simulated error triggered by X-Return-Error header (code {status})");
    }

    private static string? RequestedModel(JsonElement body) =>
        body.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String ? JsonFields.Text(model, "model") : null;
}
