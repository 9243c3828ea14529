using System.Net;
using Google.Protobuf;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>
/// A minimal OTLP/HTTP trace receiver: accepts <c>POST /v1/traces</c> with an <c>application/x-protobuf</c>
/// ExportTraceServiceRequest, answers 200 with an empty ExportTraceServiceResponse, and decodes the spans with
/// Google.Protobuf's wire reader (field numbers from opentelemetry-proto's trace/v1 and common/v1).
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly List<ReceivedSpan> _spans = [];
    private readonly List<string> _contentTypes = [];
    private readonly Task _loop;

    public OtlpReceiver()
    {
        Port = FreePorts.One();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}/v1/traces";

    public IReadOnlyList<ReceivedSpan> Spans { get { lock (_spans) { return [.. _spans]; } } }

    public IReadOnlyList<string> ContentTypes { get { lock (_spans) { return [.. _contentTypes]; } } }

    public sealed record ReceivedSpan(
        string Name, int Kind, byte[] TraceId, byte[] SpanId, byte[] ParentSpanId, ulong StartUnixNano, ulong EndUnixNano,
        IReadOnlyDictionary<string, object> Attributes, IReadOnlyDictionary<string, object> Resource, string Scope);

    private async Task AcceptAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (!_listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var ok = context.Request.HttpMethod == "POST" && context.Request.Url?.AbsolutePath == "/v1/traces";
            if (ok)
            {
                var spans = Decode(body.ToArray());
                lock (_spans)
                {
                    _contentTypes.Add(context.Request.ContentType ?? "");
                    _spans.AddRange(spans);
                }
            }

            context.Response.StatusCode = ok ? 200 : 404;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.ContentLength64 = 0; // an empty ExportTraceServiceResponse
            context.Response.Close();
        }
    }

    /// <summary>ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }</summary>
    private static List<ReceivedSpan> Decode(byte[] request)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var resourceSpans in Repeated(request, 1))
        {
            // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
            var resource = Repeated(resourceSpans, 1).Select(r => Attributes(r, 1)).FirstOrDefault() ?? [];
            foreach (var scopeSpans in Repeated(resourceSpans, 2))
            {
                // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }; InstrumentationScope { string name = 1; }
                var scope = Repeated(scopeSpans, 1).Select(s => Strings(s, 1).FirstOrDefault() ?? "").FirstOrDefault() ?? "";
                foreach (var span in Repeated(scopeSpans, 2))
                {
                    spans.Add(DecodeSpan(span, resource, scope));
                }
            }
        }

        return spans;
    }

    /// <summary>Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; SpanKind kind = 6;
    /// fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; }</summary>
    private static ReceivedSpan DecodeSpan(byte[] span, Dictionary<string, object> resource, string scope)
    {
        byte[] traceId = [], spanId = [], parent = [];
        var name = "";
        var kind = 0;
        ulong start = 0, end = 0;
        var input = new CodedInputStream(span);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: traceId = input.ReadBytes().ToByteArray(); break;
                case 2: spanId = input.ReadBytes().ToByteArray(); break;
                case 4: parent = input.ReadBytes().ToByteArray(); break;
                case 5: name = input.ReadString(); break;
                case 6: kind = input.ReadEnum(); break;
                case 7: start = input.ReadFixed64(); break;
                case 8: end = input.ReadFixed64(); break;
                default: input.SkipLastField(); break;
            }
        }

        return new ReceivedSpan(name, kind, traceId, spanId, parent, start, end, Attributes(span, 9), resource, scope);
    }

    /// <summary>repeated KeyValue at <paramref name="field"/>; KeyValue { string key = 1; AnyValue value = 2; },
    /// AnyValue { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; }</summary>
    private static Dictionary<string, object> Attributes(byte[] message, int field)
    {
        var attributes = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var keyValue in Repeated(message, field))
        {
            var key = Strings(keyValue, 1).Single();
            var any = Repeated(keyValue, 2).SingleOrDefault() ?? [];
            var input = new CodedInputStream(any);
            object value = "";
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                value = WireFormat.GetTagFieldNumber(tag) switch
                {
                    1 => input.ReadString(),
                    2 => input.ReadBool(),
                    3 => input.ReadInt64(),
                    4 => input.ReadDouble(),
                    _ => SkipTo(input, value),
                };
            }

            attributes[key] = value;
        }

        return attributes;
    }

    private static object SkipTo(CodedInputStream input, object value)
    {
        input.SkipLastField();
        return value;
    }

    /// <summary>The length-delimited values of field <paramref name="field"/> (embedded messages, bytes).</summary>
    private static List<byte[]> Repeated(byte[] message, int field)
    {
        var values = new List<byte[]>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == field && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                values.Add(input.ReadBytes().ToByteArray());
            }
            else
            {
                input.SkipLastField();
            }
        }

        return values;
    }

    private static List<string> Strings(byte[] message, int field) =>
        [.. Repeated(message, field).Select(b => System.Text.Encoding.UTF8.GetString(b))];

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            await _loop;
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
