using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrleansSim.Core.Configuration;

/// <summary>Turns flag text (command line, environment, YAML scalars) into typed values.</summary>
internal static class FlagValues
{
    /// <summary>What a value of this kind must look like, for error messages ("must be {Expected}").</summary>
    public static string Expected(FlagKind kind) => kind switch
    {
        FlagKind.String => "a string",
        FlagKind.Int => "an integer",
        FlagKind.Long => "a 64-bit integer",
        FlagKind.Double => "a number",
        FlagKind.Bool => "a boolean (true or false)",
        FlagKind.Duration => "a duration such as 200ms, 1.5s or 1m30s, or a number of milliseconds",
        FlagKind.StringList => "a list of strings",
        FlagKind.JsonObject => "a JSON object",
        FlagKind.JsonObjectList => "a list of JSON objects such as {\"name\":\"x\",\"path\":\"/p\"}",
        _ => kind.ToString(),
    };

    /// <summary>
    /// Parses one value. For list kinds it parses one element (a string, or one JSON object).
    /// </summary>
    public static bool TryParse(FlagKind kind, string text, out object value)
    {
        value = text;
        switch (kind)
        {
            case FlagKind.String:
            case FlagKind.StringList:
                return true;
            case FlagKind.Int when int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int i):
                value = i;
                return true;
            case FlagKind.Long when long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long l):
                value = l;
                return true;
            case FlagKind.Double when double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d):
                value = d;
                return true;
            case FlagKind.Bool when TryParseBool(text.Trim(), out bool b):
                value = b;
                return true;
            case FlagKind.Duration when DurationText.TryParse(text, out TimeSpan t):
                value = t;
                return true;
            case FlagKind.JsonObject when TryParseJsonObject(text, out JsonObject? o):
                value = o;
                return true;
            case FlagKind.JsonObjectList when TryParseJsonObject(text, out JsonObject? o):
                value = o;
                return true;
            case FlagKind.JsonObjectList when TryParseNamePath(text, out JsonObject? o):
                value = o;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Go's strconv.ParseBool set.</summary>
    private static bool TryParseBool(string text, out bool value)
    {
        switch (text)
        {
            case "1" or "t" or "T" or "true" or "TRUE" or "True":
                value = true;
                return true;
            case "0" or "f" or "F" or "false" or "FALSE" or "False":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    private static bool TryParseJsonObject(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out JsonObject? value)
    {
        value = null;
        try
        {
            value = JsonNode.Parse(text) as JsonObject;
            return value is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>vLLM's older <c>name=path</c> LoRA form.</summary>
    private static bool TryParseNamePath(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out JsonObject? value)
    {
        value = null;
        int eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0 || eq == text.Length - 1 || text.TrimStart().StartsWith('{'))
        {
            return false;
        }

        value = new JsonObject { ["name"] = text[..eq], ["path"] = text[(eq + 1)..] };
        return true;
    }
}
