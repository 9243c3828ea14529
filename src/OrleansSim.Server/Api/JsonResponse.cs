using System.Buffers;
using System.Text.Json;

namespace OrleansSim.Server.Api;

/// <summary>
/// Writes one whole JSON response body (vLLM's non-streaming answers and error bodies): built with
/// <see cref="ApiErrors.WireOptions"/> into a buffer, then sent with its Content-Length.
/// </summary>
public static class JsonResponse
{
    public static Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> write, int status = StatusCodes.Status200OK) =>
        WriteAsync(context, write, static (w, write) => write(w), status);

    /// <summary>The allocation-free form for hot paths: <paramref name="state"/> is passed to a static writer.</summary>
    public static Task WriteAsync<TState>(HttpContext context, TState state, Action<Utf8JsonWriter, TState> write, int status = StatusCodes.Status200OK)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, ApiErrors.WireOptions))
        {
            write(writer, state);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        return context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).AsTask();
    }
}
