using System.Diagnostics;
using Microsoft.Extensions.Primitives;
using OrleansSim.Core.Configuration;

namespace OrleansSim.Server.Observability;

/// <summary>
/// One finished engine request (one choice: vLLM runs every prompt × n as its own engine request), with the
/// timings vLLM's output processor puts on its <c>llm_request</c> span. Durations in seconds.
/// </summary>
public readonly record struct FinishedRequest(
    string RequestId,
    string Model,
    int Rank,
    string FinishReason,
    int PromptTokens,
    int CompletionTokens,
    int? MaxTokens,
    int N,
    double TimeToFirstToken,
    double QueueTime,
    double PrefillTime,
    double DecodeTime,
    double E2e,
    DateTimeOffset ArrivedAt,
    DateTimeOffset FinishedAt,
    ActivityContext Parent);

/// <summary>
/// Per-request telemetry besides the metrics: the OpenTelemetry span vLLM emits with <c>--otlp-traces-endpoint</c>
/// (name <c>llm_request</c>, kind server, vLLM's <c>gen_ai.*</c> attributes, started at arrival, child of the
/// request's W3C <c>traceparent</c>), plus <c>orleanssim.pod</c> / <c>orleanssim.rank</c>; and a debug log line
/// per finished request. With tracing off and the log level above debug, <see cref="Active"/> is false and the
/// request path does nothing for either (no clock read, no header parse, no allocation).
/// </summary>
public sealed partial class RequestTelemetry
{
    /// <summary>The ActivitySource the spans come from (what an OpenTelemetry tracer provider subscribes to).</summary>
    public const string SourceName = "OrleansSim";

    private static readonly ActivitySource Source = new(SourceName, typeof(RequestTelemetry).Assembly.GetName().Version?.ToString());

    private readonly ILogger _log;
    private readonly string _pod;

    public RequestTelemetry(SimulatorOptions options, ILoggerFactory loggers)
    {
        _log = loggers.CreateLogger("OrleansSim.Requests");
        _pod = options.PodName;
        Tracing = options.OtlpTracesEndpoint.Length > 0;
        Logging = _log.IsEnabled(LogLevel.Debug);
        Active = Tracing || Logging;
    }

    /// <summary>Spans are exported (<c>--otlp-traces-endpoint</c> given).</summary>
    public bool Tracing { get; }

    /// <summary>Finished requests are logged (<c>--log-level debug</c> or trace).</summary>
    public bool Logging { get; }

    /// <summary>Anything to record per request at all.</summary>
    public bool Active { get; }

    /// <summary>The W3C trace context of the request (<c>traceparent</c>, <c>tracestate</c>), when tracing is on and the header is valid.</summary>
    public ActivityContext ParentOf(IHeaderDictionary headers)
    {
        if (!Tracing)
        {
            return default;
        }

        StringValues parent = headers["traceparent"];
        if (parent.Count != 1)
        {
            return default;
        }

        return ActivityContext.TryParse(parent[0], headers["tracestate"].FirstOrDefault(), isRemote: true, out var context) ? context : default;
    }

    public void Record(in FinishedRequest request)
    {
        if (Tracing)
        {
            EmitSpan(request);
        }

        if (Logging)
        {
            LogFinished(_log, request.RequestId, request.Rank, request.FinishReason, request.PromptTokens, request.CompletionTokens, request.E2e);
        }
    }

    private void EmitSpan(in FinishedRequest request)
    {
        // The span's parent is the caller's traceparent (or none), never the ASP.NET Core request activity,
        // which is not exported.
        var current = Activity.Current;
        Activity.Current = null;
        try
        {
            using var span = Source.StartActivity("llm_request", ActivityKind.Server, request.Parent, startTime: request.ArrivedAt);
            if (span is null)
            {
                return; // not sampled (e.g. the caller's traceparent says so)
            }

            span.SetTag("gen_ai.latency.time_to_first_token", request.TimeToFirstToken);
            span.SetTag("gen_ai.latency.e2e", request.E2e);
            span.SetTag("gen_ai.latency.time_in_queue", request.QueueTime);
            span.SetTag("gen_ai.usage.prompt_tokens", request.PromptTokens);
            span.SetTag("gen_ai.usage.completion_tokens", request.CompletionTokens);
            span.SetTag("gen_ai.latency.time_in_model_prefill", request.PrefillTime);
            span.SetTag("gen_ai.latency.time_in_model_decode", request.DecodeTime);
            span.SetTag("gen_ai.latency.time_in_model_inference", request.PrefillTime + request.DecodeTime);
            span.SetTag("gen_ai.request.id", request.RequestId);
            if (request.MaxTokens is { } maxTokens)
            {
                span.SetTag("gen_ai.request.max_tokens", maxTokens);
            }

            span.SetTag("gen_ai.request.n", request.N);
            span.SetTag("gen_ai.response.model", request.Model);
            span.SetTag("orleanssim.pod", _pod);
            span.SetTag("orleanssim.rank", request.Rank);
            span.SetTag("orleanssim.finish_reason", request.FinishReason);
            span.SetEndTime(request.FinishedAt.UtcDateTime);
        }
        finally
        {
            Activity.Current = current;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Finished request {RequestId} on rank {Rank}: {FinishReason}, {PromptTokens} prompt tokens, {CompletionTokens} completion tokens, {E2e:F3} s")]
    private static partial void LogFinished(ILogger logger, string requestId, int rank, string finishReason, int promptTokens, int completionTokens, double e2e);
}
