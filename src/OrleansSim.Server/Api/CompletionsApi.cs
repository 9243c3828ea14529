using System.Text.Json;
using OrleansSim.Core.Chaos;
using OrleansSim.Server.Hosting;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Api;

/// <summary>POST /v1/chat/completions and POST /v1/completions.</summary>
public static class CompletionsApi
{
    public static IEndpointRouteBuilder MapCompletionsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", ChatAsync)
            .WithName("CreateChatCompletion")
            .WithSummary("OpenAI chat completion (SSE stream with \"stream\": true)")
            .WithJsonExample("""{"messages":[{"role":"user","content":"Hello!"}],"max_tokens":20,"stream":false}""");
        app.MapPost("/v1/completions", CompletionAsync)
            .WithName("CreateCompletion")
            .WithSummary("OpenAI text completion; prompt may be a string, strings, token ids or lists of token ids")
            .WithJsonExample("""{"prompt":"Once upon a time","max_tokens":16}""");
        return app;
    }

    private static Task ChatAsync(HttpContext context, RequestParser parser, RankDirectory ranks, InferenceRunner runner, FailureInjector failures) =>
        HandleAsync(context, EndpointKind.Chat, parser, ranks, runner, failures);

    private static Task CompletionAsync(HttpContext context, RequestParser parser, RankDirectory ranks, InferenceRunner runner, FailureInjector failures) =>
        HandleAsync(context, EndpointKind.Completion, parser, ranks, runner, failures);

    private static async Task HandleAsync(HttpContext context, EndpointKind kind, RequestParser parser, RankDirectory ranks, InferenceRunner runner, FailureInjector failures)
    {
        using var document = await RequestBody.ReadJsonAsync(context);
        // Injected failures come before model validation, as in llm-d-inference-sim.
        if (failures.Enabled && failures.Next(RequestedModel(document.RootElement) ?? failures.DefaultModel) is { } failure)
        {
            throw new ApiException(failure.Status, failure.Message, failure.Param);
        }

        var request = parser.Parse(kind, document.RootElement, RequestIdentity.Of(context));
        await runner.RunAsync(context, ranks[ranks.RankOf(context)], request);
    }

    private static string? RequestedModel(JsonElement body) =>
        body.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String ? JsonFields.Text(model, "model") : null;
}
