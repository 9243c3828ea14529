using OrleansSim.Server.Hosting;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Api;

/// <summary>POST /v1/chat/completions and POST /v1/completions.</summary>
public static class CompletionsApi
{
    public static IEndpointRouteBuilder MapCompletionsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", (HttpContext context) => HandleAsync(context, EndpointKind.Chat))
            .WithName("CreateChatCompletion")
            .WithSummary("OpenAI chat completion (streaming with \"stream\": true)");
        app.MapPost("/v1/completions", (HttpContext context) => HandleAsync(context, EndpointKind.Completion))
            .WithName("CreateCompletion")
            .WithSummary("OpenAI text completion; prompt may be a string, strings, token ids or lists of token ids");
        return app;
    }

    private static async Task HandleAsync(HttpContext context, EndpointKind kind)
    {
        var services = context.RequestServices;
        var body = await RequestBody.ReadAsync(context);
        using var document = JsonFields.ParseBody(body);
        var request = services.GetRequiredService<RequestParser>().Parse(kind, document.RootElement, RequestIdentity.Of(context));
        var ranks = services.GetRequiredService<RankDirectory>();
        await services.GetRequiredService<InferenceRunner>().RunAsync(context, ranks[ranks.RankOf(context)], request);
    }
}
