using System.Text;
using OrleansSim.Core.Lora;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Lora;

/// <summary>
/// vLLM's runtime LoRA endpoints (vllm/entrypoints/openai/serving_models.py): POST /v1/load_lora_adapter
/// and POST /v1/unload_lora_adapter. Success is a plain-text message with 200; a duplicate load is 400
/// and an unknown unload 404, in vLLM's error body with vLLM's error types. A load or unload applies to
/// every rank of the process (the adapter list is process-wide).
/// </summary>
public static class LoraApi
{
    /// <summary>vLLM's error type for bad load/unload input.</summary>
    public const string InvalidUserInput = "InvalidUserInput";

    public static IEndpointRouteBuilder MapLoraApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/load_lora_adapter", LoadAsync)
            .WithName("LoadLoraAdapter")
            .WithSummary("{lora_name, lora_path} → 200 text; duplicate name → 400")
            .WithJsonExample("""{"lora_name":"sql-lora","lora_path":"/adapters/sql"}""");
        app.MapPost("/v1/unload_lora_adapter", UnloadAsync)
            .WithName("UnloadLoraAdapter")
            .WithSummary("{lora_name} → 200 text; unknown name → 404")
            .WithJsonExample("""{"lora_name":"sql-lora"}""");
        return app;
    }

    private static async Task LoadAsync(HttpContext context, ModelCatalog models, ILogger<ModelCatalog> logger)
    {
        using var document = await RequestBody.ReadJsonAsync(context);
        var body = document.RootElement;
        var name = JsonFields.GetString(body, "lora_name");
        var path = JsonFields.GetString(body, "lora_path");
        if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(path))
        {
            throw new ApiException(StatusCodes.Status400BadRequest, "Both 'lora_name' and 'lora_path' must be provided.", type: InvalidUserInput);
        }

        if (models.ServedNames.Contains(name, StringComparer.Ordinal))
        {
            throw new ApiException(StatusCodes.Status400BadRequest, $"The lora adapter name '{name}' is a served base model name.", "lora_name", type: InvalidUserInput);
        }

        if (!models.TryLoad(new LoraModule(name, path)))
        {
            throw new ApiException(StatusCodes.Status400BadRequest, $"The lora adapter '{name}' has already been loaded.", type: InvalidUserInput);
        }

        logger.LogInformation("Loaded new LoRA adapter: name '{Name}', path '{Path}'", name, path);
        await WriteTextAsync(context, $"Success: LoRA adapter '{name}' added successfully.");
    }

    private static async Task UnloadAsync(HttpContext context, ModelCatalog models, ILogger<ModelCatalog> logger)
    {
        using var document = await RequestBody.ReadJsonAsync(context);
        var body = document.RootElement;
        var name = JsonFields.GetString(body, "lora_name");
        if (string.IsNullOrEmpty(name))
        {
            throw new ApiException(StatusCodes.Status400BadRequest, "either 'lora_name' and 'lora_int_id' needs to be provided.", type: InvalidUserInput);
        }

        if (!models.TryUnload(name))
        {
            throw new ApiException(StatusCodes.Status404NotFound, $"The lora adapter '{name}' cannot be found.");
        }

        logger.LogInformation("Removed LoRA adapter: name '{Name}'", name);
        await WriteTextAsync(context, $"Success: LoRA adapter '{name}' removed successfully.");
    }

    /// <summary>vLLM answers with a bare Starlette Response: the text and its length, no content type.</summary>
    private static Task WriteTextAsync(HttpContext context, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentLength = bytes.Length;
        return context.Response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }
}
