using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansSim.Core.Generation.Tools;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Surfaces.Anthropic;

/// <summary>
/// Anthropic <c>tools</c> (<c>{"name","description","input_schema"}</c>) and <c>tool_choice</c>
/// (<c>{"type":"auto"|"any"|"tool"|"none","name"}</c>) as vLLM converts them to a chat request: tools become functions
/// whose parameters are the input schema, <c>any</c> is <c>required</c>, <c>tool</c> a named function, and tools
/// without a tool_choice mean <c>auto</c>; then the chat path's checks apply (tool_choice needs tools, a named tool
/// must exist) and llm-d-inference-sim's tool whitelist unless <c>--skip-tool-validation</c> (a missing description
/// counts as empty: Anthropic makes it optional). Null when the model may not call tools.
/// </summary>
internal static class AnthropicToolsReader
{
    public static ToolCallRequest? Read(JsonElement body, bool skipValidation)
    {
        var tools = ReadTools(body, skipValidation);
        if (JsonFields.GetObject(body, "tool_choice") is not { } choice)
        {
            return tools is { Count: > 0 } ? new ToolCallRequest(tools, ToolChoiceKind.Auto) : null;
        }

        var type = JsonFields.GetString(choice, "type", "tool_choice.type")
            ?? throw ApiException.BadRequest("Field required: 'tool_choice.type'.", "tool_choice");
        var name = JsonFields.GetString(choice, "name", "tool_choice.name");
        var kind = type switch
        {
            "auto" => ToolChoiceKind.Auto,
            "any" => ToolChoiceKind.Required,
            "tool" when string.IsNullOrEmpty(name) => throw ApiException.BadRequest("tool_choice.name is required when tool_choice.type is 'tool'", "tool_choice"),
            "tool" => ToolChoiceKind.Named,
            "none" => ToolChoiceKind.None,
            _ => throw ApiException.BadRequest($"'tool_choice.type' must be 'auto', 'any', 'tool' or 'none', got '{type}'.", "tool_choice"),
        };

        if (kind == ToolChoiceKind.None)
        {
            return null;
        }

        if (tools is null)
        {
            throw ApiException.BadRequest("When using `tool_choice`, `tools` must be set.", "tool_choice");
        }

        if (kind == ToolChoiceKind.Named && !tools.Any(t => t.Name == name))
        {
            throw ApiException.BadRequest("The tool specified in `tool_choice` does not match any of the specified `tools`", "tool_choice");
        }

        return tools.Count == 0 ? null : new ToolCallRequest(tools, kind, kind == ToolChoiceKind.Named ? name : null);
    }

    private static List<ToolFunction>? ReadTools(JsonElement body, bool skipValidation)
    {
        if (FunctionTools.Entries(body) is not { } entries)
        {
            return null;
        }

        var result = new List<ToolFunction>(entries.Count);
        foreach (var (tool, path) in entries)
        {

            var name = JsonFields.GetString(tool, "name", $"{path}.name")
                ?? throw ApiException.BadRequest($"Field required: '{path}.name'.", "tools");
            var schema = JsonFields.Get(tool, "input_schema") switch
            {
                null => throw ApiException.BadRequest($"Field required: '{path}.input_schema'.", "tools"),
                { ValueKind: JsonValueKind.Object } s => s,
                _ => throw ApiException.BadRequest("input_schema must be a dictionary", "tools"),
            };

            // vLLM defaults a schema without a type to an object.
            var parameters = JsonNode.Parse(schema.GetRawText())!.AsObject();
            if (!parameters.ContainsKey("type"))
            {
                parameters["type"] = "object";
            }

            result.Add(FunctionTools.FromFlat(name, JsonFields.GetString(tool, "description", $"{path}.description"), parameters, skipValidation));
        }

        return result;
    }
}
