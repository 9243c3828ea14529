using System.Text.Json;
using OrleansSim.Core.Generation.Tools;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Surfaces.Chat;

/// <summary>
/// Chat <c>tools</c> and <c>tool_choice</c>, checked as vLLM's ChatCompletionRequest.check_tool_usage does (its messages),
/// and each function against llm-d-inference-sim's tool whitelist (<see cref="ToolValidator"/>) unless
/// <c>--skip-tool-validation</c>. Null when the model may not call tools.
/// </summary>
internal static class ChatToolsReader
{
    private const string CorrectUsage = "Correct usage: `{\"type\": \"function\", \"function\": {\"name\": \"my_function\"}}`";

    /// <summary>Parameters of a function that declares none: an object without properties (the call's arguments are <c>{}</c>).</summary>
    private static readonly JsonElement NoParameters = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement.Clone();

    public static ToolCallRequest? Read(JsonElement body, bool skipValidation)
    {
        // parallel_tool_calls: false keeps one call per answer (vLLM's maybe_filter_parallel_tool_calls keeps the first).
        var request = ReadChoice(body, skipValidation);
        return request is not null && JsonFields.GetBool(body, "parallel_tool_calls") == false ? request with { MaxCalls = 1 } : request;
    }

    private static ToolCallRequest? ReadChoice(JsonElement body, bool skipValidation)
    {
        var tools = ReadTools(body, skipValidation);
        var choice = JsonFields.Get(body, "tool_choice");
        if (choice is null)
        {
            // vLLM: tools without tool_choice mean "auto"; neither means "none".
            return tools is { Count: > 0 } ? new ToolCallRequest(tools, ToolChoiceKind.Auto) : null;
        }

        var value = choice.Value;
        if (value.ValueKind == JsonValueKind.String && value.GetString() == "none")
        {
            return null;
        }

        if (tools is null)
        {
            throw ApiException.BadRequest("When using `tool_choice`, `tools` must be set.", "tool_choice");
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            var kind = value.GetString() switch
            {
                "auto" => ToolChoiceKind.Auto,
                "required" => ToolChoiceKind.Required,
                var other => throw ApiException.BadRequest(
                    $"Invalid value for `tool_choice`: {other}! Only named tools, \"none\", \"auto\" or \"required\" are supported.", "tool_choice"),
            };

            // vLLM (as OpenAI): "required" with an empty tool list behaves as "none".
            return tools.Count == 0 ? null : new ToolCallRequest(tools, kind);
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.BadRequest(
                $"Invalid value for `tool_choice`: {value.GetRawText()}! Only named tools, \"none\", \"auto\" or \"required\" are supported.", "tool_choice");
        }

        if (!value.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
        {
            var given = value.TryGetProperty("function", out var f) ? f.GetRawText() : "None";
            throw ApiException.BadRequest($"Invalid value for `function`: `{given}` in `tool_choice`! {CorrectUsage}", "tool_choice");
        }

        if (!function.TryGetProperty("name", out var nameElement))
        {
            throw ApiException.BadRequest($"Expected field `name` in `function` in `tool_choice`! {CorrectUsage}", "tool_choice");
        }

        if (nameElement.ValueKind != JsonValueKind.String || nameElement.GetString() is not { Length: > 0 } name)
        {
            throw ApiException.BadRequest($"Invalid `name` in `function`: `{nameElement.GetRawText()}` in `tool_choice`! {CorrectUsage}", "tool_choice");
        }

        if (!tools.Any(t => t.Name == name))
        {
            throw ApiException.BadRequest("The tool specified in `tool_choice` does not match any of the specified `tools`", "tool_choice");
        }

        return new ToolCallRequest(tools, ToolChoiceKind.Named, name);
    }

    /// <summary>The request's function tools (null when <c>tools</c> is absent or null).</summary>
    private static List<ToolFunction>? ReadTools(JsonElement body, bool skipValidation)
    {
        if (FunctionTools.Entries(body) is not { } entries)
        {
            return null;
        }

        var result = new List<ToolFunction>(entries.Count);
        foreach (var (tool, path) in entries)
        {

            if (JsonFields.GetString(tool, "type", $"{path}.type") is { } type && type != "function")
            {
                throw ApiException.BadRequest($"'{path}.type' must be 'function' (got '{type}').", "tools");
            }

            if (JsonFields.Get(tool, "function") is not { ValueKind: JsonValueKind.Object } function)
            {
                throw ApiException.BadRequest($"Field required: '{path}.function'.", "tools");
            }

            var name = JsonFields.GetString(function, "name", $"{path}.function.name")
                ?? throw ApiException.BadRequest($"Field required: '{path}.function.name'.", "tools");
            FunctionTools.Validate(function, skipValidation);

            var parameters = JsonFields.Get(function, "parameters") switch
            {
                null => NoParameters,
                { ValueKind: JsonValueKind.Object } p => p.Clone(),
                _ => throw JsonFields.Invalid($"{path}.function.parameters", "an object"),
            };
            result.Add(new ToolFunction(name, parameters));
        }

        return result;
    }
}
