using System.Buffers;
using System.IO.Pipelines;

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

    /// <summary>
    /// Reads the whole body. Each read is consumed whole (copied out, then advanced past), never only examined: Kestrel
    /// cannot put its input back after a read that examined more than it consumed, and a client that half-closes mid-body
    /// then left the connection's reader "already reading" (Kestrel ended the connection with a warning instead of closing
    /// it cleanly). A body that ends early is Kestrel's <see cref="BadHttpRequestException"/> (it closes the connection
    /// without an answer, as uvicorn does when the client's FIN arrives first). A client that resets or aborts its
    /// connection while the body is still coming is a <see cref="ClientGoneException"/>.
    /// </summary>
    public static async Task<ReadOnlyMemory<byte>> ReadAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        var declared = context.Request.ContentLength ?? 0;
        var body = new ArrayBufferWriter<byte>((int)Math.Clamp(declared, 256, InitialCapacityLimit));
        while (true)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(context.RequestAborted);
            }
            catch (Exception e) when (e is (IOException and not BadHttpRequestException) or OperationCanceledException)
            {
                // Reading the body fails this way only when the connection went away: a reset (ConnectionResetException),
                // an aborted connection (Kestrel's "The request was aborted"), an HTTP/2 stream reset, or RequestAborted —
                // the pair Kestrel itself logs as "request aborted" rather than an application error. (A malformed, too
                // large or too slow body is a BadHttpRequestException, also an IOException, and is answered with its status.)
                // Ending the request now tells Kestrel at once that the connection is gone; otherwise, if the application
                // returns before the transport's close is noticed, Kestrel tries to drain the rest of the body from a reader
                // the reset left mid-read, and logs that failure as an error.
                context.Abort();
                throw new ClientGoneException(e);
            }

            foreach (var segment in result.Buffer)
            {
                body.Write(segment.Span);
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return body.WrittenMemory;
            }
        }
    }

    // A declared Content-Length sizes the buffer up to this (a declared length is only a claim); a longer body grows it.
    private const int InitialCapacityLimit = 64 * 1024;
}

/// <summary>
/// The client went away (reset or aborted its connection) before its request body was read whole. Not a server error:
/// nothing is answered, nothing logged as a failure, nothing counted (the request never reached a rank, as a request
/// that never reached vLLM's engine records nothing).
/// </summary>
public sealed class ClientGoneException : OperationCanceledException
{
    public ClientGoneException()
        : base("The client left before its request body was read.")
    {
    }

    public ClientGoneException(Exception innerException)
        : base("The client left before its request body was read.", innerException)
    {
    }

    public ClientGoneException(string message)
        : base(message)
    {
    }

    public ClientGoneException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The request id: the client's X-Request-Id, else a new one (vLLM's _base_request_id). <c>SimulatorMiddleware</c> assigns it
/// first thing and keeps it as the request's <see cref="HttpContext.TraceIdentifier"/> (so ASP.NET Core's own log lines carry
/// it too); everything after reads it from there.
/// </summary>
public static class RequestIdentity
{
    /// <summary>Gives the request its id (once, before anything reads it) and returns it.</summary>
    public static string Assign(HttpContext context)
    {
        var id = context.Request.Headers["X-Request-Id"].ToString();
        if (string.IsNullOrEmpty(id))
        {
            id = NextId();
        }

        context.TraceIdentifier = id;
        return id;
    }

    /// <summary>The id <see cref="Assign"/> gave the request.</summary>
    public static string Of(HttpContext context) => context.TraceIdentifier;

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
