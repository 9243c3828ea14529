using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansSim.Core.Generation.Tools;
using OrleansSim.Server.Api;

namespace OrleansSim.Server.Inference;

/// <summary>
/// What every surface's <c>tools</c> reader shares: walking the request's tool list with each entry's path, and
/// checking one function against llm-d-inference-sim's tool whitelist (<see cref="ToolValidator"/>) unless
/// <c>--skip-tool-validation</c>. The surfaces differ only in where a function's name, description and schema sit.
/// </summary>
internal static class FunctionTools
{
    /// <summary>The request's <c>tools</c> entries with their paths (<c>tools[i]</c>); null when absent or null.</summary>
    public static List<(JsonElement Tool, string Path)>? Entries(JsonElement body)
    {
        if (JsonFields.Get(body, "tools") is not { } tools)
        {
            return null;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.Invalid("tools", "a list of tools");
        }

        var entries = new List<(JsonElement, string)>(tools.GetArrayLength());
        var i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var path = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object)
            {
                throw JsonFields.Invalid(path, "an object");
            }

            entries.Add((tool, path));
        }

        return entries;
    }

    /// <summary>Checks a chat-shaped function object (<c>{"name","description","parameters"}</c>) unless skipped.</summary>
    public static void Validate(JsonElement function, bool skipValidation)
    {
        if (skipValidation)
        {
            return;
        }

        try
        {
            ToolValidator.Validate(function);
        }
        catch (ToolValidationException e)
        {
            throw ApiException.BadRequest("Tool validation failed: " + e.Message, "tools");
        }
    }

    /// <summary>A function defined flat (Anthropic, Responses), checked in the chat shape vLLM converts it to.</summary>
    public static ToolFunction FromFlat(string name, string? description, JsonNode parameters, bool skipValidation)
    {
        var function = JsonSerializer.SerializeToElement(new JsonObject
        {
            ["name"] = name,
            ["description"] = description ?? "",
            ["parameters"] = parameters,
        });
        Validate(function, skipValidation);
        return new ToolFunction(name, function.GetProperty("parameters"));
    }
}
