using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace OrleansSim.Server.Api;

/// <summary>
/// Writes one whole JSON response body (vLLM's non-streaming answers and error bodies): built with
/// <see cref="ApiErrors.WireOptions"/> into a buffer, then sent with its Content-Length.
/// </summary>
/// <remarks>
/// The buffer and its <see cref="Utf8JsonWriter"/> are kept per thread and reused: the body is built and copied into
/// the response pipe synchronously (<see cref="PipeWriter"/>'s <c>Write</c> copies), so no await separates their use
/// from the next request's on the same thread. A buffer that grew past <see cref="KeptCapacity"/> is not kept.
/// </remarks>
public static class JsonResponse
{
    private const int KeptCapacity = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> write, int status = StatusCodes.Status200OK) =>
        WriteAsync(context, write, static (w, write) => write(w), status);

    /// <summary>The allocation-free form for hot paths: <paramref name="state"/> is passed to a static writer.</summary>
    public static Task WriteAsync<TState>(HttpContext context, TState state, Action<Utf8JsonWriter, TState> write, int status = StatusCodes.Status200OK)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, ApiErrors.WireOptions);
        try
        {
            write(writer, state);
            writer.Flush();
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = buffer.WrittenCount;
            context.Response.BodyWriter.Write(buffer.WrittenSpan);
        }
        finally
        {
            if (buffer.Capacity > KeptCapacity)
            {
                t_buffer = null;
                t_writer = null;
            }
            else
            {
                buffer.ResetWrittenCount();
                writer.Reset(buffer);
            }
        }

        return context.Response.BodyWriter.FlushAsync(context.RequestAborted).AsTask();
    }
}
