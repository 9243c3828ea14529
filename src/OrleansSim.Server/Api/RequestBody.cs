using System.Buffers;

namespace OrleansSim.Server.Api;

/// <summary>Reads a whole request body (bounded by Kestrel's MaxRequestBodySize).</summary>
public static class RequestBody
{
    /// <summary>
    /// Reads and parses a JSON request body. A body declared as something other than JSON, bytes that are
    /// not UTF-8, malformed JSON or a non-object body are 400s (vLLM validates the body as JSON and answers
    /// 400 for anything else).
    /// </summary>
    public static async Task<System.Text.Json.JsonDocument> ReadJsonAsync(HttpContext context)
    {
        var contentType = context.Request.ContentType;
        if (!string.IsNullOrEmpty(contentType) && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            throw ApiException.BadRequest($"Expected a JSON request body (Content-Type: application/json), got Content-Type '{contentType}'.");
        }

        var body = await ReadAsync(context);
        if (!System.Text.Unicode.Utf8.IsValid(body.Span))
        {
            throw ApiException.BadRequest("Invalid JSON in request body: the body is not valid UTF-8.");
        }

        return JsonFields.ParseBody(body);
    }

    public static async Task<ReadOnlyMemory<byte>> ReadAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted);
            if (result.IsCompleted || result.IsCanceled)
            {
                var bytes = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return bytes;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}

/// <summary>The request id: the client's X-Request-Id, else a new one (vLLM's _base_request_id).</summary>
public static class RequestIdentity
{
    private const string Key = "orleanssim.request-id";

    public static string Of(HttpContext context)
    {
        if (context.Items[Key] is string id)
        {
            return id;
        }

        id = context.Request.Headers["X-Request-Id"].ToString();
        if (string.IsNullOrEmpty(id))
        {
            id = NextId();
        }

        context.Items[Key] = id;
        return id;
    }

    /// <summary>True when <paramref name="id"/> was made here rather than sent as X-Request-Id.</summary>
    public static bool IsGenerated(string id) => id.Length == 32 && id.StartsWith(Prefix, StringComparison.Ordinal);

    // A random per-process prefix and a counter: unique like a GUID for this process's lifetime, a fraction of the cost.
    private static readonly string Prefix = Guid.NewGuid().ToString("N")[..16];
    private static long _counter;

    private static string NextId() => string.Create(32, Interlocked.Increment(ref _counter), static (span, n) =>
    {
        Prefix.CopyTo(span);
        ((ulong)n).TryFormat(span[16..], out _, "x16", System.Globalization.CultureInfo.InvariantCulture);
    });
}
