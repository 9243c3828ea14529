using System.Text;
using System.Text.Json;

namespace OrleansSim.Core.Configuration;

/// <summary>Dumps the final configuration (what the server logs at start).</summary>
public static class OptionsJson
{
    /// <summary>
    /// Indented JSON whose keys are the kebab-case flag names of every supported flag, plus
    /// <c>pod-name</c>, <c>pod-namespace</c>, <c>pod-ip</c> and <c>emit-pod-headers</c>.
    /// Durations are Go-style strings (<c>"200ms"</c>, <c>"1.5s"</c>); the mode is lowercase.
    /// </summary>
    public static string Serialize(SimulatorOptions o)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            foreach (FlagDefinition def in FlagTable.All)
            {
                if (def.Status == FlagStatus.Supported && def.Read is { } read)
                {
                    writer.WritePropertyName(def.Name);
                    WriteValue(writer, read(o));
                }
            }

            writer.WriteString("pod-name", o.PodName);
            writer.WriteString("pod-namespace", o.PodNamespace);
            writer.WriteString("pod-ip", o.PodIp);
            writer.WriteBoolean("emit-pod-headers", o.EmitPodHeaders);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case int i:
                writer.WriteNumberValue(i);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case double d:
                writer.WriteNumberValue(d);
                break;
            case System.Text.Json.Nodes.JsonNode node:
                node.WriteTo(writer);
                break;
            case TimeSpan t:
                writer.WriteStringValue(DurationText.Format(t));
                break;
            case IEnumerable<string> list:
                writer.WriteStartArray();
                foreach (string item in list)
                {
                    writer.WriteStringValue(item);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteStringValue(value.ToString());
                break;
        }
    }
}
