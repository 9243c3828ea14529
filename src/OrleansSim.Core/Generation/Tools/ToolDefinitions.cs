using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace OrleansSim.Core.Generation.Tools;

/// <summary>One function tool of a request: its name and the JSON Schema of its parameters.</summary>
public sealed record ToolFunction(string Name, JsonElement Parameters);

/// <summary>How the request lets the model call tools (OpenAI <c>tool_choice</c>).</summary>
public enum ToolChoiceKind
{
    None,
    Auto,
    Required,
    Named,
}

/// <summary>A tool definition outside llm-d-inference-sim's whitelist; the message follows <c>Tool validation failed: </c>.</summary>
public sealed class ToolValidationException(string message) : Exception(message);

/// <summary>
/// llm-d-inference-sim's tool whitelist: a function needs <c>name</c>, <c>description</c> and <c>parameters</c> and nothing
/// else; parameters use only <c>type</c> (object, array, string, number, integer, boolean, null), <c>description</c>,
/// <c>enum</c> (of the parameter's type, not on object/array/null), <c>properties</c>, <c>items</c> (required for arrays),
/// <c>required</c>, <c>additionalProperties</c> (boolean), <c>minItems</c>/<c>maxItems</c>, <c>default</c>, <c>minimum</c>/<c>maximum</c>,
/// <c>exclusiveMinimum</c>/<c>exclusiveMaximum</c>, <c>minLength</c>/<c>maxLength</c>, <c>pattern</c>, <c>format</c>, <c>title</c>;
/// objects need <c>properties</c>. Checked with JsonSchema.Net against a meta-schema that states these rules.
/// </summary>
public static class ToolValidator
{
    private static readonly Lazy<JsonSchema> Whitelist = new(() => JsonSchema.FromText(WhitelistSchema));

    /// <summary>Throws <see cref="ToolValidationException"/> naming the tool and the first offending location.</summary>
    public static void Validate(JsonElement function)
    {
        var results = Whitelist.Value.Evaluate(function, new EvaluationOptions { OutputFormat = OutputFormat.Hierarchical });
        if (results.IsValid)
        {
            return;
        }

        var name = function.ValueKind == JsonValueKind.Object && function.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
            ? n.GetString()
            : null;
        var detail = FirstError(results);
        throw new ToolValidationException($"tool '{name ?? "?"}': {detail}");
    }

    internal static string FirstError(EvaluationResults results)
    {
        // The deepest failure under failing nodes explains the problem best (the root only says "a subschema failed").
        // Failing "if" and "not" subschemas are not errors, and neither are failing branches of a passing anyOf.
        if (Deepest(results) is not { } deepest)
        {
            return "does not match the tool schema";
        }

        var location = deepest.InstanceLocation.ToString() is { Length: > 0 } l ? l : "/";
        // JsonSchema.Net writes expected values JSON-escaped for HTML ("\u0022string\u0022"); show plain quotes.
        return $"{location}: {string.Join("; ", deepest.Errors!.Values)}".Replace("\\u0022", "\"", StringComparison.Ordinal);
    }

    private static EvaluationResults? Deepest(EvaluationResults node)
    {
        EvaluationResults? best = null;
        foreach (var child in node.Details ?? [])
        {
            var path = child.EvaluationPath.ToString();
            if (child.IsValid || path.EndsWith("/if", StringComparison.Ordinal) || path.EndsWith("/not", StringComparison.Ordinal))
            {
                continue;
            }

            if (Deepest(child) is { } found && (best is null || found.InstanceLocation.ToString().Length > best.InstanceLocation.ToString().Length))
            {
                best = found;
            }
        }

        return best ?? (node.Errors is { Count: > 0 } ? node : null);
    }

    private const string WhitelistSchema = """
        {
          "type": "object",
          "properties": {
            "name": { "type": "string" },
            "description": { "type": "string" },
            "parameters": { "$ref": "#/$defs/param" },
            "strict": { "type": ["boolean", "null"] }
          },
          "required": ["name", "description", "parameters"],
          "additionalProperties": false,
          "$defs": {
            "param": {
              "type": "object",
              "required": ["type"],
              "additionalProperties": false,
              "properties": {
                "type": { "enum": ["object", "array", "string", "number", "integer", "boolean", "null"] },
                "description": { "type": "string" },
                "title": { "type": "string" },
                "enum": { "type": "array", "items": { "type": ["string", "number", "integer", "boolean"] } },
                "properties": { "type": "object", "additionalProperties": { "$ref": "#/$defs/param" } },
                "items": { "anyOf": [ { "$ref": "#/$defs/param" }, { "type": "array", "items": { "$ref": "#/$defs/param" } } ] },
                "required": { "type": "array", "items": { "type": "string" } },
                "additionalProperties": { "type": "boolean" },
                "minItems": { "type": "integer", "minimum": 0 },
                "maxItems": { "type": "integer", "minimum": 0 },
                "default": {},
                "minimum": { "type": "number" },
                "maximum": { "type": "number" },
                "exclusiveMinimum": { "type": ["number", "boolean"] },
                "exclusiveMaximum": { "type": ["number", "boolean"] },
                "minLength": { "type": "integer", "minimum": 0 },
                "maxLength": { "type": "integer", "minimum": 0 },
                "pattern": { "type": "string" },
                "format": { "type": "string" }
              },
              "allOf": [
                { "if": { "properties": { "type": { "const": "string" } } }, "then": { "properties": { "enum": { "items": { "type": "string" } } } } },
                { "if": { "properties": { "type": { "const": "number" } } }, "then": { "properties": { "enum": { "items": { "type": "number" } } } } },
                { "if": { "properties": { "type": { "const": "integer" } } }, "then": { "properties": { "enum": { "items": { "type": "integer" } } } } },
                { "if": { "properties": { "type": { "const": "boolean" } } }, "then": { "properties": { "enum": { "items": { "type": "boolean" } } } } },
                { "if": { "properties": { "type": { "enum": ["null", "object", "array"] } } }, "then": { "not": { "required": ["enum"] } } },
                { "if": { "properties": { "type": { "const": "array" } } }, "then": { "required": ["items"] } },
                { "if": { "properties": { "type": { "const": "object" } } }, "then": { "required": ["properties"] } }
              ]
            }
          }
        }
        """;
}

/// <summary>
/// JSON Schemas from requests (<c>response_format.json_schema.schema</c>, <c>structured_outputs.json</c>): checked against the
/// draft 2020-12 meta-schema, and used to validate values.
/// </summary>
public static class RequestSchemas
{
    /// <summary>Null when <paramref name="schema"/> is a valid JSON Schema, else why not.</summary>
    public static string? Problem(JsonElement schema)
    {
        if (schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False))
        {
            return "a JSON Schema must be an object or a boolean";
        }

        var results = MetaSchemas.Draft202012.Evaluate(schema, new EvaluationOptions { OutputFormat = OutputFormat.Hierarchical });
        if (!results.IsValid)
        {
            return ToolValidator.FirstError(results);
        }

        try
        {
            using var empty = JsonDocument.Parse("{}");
            JsonSchema.FromText(schema.GetRawText()).Evaluate(empty.RootElement);
            return null;
        }
        catch (Exception ex) when (ex is JsonSchemaException or JsonException or RefResolutionException or ArgumentException or InvalidOperationException)
        {
            return ex.Message;
        }
    }

    /// <summary>Null when <paramref name="value"/> validates against <paramref name="schema"/>, else the first error.</summary>
    public static string? Check(JsonElement schema, JsonElement value)
    {
        var results = JsonSchema.FromText(schema.GetRawText()).Evaluate(value, new EvaluationOptions { OutputFormat = OutputFormat.Hierarchical });
        return results.IsValid ? null : ToolValidator.FirstError(results);
    }
}
