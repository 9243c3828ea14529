namespace OrleansSim.Bench;

/// <summary>
/// Classifies server-sent events without parsing their JSON (the client must stay cheap at 10k streams):
/// a token event is a chunk whose <c>delta.content</c> (chat) or <c>text</c> (completions) is not empty, as
/// <c>vllm bench serve</c> counts them (so the chat role chunk, an empty finish chunk and the usage chunk are
/// not tokens, and a last token that carries <c>finish_reason</c> is); an error event starts with
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

        if (HasText(payload, "\"content\":\""u8) || HasText(payload, "\"text\":\""u8))
        {
            return Kind.Token;
        }

        completionTokens = CompletionTokens(payload);
        return Kind.Other;
    }

    /// <summary>True when <paramref name="key"/> (a key and its opening quote) is followed by a non-empty string.</summary>
    private static bool HasText(ReadOnlySpan<byte> json, ReadOnlySpan<byte> key)
    {
        var at = json.IndexOf(key);
        return at >= 0 && at + key.Length < json.Length && json[at + key.Length] != (byte)'"';
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
