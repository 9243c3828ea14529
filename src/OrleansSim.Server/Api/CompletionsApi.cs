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
            .WithSummary("OpenAI chat completion (SSE stream with \"stream\": true); header X-Return-Error: N answers at once with status N")
            .WithJsonExample("""{"messages":[{"role":"user","content":"Hello!"}],"max_tokens":20,"stream":false}""");
        app.MapPost("/v1/completions", CompletionAsync)
            .WithName("CreateCompletion")
            .WithSummary("OpenAI text completion; prompt may be a string, strings, token ids or lists of token ids; header X-Return-Error: N answers at once with status N")
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
        // llm-d-inference-sim's order: the body parses, then X-Return-Error, then injected failures, then the model check.
        if (context.Request.Headers.TryGetValue(ReturnErrorHeader, out var returnError))
        {
            throw ReturnedError(returnError.ToString());
        }

        if (failures.Enabled && failures.Next(RequestedModel(document.RootElement) ?? failures.DefaultModel) is { } failure)
        {
            throw new ApiException(failure.Status, failure.Message, failure.Param);
        }

        var request = parser.Parse(kind, document.RootElement, RequestIdentity.Of(context));
        await runner.RunAsync(context, ranks[ranks.RankOf(context)], request);
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
