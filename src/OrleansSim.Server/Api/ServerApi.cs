using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Tokenization;
using OrleansSim.Server.Chaos;
using OrleansSim.Server.Hosting;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Api;

/// <summary>vLLM's non-inference endpoints: models, tokenize/detokenize, health, readiness, version, ping.</summary>
public static class ServerApi
{
    public static IEndpointRouteBuilder MapServerApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", ListModels).WithName("ListModels").WithSummary("vLLM ModelCard list, one card per served name");
        app.MapPost("/tokenize", TokenizeAsync).WithName("Tokenize").WithSummary("{model, prompt} or {model, messages} → {count, max_model_len, tokens}")
            .WithJsonExample("""{"prompt":"Hello world"}""");
        app.MapPost("/detokenize", DetokenizeAsync).WithName("Detokenize").WithSummary("{model, tokens} → {prompt}")
            .WithJsonExample("""{"tokens":[13225,2375]}""");
        app.MapGet("/health", Health).WithName("Health").WithSummary("200 while the process is up (503 on a rank under a chaos 'unready' fault with health: true)");
        app.MapGet("/ready", Ready).WithName("Ready").WithSummary("200 once every rank listens; 503 while starting or draining, or on a rank under a chaos 'unready' fault");
        // vLLM's body exactly ({"version": "<vllm version>"}): the pinned vLLM release, no OrleansSim field (README).
        app.MapGet("/version", () => Results.Json(new Dictionary<string, string> { ["version"] = VllmRelease.Version }))
            .WithName("Version").WithSummary("{\"version\": \"<pinned vLLM release>\"}, as vLLM answers");
        app.MapMethods("/ping", ["GET", "POST"], () => Results.Ok()).WithName("Ping");
        return app;
    }

    private static IResult Ready(HttpContext context, Readiness readiness, RankDirectory ranks, PodChaos chaos) =>
        readiness.IsReady && chaos.For(ranks.RankOf(context)) is not { Unready: true }
            ? Results.Ok()
            : Results.StatusCode(StatusCodes.Status503ServiceUnavailable);

    private static IResult Health(HttpContext context, RankDirectory ranks, PodChaos chaos) =>
        chaos.For(ranks.RankOf(context)) is { Unhealthy: true } ? Results.StatusCode(StatusCodes.Status503ServiceUnavailable) : Results.Ok();

    private static Task ListModels(HttpContext context, SimulatorOptions options, ModelCatalog models, TimeProvider time)
    {
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        return JsonResponse.WriteAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var name in models.ServedNames)
            {
                WriteModelCard(w, name, options.Model, null, options.MaxModelLen, created);
            }

            // vLLM's show_available_models: adapters after the base names, root = path, parent = base model.
            foreach (var adapter in models.Adapters)
            {
                WriteModelCard(w, adapter.Name, adapter.Path, adapter.BaseModelName ?? models.ServedNames[0], null, created);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>vllm/entrypoints/openai/protocol.py ModelCard + ModelPermission.</summary>
    public static void WriteModelCard(Utf8JsonWriter w, string id, string root, string? parent, int? maxModelLen, long created)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "model");
        w.WriteNumber("created", created);
        w.WriteString("owned_by", "vllm");
        w.WriteString("root", root);
        if (parent is null)
        {
            w.WriteNull("parent");
        }
        else
        {
            w.WriteString("parent", parent);
        }

        if (maxModelLen is { } len)
        {
            w.WriteNumber("max_model_len", len);
        }
        else
        {
            w.WriteNull("max_model_len");
        }
        w.WriteStartArray("permission");
        w.WriteStartObject();
        w.WriteString("id", $"modelperm-{Guid.NewGuid():N}");
        w.WriteString("object", "model_permission");
        w.WriteNumber("created", created);
        w.WriteBoolean("allow_create_engine", false);
        w.WriteBoolean("allow_sampling", true);
        w.WriteBoolean("allow_logprobs", true);
        w.WriteBoolean("allow_search_indices", false);
        w.WriteBoolean("allow_view", true);
        w.WriteBoolean("allow_fine_tuning", false);
        w.WriteString("organization", "*");
        w.WriteNull("group");
        w.WriteBoolean("is_blocking", false);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static async Task TokenizeAsync(HttpContext context, SimulatorOptions options, ISimTokenizer tokenizer, PromptReader parser)
    {
        using var document = await RequestBody.ReadJsonAsync(context);
        var body = document.RootElement;
        parser.ResolveModel(body);
        var hasPrompt = JsonFields.Get(body, "prompt") is not null;
        var hasMessages = JsonFields.Get(body, "messages") is not null;
        if (hasPrompt == hasMessages)
        {
            throw ApiException.BadRequest(hasPrompt
                ? "Only one of 'prompt' and 'messages' may be given."
                : "Field required: 'prompt' or 'messages'.", hasPrompt ? "messages" : "prompt");
        }

        var text = hasPrompt
            ? JsonFields.GetString(body, "prompt")!
            : tokenizer.RenderChat(PromptReader.ReadMessages(body));
        var tokens = tokenizer.Encode(text);
        var withStrings = JsonFields.GetBool(body, "return_token_strs") ?? false;
        await JsonResponse.WriteAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("count", tokens.Count);
            w.WriteNumber("max_model_len", options.MaxModelLen);
            w.WriteStartArray("tokens");
            foreach (var t in tokens)
            {
                w.WriteNumberValue(t);
            }

            w.WriteEndArray();
            if (withStrings)
            {
                w.WriteStartArray("token_strs");
                foreach (var t in tokens)
                {
                    w.WriteStringValue(tokenizer.Decode([t]));
                }

                w.WriteEndArray();
            }
            else
            {
                w.WriteNull("token_strs");
            }

            w.WriteEndObject();
        });
    }

    private static async Task DetokenizeAsync(HttpContext context, ISimTokenizer tokenizer, PromptReader parser)
    {
        using var document = await RequestBody.ReadJsonAsync(context);
        var body = document.RootElement;
        parser.ResolveModel(body);
        if (JsonFields.Get(body, "tokens") is not { } tokensElement)
        {
            throw ApiException.BadRequest("Field required: 'tokens'.", "tokens");
        }

        if (tokensElement.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.Invalid("tokens", "a list of token ids");
        }

        var ids = new List<int>(tokensElement.GetArrayLength());
        foreach (var id in tokensElement.EnumerateArray())
        {
            if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out var value) || value < 0)
            {
                throw JsonFields.Invalid("tokens", "a list of non-negative integer token ids");
            }

            if (!tokenizer.IsKnownTokenId(value))
            {
                throw ApiException.BadRequest($"Token id {value} is out of vocabulary", "tokens");
            }

            ids.Add(value);
        }

        string prompt;
        try
        {
            prompt = tokenizer.Decode(ids);
        }
        catch (ArgumentException)
        {
            throw ApiException.BadRequest("'tokens' contains ids outside the tokenizer's vocabulary.", "tokens");
        }

        await JsonResponse.WriteAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("prompt", prompt);
            w.WriteEndObject();
        });
    }
}
