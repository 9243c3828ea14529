using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansSim.Core.Generation.Tools;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Surfaces.Responses;

/// <summary>
/// Responses <c>tools</c> (function tools: <c>{"type":"function","name","description","parameters","strict"}</c>; other
/// tool types need vLLM's tool server and are left unused) and <c>tool_choice</c> (<c>none</c>, <c>auto</c>,
/// <c>required</c>, <c>{"type":"function","name"}</c>). Each function passes llm-d-inference-sim's tool whitelist unless
/// <c>--skip-tool-validation</c> (a missing description counts as empty). One call per answer (one function_call
/// output item). Null when the model may not call tools.
/// </summary>
internal static class ResponsesToolsReader
{
    public static ToolCallRequest? Read(JsonElement body, bool skipValidation)
    {
        var tools = ReadTools(body, skipValidation);
        var (kind, name) = JsonFields.Get(body, "tool_choice") switch
        {
            null => (ToolChoiceKind.Auto, null),
            { ValueKind: JsonValueKind.String } s => (s.GetString() switch
            {
                "none" => ToolChoiceKind.None,
                "auto" => ToolChoiceKind.Auto,
                "required" => ToolChoiceKind.Required,
                var other => throw ApiException.BadRequest($"'tool_choice' must be 'none', 'auto', 'required' or a function, got '{other}'.", "tool_choice"),
            }, (string?)null),
            { ValueKind: JsonValueKind.Object } o when JsonFields.GetString(o, "type", "tool_choice.type") == "function" =>
                (ToolChoiceKind.Named, JsonFields.GetString(o, "name", "tool_choice.name")
                    ?? throw ApiException.BadRequest("Field required: 'tool_choice.name'.", "tool_choice")),
            _ => throw ApiException.BadRequest("'tool_choice' must be 'none', 'auto', 'required' or {\"type\": \"function\", \"name\": …}.", "tool_choice"),
        };

        if (kind == ToolChoiceKind.None || tools.Count == 0)
        {
            return null;
        }

        if (kind == ToolChoiceKind.Named && !tools.Any(t => t.Name == name))
        {
            throw ApiException.BadRequest("The tool specified in `tool_choice` does not match any of the specified `tools`", "tool_choice");
        }

        return new ToolCallRequest(tools, kind, name) { MaxCalls = 1 };
    }

    private static List<ToolFunction> ReadTools(JsonElement body, bool skipValidation)
    {
        var result = new List<ToolFunction>();
        foreach (var (tool, path) in FunctionTools.Entries(body) ?? [])
        {

            var type = JsonFields.GetString(tool, "type", $"{path}.type") ?? throw ApiException.BadRequest($"Field required: '{path}.type'.", "tools");
            if (type != "function")
            {
                continue; // built-in tools (web search, code interpreter, MCP) run only with vLLM's tool server
            }

            var name = JsonFields.GetString(tool, "name", $"{path}.name") ?? throw ApiException.BadRequest($"Field required: '{path}.name'.", "tools");
            var parameters = JsonFields.Get(tool, "parameters") switch
            {
                null => new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() },
                { ValueKind: JsonValueKind.Object } p => JsonNode.Parse(p.GetRawText())!,
                _ => throw JsonFields.Invalid($"{path}.parameters", "an object"),
            };
            result.Add(FunctionTools.FromFlat(name, JsonFields.GetString(tool, "description", $"{path}.description"), parameters, skipValidation));
        }

        return result;
    }
}
