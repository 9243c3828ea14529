using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>
/// Prefill/decode disaggregation as llm-d's P/D sidecar drives it: the prefill pod gets the request with
/// <c>do_remote_decode: true</c> (non-streamed, one token) and answers with the <c>kv_transfer_params</c> the decode pod
/// needs; the decode pod gets the original request with those parameters and pays the KV transfer, not the prefill.
/// </summary>
public sealed class PdDisaggregationTests
{
    private const string Prompt = "Explain prefill and decode disaggregation in one long sentence, please, with details.";

    private static readonly string PrefillParams =
        """{"do_remote_decode":true,"do_remote_prefill":false,"remote_engine_id":null,"remote_block_ids":null,"remote_host":null,"remote_port":null}""";

    [Fact]
    public async Task TheSidecarsTwoStepsRunOnAPrefillPodAndADecodePod()
    {
        await using var prefill = await SimHost.StartAsync();
        // The decode pod's own prefill would take 60 s; the KV transfer takes 300 ms.
        await using var decode = await SimHost.StartAsync(o => o with
        {
            TimeToFirstToken = TimeSpan.FromSeconds(60),
            InterTokenLatency = TimeSpan.FromMilliseconds(10),
            KvCacheTransferLatency = TimeSpan.FromMilliseconds(300),
        });

        // Step 1, as the sidecar sends it: max_tokens 1, not streamed.
        var (response, body) = await prefill.Client.PostJsonAsync("/v1/chat/completions",
            $$"""{"model":"test-model","messages":[{"role":"user","content":"{{Prompt}}"}],"max_tokens":1,"stream":false,"kv_transfer_params":{{PrefillParams}}}""");
        Assert.Equal(200, (int)response.StatusCode);
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("remote_decode", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(1, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var promptTokens = body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        var kv = body.GetProperty("kv_transfer_params");
        Assert.False(kv.GetProperty("do_remote_decode").GetBoolean());
        Assert.True(kv.GetProperty("do_remote_prefill").GetBoolean());
        Assert.Equal("test-pod-dp0", kv.GetProperty("remote_engine_id").GetString());
        Assert.Equal(Enumerable.Range(0, (promptTokens + 15) / 16), kv.GetProperty("remote_block_ids").EnumerateArray().Select(b => b.GetInt32()));
        Assert.Equal("127.0.0.1", kv.GetProperty("remote_host").GetString());
        Assert.Equal(5600, kv.GetProperty("remote_port").GetInt32());
        Assert.Equal(1, kv.GetProperty("tp_size").GetInt32());

        // Step 2: the original request (streamed, 8 tokens) with the prefill pod's parameters, on the decode pod.
        var decodeRequest = new JsonObject
        {
            ["model"] = "test-model",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Prompt }),
            ["max_tokens"] = 8,
            ["ignore_eos"] = true,
            ["stream"] = true,
            ["kv_transfer_params"] = JsonNode.Parse(kv.GetRawText()),
        };
        var clock = Stopwatch.StartNew();
        using var stream = await decode.Client.PostStreamAsync("/v1/chat/completions", decodeRequest.ToJsonString());
        Assert.Equal(200, (int)stream.StatusCode);
        var events = await Sse.ReadAllAsync(stream);
        var elapsed = clock.Elapsed;
        Assert.True(events[^1].IsDone);
        var tokens = events.Count(e => !e.IsDone && e.Json.GetProperty("choices").GetArrayLength() > 0
            && e.Json.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) && c.GetString()!.Length > 0);
        Assert.Equal(8, tokens);
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(300), $"the KV transfer (300 ms) is paid: {elapsed}");
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"the decode pod's own prefill (60 s) is not: {elapsed}");

        // Without the parameters the same decode pod prefills itself (a request that is cut long before its 60 s TTFT).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => decode.Client.PostAsync(
            new Uri("/v1/chat/completions", UriKind.Relative),
            new StringContent($$"""{"model":"test-model","messages":[{"role":"user","content":"{{Prompt}}"}],"max_tokens":2}""", System.Text.Encoding.UTF8, "application/json"),
            timeout.Token));
    }

    [Fact]
    public async Task TextCompletionsTakeTheSameParametersAndAPrefillAnswersWithOneToken()
    {
        await using var host = await SimHost.StartAsync();
        var (response, body) = await host.Client.PostJsonAsync("/v1/completions",
            $$"""{"model":"test-model","prompt":"{{Prompt}}","max_tokens":50,"kv_transfer_params":{{PrefillParams}}}""");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("remote_decode", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(1, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.True(body.GetProperty("kv_transfer_params").GetProperty("do_remote_prefill").GetBoolean());

        // An ordinary request has the field, null, as vLLM writes it.
        var (_, plain) = await host.Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"hi","max_tokens":2}""");
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("kv_transfer_params").ValueKind);
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"hi"}],"stream":true,"kv_transfer_params":{"do_remote_decode":true}}""", "Prefill does not support streaming")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":"hi","stream":true,"kv_transfer_params":{"do_remote_decode":true}}""", "Prefill does not support streaming")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":"hi","kv_transfer_params":[1]}""", "'kv_transfer_params' must be an object.")]
    [InlineData("/v1/completions", """{"model":"test-model","prompt":"hi","kv_transfer_params":{"do_remote_prefill":"yes"}}""", "'kv_transfer_params.do_remote_prefill' must be a boolean.")]
    public async Task BadParametersAre400(string path, string json, string message)
    {
        await using var host = await SimHost.StartAsync();
        var (response, body) = await host.Client.PostJsonAsync(path, json);
        Assert.Equal(message, Http.AssertError(response, body, 400, "BadRequestError"));
    }
}
