using OrleansSim.Core.Configuration;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Scheduling;

/// <summary>
/// Clients that leave while queued, at their promotion or mid-stream never leave a slot behind (issue 10's
/// scenario: one rank of two saturated, then every client closes at once).
/// </summary>
public sealed class AdmissionLeakTests
{
    private const string Stream = """{"model":"test-model","prompt":"hello there","max_tokens":200,"ignore_eos":true,"stream":true}""";

    [Fact]
    public async Task ClientsLeavingAQueueAtOnceLeaveNoSlotBehind()
    {
        await using var host = await SimHost.StartAsync(o => o with
        {
            MaxNumSeqs = 4,
            TimeToFirstToken = TimeSpan.FromMilliseconds(50),
            InterTokenLatency = TimeSpan.FromMilliseconds(10),
            Mode = SimulationMode.Random,
        }, ranks: 2);

        var clients = new List<RawHttp>();
        try
        {
            for (var i = 0; i < 50; i++)
            {
                clients.Add(await RawHttp.PostAsync(host.Options.Port, "/v1/completions", Stream));
            }

            await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
                s => s.Value("vllm:num_requests_running") == 4 && s.Value("vllm:num_requests_waiting") == 46,
                TimeSpan.FromSeconds(30), "4 running, 46 waiting");
        }
        finally
        {
            // All at once, half with FIN and half with RST; most of them while queued.
            for (var i = 0; i < clients.Count; i++)
            {
                clients[i].Close(reset: i % 2 == 1);
            }
        }

        var idle = await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
            s => s.Value("vllm:num_requests_running") == 0 && s.Value("vllm:num_requests_waiting") == 0
                 && s.All("vllm:request_success_total").Sum(x => x.Value) == 50,
            TimeSpan.FromSeconds(30), "an idle rank 0 that counted all 50 requests");
        Assert.Equal(50, idle.Value("vllm:request_success_total", ("finished_reason", "abort")));

        // All four slots are free again: four fresh streams run at once to the end.
        var fresh = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var response = await host.Client.PostStreamAsync("/v1/completions",
                """{"model":"test-model","prompt":"hi","max_tokens":3,"ignore_eos":true,"stream":true}""");
            return (await Sse.ReadAllAsync(response)).Count(e => e.IsDone);
        }));
        Assert.All(fresh, done => Assert.Equal(1, done));
        var after = await PromText.ScrapeAsync(host.Client);
        Assert.Equal(4, after.Value("vllm:request_success_total", ("finished_reason", "length")));
        Assert.True(host.Logs.Failures.Count == 0, $"no failure logged for clients that left; logged ({host.Logs.Failures.Count}):\n{string.Join('\n', host.Logs.Failures.Take(5))}");
    }
}
