using System.Text.Json;

namespace OrleansSim.Server.Api;

/// <summary>
/// Typed reads of request-body fields with errors that name the field (what a pydantic model in vLLM
/// reports as a 400). Absent and <c>null</c> both read as "not given".
/// </summary>
internal static class JsonFields
{
    public static JsonElement? Get(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    /// <summary>A string value; an unpaired surrogate escape (<c>"\ud800"</c>) is a 400 naming the field.</summary>
    public static string Text(JsonElement value, string field)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw ApiException.BadRequest($"'{field}' is not a valid string: it contains an unpaired surrogate.", field);
        }
    }

    public static string? GetString(JsonElement obj, string name, string? path = null) => Get(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } v => Text(v, path ?? name),
        _ => throw Invalid(path ?? name, "a string"),
    };

    public static bool? GetBool(JsonElement obj, string name) => Get(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw Invalid(name, "a boolean"),
    };

    public static long? GetLong(JsonElement obj, string name) => Get(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } v when v.TryGetInt64(out var l) => l,
        { ValueKind: JsonValueKind.Number } v when v.TryGetDouble(out var d) && d == Math.Floor(d) && Math.Abs(d) < 9e18 => (long)d,
        _ => throw Invalid(name, "an integer"),
    };

    public static int? GetInt(JsonElement obj, string name)
    {
        var value = GetLong(obj, name);
        return value switch
        {
            null => null,
            > int.MaxValue or < int.MinValue => throw ApiException.BadRequest($"'{name}' is out of range: {value}.", name),
            _ => (int)value.Value,
        };
    }

    public static double? GetNumber(JsonElement obj, string name) => Get(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } v => v.GetDouble(),
        _ => throw Invalid(name, "a number"),
    };

    public static JsonElement? GetObject(JsonElement obj, string name) => Get(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Object } v => v,
        _ => throw Invalid(name, "an object"),
    };

    /// <summary>A string or a list of strings (OpenAI's <c>stop</c>).</summary>
    public static IReadOnlyList<string> GetStringOrList(JsonElement obj, string name)
    {
        switch (Get(obj, name))
        {
            case null:
                return [];
            case { ValueKind: JsonValueKind.String } v:
                return [Text(v, name)];
            case { ValueKind: JsonValueKind.Array } v:
                var list = new List<string>(v.GetArrayLength());
                foreach (var item in v.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        throw Invalid(name, "a string or a list of strings");
                    }

                    list.Add(Text(item, name));
                }

                return list;
            default:
                throw Invalid(name, "a string or a list of strings");
        }
    }

    public static ApiException Invalid(string field, string expected) =>
        ApiException.BadRequest($"'{field}' must be {expected}.", field);

    /// <summary>Parses the body; malformed JSON or a non-object body is a 400.</summary>
    public static JsonDocument ParseBody(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            throw ApiException.BadRequest($"Invalid JSON in request body: {FirstSentence(ex.Message)}");
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw ApiException.BadRequest("The request body must be a JSON object.");
        }

        return document;
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
