namespace OrleansSim.Bench;

/// <summary>
/// Classifies server-sent events without parsing their JSON (the client must stay cheap at 10k streams):
/// a token event has <c>"finish_reason":null</c> and is not the chat role chunk; an error event starts with
/// <c>{"error"</c>; the usage chunk carries <c>"completion_tokens":N</c>.
/// </summary>
public static class SseScanner
{
    public enum Kind
    {
        Other,
        Token,
        Error,
        Done,
    }

    private static ReadOnlySpan<byte> Data => "data: "u8;

    public static Kind Classify(ReadOnlySpan<byte> ev, out int completionTokens)
    {
        completionTokens = -1;
        if (!ev.StartsWith(Data))
        {
            return Kind.Other;
        }

        var payload = ev[Data.Length..];
        if (payload.SequenceEqual("[DONE]"u8))
        {
            return Kind.Done;
        }

        if (payload.StartsWith("{\"error\""u8))
        {
            return Kind.Error;
        }

        if (payload.IndexOf("\"finish_reason\":null"u8) >= 0)
        {
            return payload.IndexOf("\"role\":\"assistant\""u8) >= 0 ? Kind.Other : Kind.Token;
        }

        completionTokens = CompletionTokens(payload);
        return Kind.Other;
    }

    /// <summary>The value of <c>"completion_tokens":N</c>, or -1.</summary>
    public static int CompletionTokens(ReadOnlySpan<byte> json)
    {
        var key = "\"completion_tokens\":"u8;
        var at = json.IndexOf(key);
        if (at < 0)
        {
            return -1;
        }

        var n = 0;
        for (var i = at + key.Length; i < json.Length && json[i] is >= (byte)'0' and <= (byte)'9'; i++)
        {
            n = (n * 10) + (json[i] - '0');
        }

        return n;
    }
}
