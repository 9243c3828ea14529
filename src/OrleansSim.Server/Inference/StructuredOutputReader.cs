using System.Text.Json;
using OrleansSim.Core.Generation.Tools;
using OrleansSim.Server.Api;

namespace OrleansSim.Server.Inference;

/// <summary>
/// vLLM's structured-output fields: <c>response_format</c> (<c>text</c>, <c>json_object</c>, <c>json_schema</c>),
/// <c>structured_outputs</c> (<c>json</c>, <c>json_object</c>, <c>choice</c>) and the older <c>guided_json</c> /
/// <c>guided_choice</c>. As in vLLM, <c>response_format</c> wins over <c>structured_outputs</c>. Schemas are checked
/// against the JSON Schema meta-schema; a bad one is a 400 naming the field. Constraints no simulator can honour
/// (<c>regex</c>, <c>grammar</c>, <c>structural_tag</c>) are refused with a 400 rather than ignored.
/// </summary>
public static class StructuredOutputReader
{
    private static readonly string[] ConstraintKinds = ["json", "regex", "choice"];
    private static readonly string[] Unsupported = ["regex", "grammar", "structural_tag"];

    public static StructuredOutput? Read(JsonElement body) =>
        ReadResponseFormat(body) ?? ReadStructuredOutputs(body) ?? ReadGuided(body);

    /// <summary>
    /// The Responses API's <c>text.format</c> (vLLM's ResponsesRequest.to_sampling_params): <c>json_schema</c> constrains
    /// the output to its <c>schema</c> (name and schema sit beside the type, not under a <c>json_schema</c> key);
    /// <c>text</c> constrains nothing; <c>json_object</c> is vLLM's NotImplementedError (501).
    /// </summary>
    public static StructuredOutput? ReadTextFormat(JsonElement body)
    {
        if (JsonFields.GetObject(body, "text") is not { } text || JsonFields.Get(text, "format") is not { } format || format.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (format.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.Invalid("text.format", "an object");
        }

        var type = JsonFields.GetString(format, "type", "text.format.type")
            ?? throw ApiException.BadRequest("Field required: 'text.format.type'.", "text");
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                throw new ApiException(StatusCodes.Status501NotImplemented, "json_object is not supported");
            case "json_schema":
                _ = JsonFields.GetString(format, "name", "text.format.name")
                    ?? throw ApiException.BadRequest("Field required: 'text.format.name'.", "text");
                if (JsonFields.Get(format, "strict") is { } strict && strict.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                {
                    throw JsonFields.Invalid("text.format.strict", "a boolean");
                }

                return Schema(JsonFields.GetObject(format, "schema")
                    ?? throw ApiException.BadRequest("Field required: 'text.format.schema'.", "text"), "text.format.schema", "text");
            default:
                throw ApiException.BadRequest($"'text.format.type' must be 'text', 'json_schema' or 'json_object' (got '{type}').", "text");
        }
    }

    private static StructuredOutput? ReadResponseFormat(JsonElement body)
    {
        if (JsonFields.GetObject(body, "response_format") is not { } format)
        {
            return null;
        }

        var type = JsonFields.GetString(format, "type", "response_format.type")
            ?? throw ApiException.BadRequest("Field required: 'response_format.type'.", "response_format");
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                return new StructuredOutput(StructuredOutputKind.JsonObject);
            case "json_schema":
                if (JsonFields.Get(format, "json_schema") is not { } jsonSchema)
                {
                    throw ApiException.BadRequest("Field required: 'response_format.json_schema'.", "response_format");
                }

                if (jsonSchema.ValueKind != JsonValueKind.Object)
                {
                    throw JsonFields.Invalid("response_format.json_schema", "an object");
                }

                _ = JsonFields.GetString(jsonSchema, "name", "response_format.json_schema.name")
                    ?? throw ApiException.BadRequest("Field required: 'response_format.json_schema.name'.", "response_format");
                if (JsonFields.Get(jsonSchema, "strict") is { } strict && strict.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    throw JsonFields.Invalid("response_format.json_schema.strict", "a boolean");
                }

                // Without a schema any JSON object will do.
                return JsonFields.Get(jsonSchema, "schema") is { } schema
                    ? Schema(schema, "response_format.json_schema.schema", "response_format")
                    : new StructuredOutput(StructuredOutputKind.JsonObject);
            case "structural_tag":
                throw ApiException.BadRequest("'response_format' of type 'structural_tag' is not supported by this simulator.", "response_format");
            default:
                throw ApiException.BadRequest(
                    $"'response_format.type' must be 'text', 'json_object', 'json_schema' or 'structural_tag' (got '{type}').", "response_format");
        }
    }

    private static StructuredOutput? ReadStructuredOutputs(JsonElement body)
    {
        if (JsonFields.GetObject(body, "structured_outputs") is not { } so)
        {
            return null;
        }

        var kinds = ConstraintKinds.Count(k => JsonFields.Get(so, k) is not null);
        if (kinds > 1)
        {
            throw ApiException.BadRequest(
                "You can only use one kind of constraints for structured outputs ('json', 'regex' or 'choice').", "structured_outputs");
        }

        foreach (var unsupported in Unsupported)
        {
            if (JsonFields.Get(so, unsupported) is not null)
            {
                throw ApiException.BadRequest($"'structured_outputs.{unsupported}' is not supported by this simulator.", "structured_outputs");
            }
        }

        if (JsonFields.Get(so, "json") is { } json)
        {
            return Schema(json, "structured_outputs.json", "structured_outputs");
        }

        if (JsonFields.Get(so, "choice") is { } choice)
        {
            return Choice(choice, "structured_outputs.choice", "structured_outputs");
        }

        return JsonFields.GetBool(so, "json_object") == true ? new StructuredOutput(StructuredOutputKind.JsonObject) : null;
    }

    private static StructuredOutput? ReadGuided(JsonElement body)
    {
        if (JsonFields.Get(body, "guided_json") is { } json)
        {
            return Schema(json, "guided_json", "guided_json");
        }

        return JsonFields.Get(body, "guided_choice") is { } choice ? Choice(choice, "guided_choice", "guided_choice") : null;
    }

    /// <summary>A schema given as JSON, or as a string holding JSON (vLLM accepts both).</summary>
    private static StructuredOutput Schema(JsonElement schema, string field, string param)
    {
        if (schema.ValueKind == JsonValueKind.String)
        {
            try
            {
                using var parsed = JsonDocument.Parse(schema.GetString()!);
                schema = parsed.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw ApiException.BadRequest($"'{field}' is not valid JSON: {e.Message}", param);
            }
        }

        if (schema.ValueKind == JsonValueKind.False)
        {
            throw ApiException.BadRequest($"'{field}' is not a valid JSON schema: the schema `false` accepts no value", param);
        }

        if (RequestSchemas.Problem(schema) is { } problem)
        {
            throw ApiException.BadRequest($"'{field}' is not a valid JSON schema: {problem}", param);
        }

        return new StructuredOutput(StructuredOutputKind.JsonSchema) { Schema = schema.Clone() };
    }

    private static StructuredOutput Choice(JsonElement choice, string field, string param)
    {
        if (choice.ValueKind != JsonValueKind.Array || choice.GetArrayLength() == 0 || choice.EnumerateArray().Any(c => c.ValueKind != JsonValueKind.String))
        {
            throw ApiException.BadRequest($"'{field}' must be a non-empty list of strings.", param);
        }

        return new StructuredOutput(StructuredOutputKind.Choice) { Choices = [.. choice.EnumerateArray().Select(c => JsonFields.Text(c, field))] };
    }
}
