using System.Text.Json;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>
/// Reads an SSE body the way OpenAI clients do: <c>data: …</c> lines, up to <c>[DONE]</c>; an <c>event: name</c> line
/// (Anthropic and Responses streams) names the data line that follows it.
/// </summary>
public static class Sse
{
    public sealed record Event(string Data, TimeSpan At)
    {
        /// <summary>The <c>event:</c> line's name, null for an unnamed event.</summary>
        public string? Name { get; init; }

        public bool IsDone => Data == "[DONE]";

        public JsonElement Json => JsonDocument.Parse(Data).RootElement;
    }

    public static async Task<List<Event>> ReadAllAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var events = new List<Event>();
        using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream);
        string? pendingBlank = null;
        string? name = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal) && pendingBlank is null && name is null)
            {
                name = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(new Event(line["data: ".Length..], started.Elapsed) { Name = name });
                pendingBlank = line;
                name = null;
            }
            else if (line.Length == 0)
            {
                Assert.Null(name); // an event line is followed by its data line
                pendingBlank = null;
            }
            else
            {
                throw new InvalidOperationException($"unexpected SSE line: {line}");
            }
        }

        Assert.Null(pendingBlank); // every event ends with a blank line
        return events;
    }
}
