using System.Text.Json;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Observability;

/// <summary>
/// --otlp-traces-endpoint: one <c>llm_request</c> span per engine request, exported over OTLP/HTTP protobuf to a real
/// receiver started here and decoded field by field; the caller's W3C traceparent is the span's parent.
/// </summary>
public sealed class TracingTests
{
    [Fact]
    public async Task EveryRequestBecomesAnLlmRequestSpanInTheCallersTrace()
    {
        await using var receiver = new OtlpReceiver();
        var host = await SimHost.StartAsync(o => o with
        {
            OtlpTracesEndpoint = receiver.Endpoint,
            PodName = "trace-pod",
            TimeToFirstToken = TimeSpan.FromMilliseconds(50),
            InterTokenLatency = TimeSpan.FromMilliseconds(5),
        }, ranks: 2);
        JsonElement chatUsage;
        JsonElement completionUsage;
        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        const string ParentSpanId = "00f067aa0ba902b7";
        try
        {
            // A gateway's trace continues through the simulator.
            using var traced = Http.Post("/v1/chat/completions", """{"model":"alias-model","messages":[{"role":"user","content":"one two three four five"}],"max_tokens":4}""");
            traced.Headers.Add("traceparent", $"00-{TraceId}-{ParentSpanId}-01");
            traced.Headers.Add("tracestate", "gw=1");
            traced.Headers.Add("x-request-id", "traced");
            using (var response = await host.Client.SendAsync(traced))
            {
                Assert.Equal(200, (int)response.StatusCode);
                chatUsage = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("usage").Clone();
            }

            // No trace context: a root span. Streamed, on rank 1.
            using var root = Http.Post("/v1/completions", """{"model":"test-model","prompt":"a b c d e f","max_tokens":3,"stream":true,"stream_options":{"include_usage":true}}""");
            root.Headers.Add("x-request-id", "root");
            using (var response = await host.ClientFor(1).SendAsync(root))
            {
                var events = await Sse.ReadAllAsync(response);
                completionUsage = events[^2].Json.GetProperty("usage").Clone();
            }

            // The caller's trace is not sampled: no span, as with vLLM's parent-based sampler.
            using var unsampled = Http.Post("/v1/completions", """{"model":"test-model","prompt":"x","max_tokens":1}""");
            unsampled.Headers.Add("traceparent", $"00-{TraceId}-{ParentSpanId}-00");
            unsampled.Headers.Add("x-request-id", "unsampled");
            using (var response = await host.Client.SendAsync(unsampled))
            {
                Assert.Equal(200, (int)response.StatusCode);
            }
        }
        finally
        {
            await host.DisposeAsync(); // stopping the host flushes the batch exporter
        }

        Assert.All(receiver.ContentTypes, t => Assert.Equal("application/x-protobuf", t));
        var spans = receiver.Spans;
        Assert.DoesNotContain(spans, s => Id(s).StartsWith("cmpl-unsampled", StringComparison.Ordinal));

        var chat = Assert.Single(spans, s => Id(s) == "chatcmpl-traced");
        Assert.Equal("llm_request", chat.Name);
        Assert.Equal(2, chat.Kind); // SPAN_KIND_SERVER
        Assert.Equal("OrleansSim", chat.Scope);
        Assert.Equal(TraceId, Convert.ToHexStringLower(chat.TraceId));
        Assert.Equal(ParentSpanId, Convert.ToHexStringLower(chat.ParentSpanId));
        Assert.Equal(8, chat.SpanId.Length);
        Assert.Equal(chatUsage.GetProperty("prompt_tokens").GetInt32(), (long)chat.Attributes["gen_ai.usage.prompt_tokens"]);
        Assert.Equal(4L, chat.Attributes["gen_ai.usage.completion_tokens"]);
        Assert.Equal(chatUsage.GetProperty("completion_tokens").GetInt32(), (long)chat.Attributes["gen_ai.usage.completion_tokens"]);
        Assert.Equal(4L, chat.Attributes["gen_ai.request.max_tokens"]);
        Assert.Equal(1L, chat.Attributes["gen_ai.request.n"]);
        Assert.Equal("test-model", chat.Attributes["gen_ai.response.model"]); // the model responses name (the first served name)
        Assert.Equal("trace-pod", chat.Attributes["orleanssim.pod"]);
        Assert.Equal(0L, chat.Attributes["orleanssim.rank"]);
        AssertTimings(chat);

        var completion = Assert.Single(spans, s => Id(s) == "cmpl-root-0");
        Assert.Empty(completion.ParentSpanId);
        Assert.NotEqual(TraceId, Convert.ToHexStringLower(completion.TraceId));
        Assert.Equal(1L, completion.Attributes["orleanssim.rank"]);
        Assert.Equal(completionUsage.GetProperty("prompt_tokens").GetInt32(), (long)completion.Attributes["gen_ai.usage.prompt_tokens"]);
        Assert.Equal(3L, completion.Attributes["gen_ai.usage.completion_tokens"]);
        Assert.Equal("test-model", completion.Attributes["gen_ai.response.model"]);
        AssertTimings(completion);

        Assert.Equal("orleanssim", chat.Resource["service.name"]);
        Assert.Equal("trace-pod", chat.Resource["k8s.pod.name"]);
    }

    private static string Id(OtlpReceiver.ReceivedSpan span) => span.Attributes.TryGetValue("gen_ai.request.id", out var id) ? (string)id : "";

    /// <summary>What the code guarantees, not how fast this machine is: TTFT at least the configured 50 ms, the parts add up.</summary>
    private static void AssertTimings(OtlpReceiver.ReceivedSpan span)
    {
        var ttft = (double)span.Attributes["gen_ai.latency.time_to_first_token"];
        var e2e = (double)span.Attributes["gen_ai.latency.e2e"];
        var queue = (double)span.Attributes["gen_ai.latency.time_in_queue"];
        var prefill = (double)span.Attributes["gen_ai.latency.time_in_model_prefill"];
        var decode = (double)span.Attributes["gen_ai.latency.time_in_model_decode"];
        var inference = (double)span.Attributes["gen_ai.latency.time_in_model_inference"];
        Assert.InRange(ttft, 0.045, e2e);
        Assert.InRange(queue, 0, ttft);
        Assert.True(prefill >= 0.045, $"prefill {prefill}");
        Assert.True(decode >= 0, $"decode {decode}");
        Assert.Equal(prefill + decode, inference, 9);
        Assert.True(span.EndUnixNano > span.StartUnixNano);
        // The span runs from arrival to the end (vLLM starts it at the arrival time): its length is e2e.
        Assert.Equal(e2e, (span.EndUnixNano - span.StartUnixNano) / 1e9, 3);
    }
}
