using System.Buffers;
using System.Text.Json;

namespace OrleansSim.Server.Api;

/// <summary>
/// Writes server-sent events the way vLLM does: <c>data: {json}\n\n</c> frames ending with
/// <c>data: [DONE]\n\n</c>. Events are buffered into the response pipe and sent on <see cref="FlushAsync"/>,
/// so all chunks of one engine step leave in one write.
/// </summary>
public sealed class SseWriter : IDisposable
{
    private static readonly byte[] Prefix = "data: "u8.ToArray();
    private static readonly byte[] EventPrefix = "event: "u8.ToArray();
    private static readonly byte[] NewLine = "\n"u8.ToArray();
    private static readonly byte[] Suffix = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    private readonly HttpResponse _response;
    private readonly ArrayBufferWriter<byte> _buffer = new(512);
    private readonly Utf8JsonWriter _json;
    private JsonEncodedText _eventName;
    private bool _hasEventName;

    public SseWriter(HttpResponse response)
    {
        _response = response;
        _json = new Utf8JsonWriter(_buffer, ApiErrors.WireOptions with { SkipValidation = true });
    }

    /// <summary>True once the status line and headers have gone out (errors must then be sent as events).</summary>
    public bool Started => _response.HasStarted;

    /// <summary>Sends the 200 status and headers now, before the first event (clients see the stream open at once).</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _response.StatusCode = StatusCodes.Status200OK;
        _response.ContentType = "text/event-stream; charset=utf-8";
        _response.Headers.CacheControl = "no-cache";
        await _response.StartAsync(cancellationToken);
        await FlushAsync(cancellationToken);
    }

    /// <summary>Gives a JSON writer for one event's payload; call <see cref="EndEvent"/> when written.</summary>
    public Utf8JsonWriter BeginEvent()
    {
        _hasEventName = false;
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        return _json;
    }

    /// <summary>Like <see cref="BeginEvent()"/>, for an event framed with an <c>event: name</c> line before its data.</summary>
    public Utf8JsonWriter BeginEvent(JsonEncodedText eventName)
    {
        var json = BeginEvent();
        _eventName = eventName;
        _hasEventName = true;
        return json;
    }

    /// <summary>Frames the payload written since <see cref="BeginEvent()"/> into the response pipe.</summary>
    public void EndEvent()
    {
        _json.Flush();
        var pipe = _response.BodyWriter;
        if (_hasEventName)
        {
            pipe.Write(EventPrefix);
            pipe.Write(_eventName.EncodedUtf8Bytes);
            pipe.Write(NewLine);
        }

        pipe.Write(Prefix);
        pipe.Write(_buffer.WrittenSpan);
        pipe.Write(Suffix);
        HasPending = true;
    }

    /// <summary>True when events were framed since the last <see cref="FlushAsync"/>.</summary>
    public bool HasPending { get; private set; }

    public void WriteError(int status, string message, string? param)
    {
        ApiErrors.WriteBody(BeginEvent(), status, message, param);
        EndEvent();
    }

    public void WriteDone()
    {
        _response.BodyWriter.Write(Done);
        HasPending = true;
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        HasPending = false;
        var result = await _response.BodyWriter.FlushAsync(cancellationToken);
        if (result.IsCanceled || result.IsCompleted)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public void Dispose() => _json.Dispose();
}
