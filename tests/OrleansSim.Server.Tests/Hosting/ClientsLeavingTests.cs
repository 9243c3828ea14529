using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Hosting;

/// <summary>
/// Clients that go away over a raw socket, with a RST or a FIN: while the server is still reading their request body
/// (headers declaring 100,000 bytes, a part of the body sent), or in the middle of a streamed answer on every surface.
/// A client leaving is normal: the server logs no failure and keeps serving with every rank idle; a request that never
/// reached its rank is not counted, one that did counts once (as an abort when it left first).
/// </summary>
public sealed class ClientsLeavingTests
{
    private const long DeclaredLength = 100_000;

    private static readonly string Padding = new('x', 4_000);

    // The chat and completions surfaces, the Anthropic Messages surface, and /tokenize (not a surface).
    private static readonly (string Path, string BodyStart)[] Endpoints =
    [
        ("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":" """ + Padding),
        ("/v1/completions", """{"model":"test-model","prompt":" """ + Padding),
        ("/v1/messages", """{"model":"test-model","max_tokens":8,"messages":[{"role":"user","content":" """ + Padding),
        ("/tokenize", """{"model":"test-model","prompt":" """ + Padding),
    ];

    [Fact]
    public async Task ResetMidBodyIsNoFailureAndLeavesTheServerIdle()
    {
        await using var host = await SimHost.StartAsync();
        using var requests = new ServerRequests(host.Services.GetRequiredService<IMeterFactory>(), route: null);

        var connections = 0;
        for (var round = 0; round < 3; round++)
        {
            foreach (var (path, bodyStart) in Endpoints)
            {
                using var client = await RawHttp.PostPartialAsync(host.Options.Port, path, bodyStart, DeclaredLength, TestContext.Current.CancellationToken);
                connections++;
                // The request is in the application (reading its body) before the client resets the connection.
                await WaitForActiveAsync(requests, 1, $"{path} in the application");
                client.Close(reset: true);
                await WaitForActiveAsync(requests, 0, $"{path} ended after the reset");
            }
        }

        // Every connection's processing is over (Kestrel logs a failed body drain after the request itself has ended).
        await Poll.UntilAsync(() => Task.FromResult(requests.ConnectionsEnded), n => n == connections, TimeSpan.FromSeconds(60), $"{connections} connections ended");
        Assert.True(host.Logs.Failures.Count == 0, "a client resetting mid-body is no failure; logged:\n" + string.Join('\n', host.Logs.Failures));

        await AssertServesAndIdleAsync(host);
    }

    [Fact]
    public async Task FinMidBodyClosesWithoutAnAnswerAndNoFailure()
    {
        await using var host = await SimHost.StartAsync();
        using var requests = new ServerRequests(host.Services.GetRequiredService<IMeterFactory>(), route: null);

        var connections = 0;
        foreach (var (path, bodyStart) in Endpoints.Take(2))
        {
            using var client = await RawHttp.PostPartialAsync(host.Options.Port, path, bodyStart, DeclaredLength, TestContext.Current.CancellationToken);
            connections++;
            await WaitForActiveAsync(requests, 1, $"{path} in the application");
            // The client shuts its sending side: the body can never be complete. Kestrel closes the connection without an
            // answer, as uvicorn (vLLM's server) does when a client's FIN arrives before its whole body.
            await client.CloseWithFinAsync(TimeSpan.FromSeconds(30));
            Assert.True(client.EndOfStream, $"{path}: the server closed the connection");
            Assert.Equal("", client.Received);
            await WaitForActiveAsync(requests, 0, $"{path} ended after the FIN");
        }

        await Poll.UntilAsync(() => Task.FromResult(requests.ConnectionsEnded), n => n == connections, TimeSpan.FromSeconds(60), $"{connections} connections ended");
        Assert.True(host.Logs.Failures.Count == 0, "a client half-closing mid-body is no failure; logged:\n" + string.Join('\n', host.Logs.Failures));

        await AssertServesAndIdleAsync(host);
    }

    [Fact]
    public async Task LeavingMidStreamOnEverySurfaceIsNoFailure()
    {
        await using var host = await SimHost.StartAsync(o => o with
        {
            Mode = Core.Configuration.SimulationMode.Random,
            TimeToFirstToken = TimeSpan.FromMilliseconds(5),
            InterTokenLatency = TimeSpan.FromMilliseconds(20),
        });
        using var requests = new ServerRequests(host.Services.GetRequiredService<IMeterFactory>(), route: null);
        (string Path, string Body)[] streams =
        [
            ("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"hello"}],"max_tokens":100,"ignore_eos":true,"stream":true}"""),
            ("/v1/completions", """{"model":"test-model","prompt":"hello","max_tokens":100,"ignore_eos":true,"stream":true}"""),
            ("/v1/messages", """{"model":"test-model","messages":[{"role":"user","content":"hello"}],"max_tokens":100,"stream":true}"""),
            ("/v1/responses", """{"model":"test-model","input":"hello","max_output_tokens":100,"ignore_eos":true,"stream":true}"""),
            ("/inference/v1/generate", """{"token_ids":[1,2,3,4],"sampling_params":{"max_tokens":100,"ignore_eos":true},"stream":true}"""),
        ];

        var connections = 0;
        foreach (var reset in new[] { true, false })
        {
            foreach (var (path, body) in streams)
            {
                using var client = await RawHttp.PostAsync(host.Options.Port, path, body, TestContext.Current.CancellationToken);
                connections++;
                Assert.True(await client.ReadUntilAsync("data: ", 2, TestContext.Current.CancellationToken), $"{path}: a stream\n{client.Received}");
                if (reset)
                {
                    client.Close(reset: true);
                }
                else
                {
                    await client.CloseWithFinAsync(TimeSpan.FromSeconds(30));
                }
            }
        }

        await Poll.UntilAsync(() => Task.FromResult(requests.ConnectionsEnded), n => n == connections, TimeSpan.FromSeconds(60), $"{connections} connections ended");
        Assert.True(host.Logs.Failures.Count == 0, "a client leaving mid-stream is no failure; logged:\n" + string.Join('\n', host.Logs.Failures));
        var metrics = await PromText.ScrapeAsync(host.Client);
        Assert.Equal(0, metrics.Value("vllm:num_requests_running"));
        Assert.Equal(0, metrics.Value("vllm:num_requests_waiting"));
        Assert.Equal(connections, metrics.All("vllm:request_success_total").Sum(s => s.Value));
    }

    private static Task<long> WaitForActiveAsync(ServerRequests requests, long active, string what) =>
        Poll.UntilAsync(() => Task.FromResult(requests.Active), n => n == active, TimeSpan.FromSeconds(30), what);

    /// <summary>Nothing runs, waits or was counted on the rank, and a normal request is answered.</summary>
    private static async Task AssertServesAndIdleAsync(SimHost host)
    {
        var metrics = await PromText.ScrapeAsync(host.Client);
        Assert.Equal(0, metrics.Value("vllm:num_requests_running"));
        Assert.Equal(0, metrics.Value("vllm:num_requests_waiting"));
        Assert.Equal(0, metrics.All("vllm:request_success_total").Sum(s => s.Value));

        var (response, body) = await host.Client.PostJsonAsync("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"hello"}],"max_tokens":3}""");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        var after = await PromText.ScrapeAsync(host.Client);
        Assert.Equal(1, after.All("vllm:request_success_total").Sum(s => s.Value));
    }
}
