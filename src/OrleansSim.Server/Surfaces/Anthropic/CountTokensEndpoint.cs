using System.Text.Json;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Surfaces.Anthropic;

/// <summary>
/// POST /v1/messages/count_tokens (vLLM's AnthropicServingMessages.count_tokens, the Anthropic SDKs'
/// <c>messages.countTokens</c>): the Messages request's conversation, system and tools rendered as /v1/messages renders
/// them, answered <c>{"input_tokens":N,"context_management":{"original_input_tokens":N}}</c> (dumped without nulls).
/// No generation: no slot, no metrics. Errors use Anthropic's envelope.
/// </summary>
public static class CountTokensEndpoint
{
    public const string Route = "/v1/messages/count_tokens";

    private static readonly JsonEncodedText InputTokens = JsonEncodedText.Encode("input_tokens");
    private static readonly JsonEncodedText ContextManagement = JsonEncodedText.Encode("context_management");
    private static readonly JsonEncodedText OriginalInputTokens = JsonEncodedText.Encode("original_input_tokens");

    public static IEndpointRouteBuilder MapAnthropicCountTokens(this IEndpointRouteBuilder app)
    {
        var surface = app.ServiceProvider.GetServices<ApiSurface>().OfType<MessagesSurface>().Single();
        var model = JsonSerializer.Serialize(app.ServiceProvider.GetRequiredService<Core.Configuration.SimulatorOptions>().DisplayModelName);
        // A typed lambda (not a RequestDelegate), so the endpoint appears in the OpenAPI document.
        Delegate handler = (HttpContext context) => HandleAsync(context, surface);
        app.MapPost(Route, handler)
            .WithName("CountMessageTokens")
            .WithSummary("Anthropic messages.count_tokens (vLLM's /v1/messages/count_tokens): the input_tokens /v1/messages would count")
            .WithJsonExample($$"""{"model":{{model}},"system":"You are terse.","messages":[{"role":"user","content":"Hello!"}]}""");
        return app;
    }

    private static async Task HandleAsync(HttpContext context, MessagesSurface surface)
    {
        int count;
        try
        {
            using var document = await RequestBody.ReadJsonAsync(context);
            count = surface.ReadPrompt(document.RootElement).Prompt.PromptTokens;
        }
        catch (ApiException error)
        {
            await AnthropicWire.WriteErrorAsync(context, error);
            return;
        }

        await JsonResponse.WriteAsync(context, count, static (w, n) =>
        {
            w.WriteStartObject();
            w.WriteNumber(InputTokens, n);
            w.WriteStartObject(ContextManagement);
            w.WriteNumber(OriginalInputTokens, n);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }
}
