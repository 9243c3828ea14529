using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansSim.Core.Configuration;

/// <summary>
/// Reads a <c>--config</c> YAML file: a mapping whose keys are the kebab-case flag names. The file is read
/// as a node tree so that every problem can name the key and the expected type.
/// A key with a null value (<c>key:</c> or <c>key: ~</c>) counts as absent.
/// </summary>
internal static class YamlConfigReader
{
    public static Dictionary<string, object> Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new OptionsException($"failed to read configuration file '{path}': {e.Message}", e);
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new OptionsException($"failed to parse configuration file '{path}': {e.Message} (line {e.Start.Line}, column {e.Start.Column})", e);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
        {
            // YamlDotNet sometimes fails on truncated input with a non-YAML exception and an unhelpful message.
            throw new OptionsException($"failed to parse configuration file '{path}': malformed YAML ({e.GetType().Name})", e);
        }

        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
        {
            return values;
        }

        if (stream.Documents.Count > 1)
        {
            throw new OptionsException($"configuration file '{path}': expected one YAML document (got {stream.Documents.Count})");
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new OptionsException($"configuration file '{path}': the top level must be a mapping of flag names to values");
        }

        foreach (var (keyNode, valueNode) in root.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                throw new OptionsException($"configuration file '{path}': keys must be flag names (got {Describe(keyNode)})");
            }

            if (!FlagTable.ByName.TryGetValue(key, out FlagDefinition? def) || def.CommandLineOnly)
            {
                throw new OptionsException($"configuration file '{path}': unknown key '{key}'");
            }

            if (IsNull(valueNode))
            {
                continue;
            }

            values[key] = Convert(def, valueNode)
                ?? throw new OptionsException($"configuration file '{path}': key '{key}' must be {FlagValues.Expected(def.Kind)} (got {Describe(valueNode)})");
        }

        return values;
    }

    /// <summary>Returns the typed value, or null when the node has the wrong type.</summary>
    private static object? Convert(FlagDefinition def, YamlNode node)
    {
        switch (def.Kind)
        {
            case FlagKind.StringList when node is YamlScalarNode s:
                return new[] { s.Value ?? "" };
            case FlagKind.StringList when node is YamlSequenceNode seq:
                var strings = new List<string>();
                foreach (YamlNode item in seq.Children)
                {
                    if (item is not YamlScalarNode { Value: { } v })
                    {
                        return null;
                    }

                    if (v.Length > 0)
                    {
                        strings.Add(v);
                    }
                }

                return strings.ToArray();
            case FlagKind.JsonObject when node is YamlMappingNode map:
                return ToJson(map);
            case FlagKind.JsonObjectList when node is YamlMappingNode map:
                return new[] { (JsonObject)ToJson(map)! };
            case FlagKind.JsonObjectList when node is YamlSequenceNode seq:
                var objects = new List<JsonObject>();
                foreach (YamlNode item in seq.Children)
                {
                    if (item is YamlMappingNode m)
                    {
                        objects.Add((JsonObject)ToJson(m)!);
                    }
                    else if (item is YamlScalarNode { Value: { } v } && FlagValues.TryParse(def.Kind, v, out object o))
                    {
                        objects.Add((JsonObject)o);
                    }
                    else
                    {
                        return null;
                    }
                }

                return objects.ToArray();
            case FlagKind.JsonObjectList when node is YamlScalarNode { Value: { } v } && FlagValues.TryParse(def.Kind, v, out object o):
                return new[] { (JsonObject)o };
            case FlagKind.JsonObjectList:
                return null;
            case var _ when node is YamlScalarNode { Value: { } v } && FlagValues.TryParse(def.Kind, v, out object o):
                return o;
            default:
                return null;
        }
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    private static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s => $"'{s.Value}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => node.NodeType.ToString(),
    };

    /// <summary>A YAML node as JSON (plain scalars typed as numbers, booleans or null); also used by chaos scenarios.</summary>
    internal static JsonNode? ToJson(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (k, v) in map.Children)
                {
                    obj[(k as YamlScalarNode)?.Value ?? k.ToString()] = ToJson(v);
                }

                return obj;
            case YamlSequenceNode seq:
                var arr = new JsonArray();
                foreach (YamlNode item in seq.Children)
                {
                    arr.Add(ToJson(item));
                }

                return arr;
            case YamlScalarNode s when IsNull(s):
                return null;
            case YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: { } v }:
                if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long l))
                {
                    return JsonValue.Create(l);
                }

                if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d))
                {
                    return JsonValue.Create(d);
                }

                if (v is "true" or "false")
                {
                    return JsonValue.Create(v == "true");
                }

                return JsonValue.Create(v);
            case YamlScalarNode s:
                return JsonValue.Create(s.Value ?? "");
            default:
                return null;
        }
    }
}
