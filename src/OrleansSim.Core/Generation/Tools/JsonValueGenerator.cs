using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrleansSim.Core.Generation.Tools;

/// <summary>
/// Generates a JSON value that validates against a JSON Schema: tool-call arguments and <c>response_format</c>
/// answers. Covers <c>type</c> (one or a list), <c>enum</c>, <c>const</c>, <c>minimum</c>/<c>maximum</c> (and the
/// exclusive forms), <c>multipleOf</c> for integers, <c>minLength</c>/<c>maxLength</c>, common <c>format</c>s,
/// <c>minItems</c>/<c>maxItems</c>, <c>uniqueItems</c> by retrying, <c>properties</c>/<c>required</c>,
/// <c>anyOf</c>/<c>oneOf</c> (one branch), <c>allOf</c> (merged), and local <c>$ref</c>s (<c>#/$defs/…</c>,
/// <c>#/definitions/…</c>). Ranges come from the schema, narrowed to the <see cref="ToolCallKnobs"/> where they overlap.
/// <c>pattern</c> is not honoured.
/// </summary>
public sealed class JsonValueGenerator(ToolCallKnobs knobs)
{
    private const int MaxDepth = 12;

    /// <summary>Words string values are drawn from (llm-d-inference-sim's list).</summary>
    private static readonly string[] Words = ["testing", "hello", "Boston", "sunny", "temperature", "cloudy", "question", "Yorick", "silence", "lifetime"];

    /// <summary>A value for <paramref name="schema"/>; <paramref name="topLevel"/> selects the top-level optional-argument knob.</summary>
    public JsonNode? Generate(JsonElement schema, SimRandom random, bool topLevel = true) => Value(schema, schema, random, topLevel, 0);

    private JsonNode? Value(JsonElement schema, JsonElement root, SimRandom random, bool topLevel, int depth)
    {
        if (schema.ValueKind == JsonValueKind.True || schema.ValueKind != JsonValueKind.Object)
        {
            return JsonValue.Create(Words[random.Next(Words.Length)]);
        }

        if (depth > MaxDepth)
        {
            return null;
        }

        if (schema.TryGetProperty("$ref", out var reference) && Resolve(root, reference.GetString()) is { } target)
        {
            return Value(target, root, random, topLevel, depth + 1);
        }

        if (schema.TryGetProperty("const", out var constant))
        {
            return JsonNode.Parse(constant.GetRawText());
        }

        if (schema.TryGetProperty("enum", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
        {
            return JsonNode.Parse(choices[random.Next(choices.GetArrayLength())].GetRawText());
        }

        foreach (var keyword in new[] { "anyOf", "oneOf" })
        {
            if (schema.TryGetProperty(keyword, out var branches) && branches.ValueKind == JsonValueKind.Array && branches.GetArrayLength() > 0)
            {
                // oneOf: the first branch, so overlapping branches cannot both match by chance; anyOf: any branch.
                var index = keyword == "oneOf" ? 0 : random.Next(branches.GetArrayLength());
                return Value(Merge(schema, branches[index], keyword), root, random, topLevel, depth + 1);
            }
        }

        if (schema.TryGetProperty("allOf", out var all) && all.ValueKind == JsonValueKind.Array && all.GetArrayLength() > 0)
        {
            var merged = schema;
            foreach (var part in all.EnumerateArray())
            {
                merged = Merge(merged, part.TryGetProperty("$ref", out var r) && Resolve(root, r.GetString()) is { } resolved ? resolved : part, "allOf");
            }

            return Value(merged, root, random, topLevel, depth + 1);
        }

        var type = TypeOf(schema, random);
        return type switch
        {
            "string" => JsonValue.Create(StringValue(schema, random)),
            "integer" => JsonValue.Create(IntegerValue(schema, random)),
            "number" => JsonValue.Create(NumberValue(schema, random)),
            "boolean" => JsonValue.Create(random.Next(2) == 1),
            "null" => null,
            "array" => ArrayValue(schema, root, random, depth),
            _ => ObjectValue(schema, root, random, topLevel, depth),
        };
    }

    private static string TypeOf(JsonElement schema, SimRandom random)
    {
        if (schema.TryGetProperty("type", out var type))
        {
            if (type.ValueKind == JsonValueKind.String)
            {
                return type.GetString()!;
            }

            if (type.ValueKind == JsonValueKind.Array && type.GetArrayLength() > 0)
            {
                // Prefer a non-null type, so "nullable" fields carry values most of the time.
                var types = type.EnumerateArray().Select(t => t.GetString() ?? "null").ToList();
                var nonNull = types.Where(t => t != "null").ToList();
                return nonNull.Count > 0 && random.Next(4) > 0 ? nonNull[random.Next(nonNull.Count)] : types[random.Next(types.Count)];
            }
        }

        if (schema.TryGetProperty("properties", out _))
        {
            return "object";
        }

        if (schema.TryGetProperty("items", out _))
        {
            return "array";
        }

        return "string";
    }

    private static JsonElement? Resolve(JsonElement root, string? reference)
    {
        if (reference is null || !reference.StartsWith('#'))
        {
            return null;
        }

        var node = root;
        foreach (var raw in reference[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var segment = Uri.UnescapeDataString(raw).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty(segment, out node))
            {
                return null;
            }
        }

        return node;
    }

    /// <summary><paramref name="extra"/>'s keywords over <paramref name="schema"/>'s (without <paramref name="drop"/>); properties and required are unioned.</summary>
    private static JsonElement Merge(JsonElement schema, JsonElement extra, string drop)
    {
        var merged = JsonNode.Parse(schema.GetRawText())!.AsObject();
        merged.Remove(drop);
        if (extra.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in extra.EnumerateObject())
            {
                if (property.Name == "properties" && merged["properties"] is JsonObject props)
                {
                    foreach (var p in property.Value.EnumerateObject())
                    {
                        props[p.Name] = JsonNode.Parse(p.Value.GetRawText());
                    }
                }
                else if (property.Name == "required" && merged["required"] is JsonArray required)
                {
                    foreach (var r in property.Value.EnumerateArray())
                    {
                        required.Add(r.GetString());
                    }
                }
                else
                {
                    merged[property.Name] = JsonNode.Parse(property.Value.GetRawText());
                }
            }
        }

        using var doc = JsonDocument.Parse(merged.ToJsonString());
        return doc.RootElement.Clone();
    }

    private static double? Number(JsonElement schema, string name) =>
        schema.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static bool Flag(JsonElement schema, string name) =>
        schema.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    private static int? Count(JsonElement schema, string name) =>
        Number(schema, name) is { } n ? (int)Math.Min(n, 10_000) : null;

    private long IntegerValue(JsonElement schema, SimRandom random)
    {
        // Schema bounds (draft 4 boolean exclusives and 2020-12 numeric ones), narrowed to the knobs where they overlap.
        double lo = Number(schema, "minimum") ?? double.NegativeInfinity;
        double hi = Number(schema, "maximum") ?? double.PositiveInfinity;
        if (Number(schema, "exclusiveMinimum") is { } exMin) { lo = Math.Max(lo, Math.Floor(exMin) + 1); }
        else if (Flag(schema, "exclusiveMinimum")) { lo = Math.Floor(lo) + 1; }
        if (Number(schema, "exclusiveMaximum") is { } exMax) { hi = Math.Min(hi, Math.Ceiling(exMax) - 1); }
        else if (Flag(schema, "exclusiveMaximum")) { hi = Math.Ceiling(hi) - 1; }
        var min = (long)Math.Ceiling(Math.Max(lo, -1e15));
        var max = (long)Math.Floor(Math.Min(hi, 1e15));
        var (a, b) = (Math.Max(min, knobs.MinIntegerParam), Math.Min(max, knobs.MaxIntegerParam));
        if (a > b)
        {
            (a, b) = double.IsInfinity(lo) ? (Math.Max(max - 100, min), max) : (min, Math.Min(max, min + 100));
        }

        var step = Number(schema, "multipleOf") is { } m && m >= 1 && m == Math.Floor(m) ? (long)m : 1;
        if (step > 1)
        {
            var first = (long)Math.Ceiling(a / (double)step) * step;
            var last = (long)Math.Floor(b / (double)step) * step;
            return first <= last ? first + (step * random.NextInt64(((last - first) / step) + 1)) : first;
        }

        return a + random.NextInt64(b - a + 1);
    }

    private double NumberValue(JsonElement schema, SimRandom random)
    {
        double lo = Number(schema, "minimum") ?? double.NegativeInfinity;
        double hi = Number(schema, "maximum") ?? double.PositiveInfinity;
        var exLo = Number(schema, "exclusiveMinimum") ?? (Flag(schema, "exclusiveMinimum") ? lo : (double?)null);
        var exHi = Number(schema, "exclusiveMaximum") ?? (Flag(schema, "exclusiveMaximum") ? hi : (double?)null);
        if (exLo is { } el) { lo = Math.Max(lo, el); }
        if (exHi is { } eh) { hi = Math.Min(hi, eh); }
        var (a, b) = (Math.Max(lo, knobs.MinNumberParam), Math.Min(hi, knobs.MaxNumberParam));
        if (a > b)
        {
            (a, b) = double.IsInfinity(lo) ? (hi - 100, hi) : (lo, double.IsInfinity(hi) ? lo + 100 : hi);
        }

        for (var attempt = 0; attempt < 16; attempt++)
        {
            var value = Math.Round(a + (random.NextDouble() * (b - a)), 2);
            if (value >= a && value <= b && value != exLo && value != exHi)
            {
                return value;
            }
        }

        return (a + b) / 2;
    }

    private static string StringValue(JsonElement schema, SimRandom random)
    {
        var format = schema.TryGetProperty("format", out var f) ? f.GetString() : null;
        var value = format switch
        {
            "date-time" => new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(random.Next(0, 200_000_000)).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            "date" => new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(random.Next(0, 3000)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            "time" => new TimeSpan(random.Next(24), random.Next(60), random.Next(60)).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) + "Z",
            "email" => $"{Words[random.Next(Words.Length)].ToLowerInvariant()}@example.com",
            "uri" or "url" => $"https://example.com/{Words[random.Next(Words.Length)].ToLowerInvariant()}",
            "uuid" => new Guid(RandomBytes(random, 16)).ToString(),
            "ipv4" => $"10.{random.Next(256)}.{random.Next(256)}.{random.Next(1, 255)}",
            "hostname" => $"{Words[random.Next(Words.Length)].ToLowerInvariant()}.example.com",
            _ => Words[random.Next(Words.Length)],
        };

        var minLength = Count(schema, "minLength") ?? 0;
        var maxLength = Count(schema, "maxLength") ?? int.MaxValue;
        while (value.Length < minLength)
        {
            value += " " + Words[random.Next(Words.Length)];
        }

        return value.Length > maxLength ? value[..Math.Max(maxLength, minLength)] : value;
    }

    private static byte[] RandomBytes(SimRandom random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private JsonArray ArrayValue(JsonElement schema, JsonElement root, SimRandom random, int depth)
    {
        var min = Count(schema, "minItems") ?? knobs.MinArrayParamLength;
        var max = Count(schema, "maxItems") ?? Math.Max(knobs.MaxArrayParamLength, min);
        if (min > max)
        {
            max = min;
        }

        var count = random.Next(min, max + 1);
        var items = schema.TryGetProperty("items", out var itemSchema) && itemSchema.ValueKind is JsonValueKind.Object or JsonValueKind.True
            ? itemSchema
            : default;
        var unique = Flag(schema, "uniqueItems");
        var array = new JsonArray();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var attempts = 0; array.Count < count && attempts < count * 20; attempts++)
        {
            var item = items.ValueKind == JsonValueKind.Undefined ? JsonValue.Create(Words[random.Next(Words.Length)]) : Value(items, root, random, false, depth + 1);
            if (unique && !seen.Add(item?.ToJsonString() ?? "null"))
            {
                continue;
            }

            array.Add(item);
        }

        return array;
    }

    private JsonObject ObjectValue(JsonElement schema, JsonElement root, SimRandom random, bool topLevel, int depth)
    {
        var result = new JsonObject();
        var required = schema.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.Array
            ? r.EnumerateArray().Select(e => e.GetString()).OfType<string>().ToHashSet(StringComparer.Ordinal)
            : [];
        var probability = topLevel ? knobs.NotRequiredParamProbability : knobs.ObjectNotRequiredFieldProbability;
        if (schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in properties.EnumerateObject())
            {
                if (!required.Contains(property.Name) && random.Next(100) >= probability)
                {
                    continue;
                }

                result[property.Name] = Value(property.Value, root, random, false, depth + 1);
            }
        }

        // Required names without a property schema (allowed by JSON Schema) still need a value.
        foreach (var name in required)
        {
            if (!result.ContainsKey(name))
            {
                result[name] = JsonValue.Create(Words[random.Next(Words.Length)]);
            }
        }

        var minProperties = Count(schema, "minProperties") ?? 0;
        var extra = 0;
        var allowsExtra = !(schema.TryGetProperty("additionalProperties", out var ap) && ap.ValueKind == JsonValueKind.False);
        while (result.Count < minProperties && allowsExtra)
        {
            result[$"extra_{extra++}"] = ap.ValueKind == JsonValueKind.Object ? Value(ap, root, random, false, depth + 1) : JsonValue.Create(Words[random.Next(Words.Length)]);
        }

        return result;
    }
}
