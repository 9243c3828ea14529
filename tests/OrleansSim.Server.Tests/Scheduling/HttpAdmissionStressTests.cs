using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OrleansSim.Core.Lora;
using OrleansSim.Grains.Ranks;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Scheduling;

/// <summary>
/// Seeded randomized stress over real loopback sockets against the real server (DP 2, KV cache, four LoRA adapters with
/// <c>--max-loras 2</c>, three slots per rank so most requests queue): streamed and non-streamed requests whose clients
/// stay to the end or leave at random points — at once, after a random delay, after the headers, after a few events —
/// closing with a FIN or a RST. Afterwards every rank's /metrics shows nothing running, waiting or pinned, and
/// vllm:request_success_total counts every request the server took exactly once, consistent with what each client saw.
/// </summary>
public sealed class HttpAdmissionStressTests
{
    private const int Ranks = 2;
    private const int Slots = 3;
    private const int MaxLoras = 2;
    private const int Requests = 1200;
    private const int Concurrency = 48;
    private static readonly TimeSpan ClientPatience = TimeSpan.FromSeconds(60);

    private static readonly string[] Models = ["test-model", "lora-1", "lora-2", "lora-3", "lora-4"];

    private static readonly string[] Words =
        ["alpha", "beta", "gamma", "delta", "river", "stone", "cloud", "light", "green", "house", "table", "water"];

    private enum Leave
    {
        AtTheEnd,
        AtOnce,
        AfterADelay,
        AfterTheHeaders,
        AfterSomeEvents,
    }

    /// <summary>What one client saw before it left.</summary>
    private sealed record Seen(bool Headers, bool Complete, string? OtherStatus);

    [Fact]
    public Task ClientsLeavingAtRandomPointsWithFinOrRstLeaveEveryRankIdle() => StressSeed.RunAsync(async seed =>
    {
        await using var host = await SimHost.StartAsync(o => o with
        {
            Mode = Core.Configuration.SimulationMode.Random,
            MaxNumSeqs = Slots,
            TimeToFirstToken = TimeSpan.FromMilliseconds(5),
            InterTokenLatency = TimeSpan.FromMilliseconds(2),
            EnableKvCache = true,
            KvCacheSize = 24,
            BlockSize = 8,
            ZmqEndpoint = "",
            MaxLoras = MaxLoras,
            LoraModules = [.. Models.Skip(1).Select(m => new LoraModule(m, "/adapters/" + m))],
        }, ranks: Ranks);
        using var requests = new ServerRequests(host.Services.GetRequiredService<IMeterFactory>());

        var seen = new Seen[Requests];
        var next = -1;
        async Task Client(int worker)
        {
            var random = new Random(seed + (worker * 7919));
            int i;
            while ((i = Interlocked.Increment(ref next)) < Requests)
            {
                seen[i] = await RunClientAsync(host.Options.Port + random.Next(Ranks), random);
            }
        }

        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var ranks = Enumerable.Range(0, Ranks).Select(r => grains.GetGrain<IRankGrain>(RankKey.For(host.Options.PodName, r))).ToArray();
        async Task<Snapshot> SnapshotAsync()
        {
            var activeBefore = requests.Active;
            var scrapes = await ScrapeRanksAsync(host);
            var statuses = await Task.WhenAll(ranks.Select(r => r.GetStatus()));
            return new Snapshot(activeBefore + requests.Active, requests.Ended, scrapes, statuses);
        }

        try
        {
            await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(Client)).WaitAsync(TimeSpan.FromSeconds(90), TestContext.Current.CancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException && !TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"clients still waiting for their answers after {ClientPatience.TotalSeconds} s (a slot or a queue place that is never freed?): {await SnapshotAsync()}");
        }

        var other = seen.Where(s => s.OtherStatus is not null).Select(s => s.OtherStatus).ToList();
        Assert.True(other.Count == 0, $"every answer is a 200; saw: {string.Join(" | ", other.Take(3))}");
        var headers = seen.Count(s => s.Headers);
        var complete = seen.Count(s => s.Complete);

        var left = Requests - headers; // clients gone before they saw the status line

        // Converged: no request in the application (ASP.NET Core's own count, read before and after the scrapes, so every
        // request counted in the scrapes has ended), every rank idle on /metrics and in its grain.
        var end = await Poll.UntilAsync(SnapshotAsync,
            x => x.Active == 0 && x.Ranks.All(Idle) && x.Statuses.All(Idle),
            TimeSpan.FromSeconds(60),
            "every request ended and every rank idle");
        var counted = end.Ranks.Sum(Counted);
        var abort = end.Ranks.Sum(s => Reason(s, "abort"));
        var length = end.Ranks.Sum(s => Reason(s, "length"));
        var summary = $"sent {Requests}, reached the application {end.Reached}, status seen {headers}, complete {complete}, counted {counted}: abort {abort}, length {length}";
        TestContext.Current.TestOutputHelper?.WriteLine(summary);

        // What is exactly knowable. A client that saw the status line was taken by the run loop and counted exactly once
        // (abort, or length when the server finished first); one that read the whole answer counted as length. A client
        // gone before the status line may not have been read yet (never reached), or been read with its connection already
        // gone (reached, not counted: it never got to its rank, as in vLLM), or been taken (counted once).
        Assert.True(abort + length == counted, $"ignore_eos: a request ends by its length or its client leaving, nothing else: {summary}");
        Assert.True(counted >= headers, $"every client that saw the status line is counted: {summary}");
        Assert.True(counted <= end.Reached, $"no request is counted twice: {summary}");
        Assert.True(end.Reached - counted <= left, $"only clients gone before the status line go uncounted: {summary}");
        Assert.True(length >= complete, $"every complete answer counts as length: {summary}");
        Assert.True(abort <= Requests - complete, $"no complete answer counts as abort: {summary}");
        Assert.True(complete > 0 && abort > 0 && left > 0, $"the mix reaches every end: {summary}");

        // Clients leaving, wherever they left, are no failure of the server's.
        Assert.True(host.Logs.Failures.Count == 0, $"no failure logged for clients that left; logged ({host.Logs.Failures.Count}):\n{string.Join('\n', host.Logs.Failures.Take(5))}");

        // Never more than --max-loras adapters resident at once, in every adapter combination the ranks reported.
        foreach (var s in end.Ranks)
        {
            foreach (var info in s.All("vllm:lora_requests_info"))
            {
                var running = info.Labels["running_lora_adapters"];
                Assert.True((running.Length == 0 ? 0 : running.Split(',').Length) <= MaxLoras, $"at most {MaxLoras} adapters resident: {info.Line}");
            }
        }
    });

    /// <summary>
    /// Requests in the application (before + after the scrapes), requests of the route that reached it and ended, one
    /// scrape and one grain status of every rank.
    /// </summary>
    private sealed record Snapshot(long Active, long Reached, PromText[] Ranks, RankStatus[] Statuses)
    {
        public override string ToString() =>
            $"active {Active}, reached {Reached}; " + string.Join("; ", Ranks.Select((s, r) =>
                $"rank {r}: running {s.Value("vllm:num_requests_running")}, waiting {s.Value("vllm:num_requests_waiting")}, kv {s.Value("vllm:kv_cache_usage_perc")}, "
                + string.Join(", ", s.All("vllm:request_success_total").Select(x => $"{x.Labels["finished_reason"]} {x.Value}"))
                + $", slots granted {Statuses[r].Admitted}, freed {Statuses[r].Completed}, adapters [{string.Join(',', Statuses[r].RunningLoras)}], pinned blocks {Statuses[r].KvBlocksUsed}"));
    }

    /// <summary>Every slot the rank granted was freed; nothing runs, waits, is pinned or resident.</summary>
    private static bool Idle(RankStatus s) =>
        s is { Running: 0, Waiting: 0, KvBlocksUsed: 0, RunningLoras.Count: 0, WaitingLoras.Count: 0 } && s.Admitted == s.Completed;

    private static bool Idle(PromText s) =>
        s.Value("vllm:num_requests_running") == 0 && s.Value("vllm:num_requests_waiting") == 0 && s.Value("vllm:kv_cache_usage_perc") == 0;

    private static double Counted(PromText s) => s.All("vllm:request_success_total").Sum(x => x.Value);

    private static double Reason(PromText s, string reason) => s.Value("vllm:request_success_total", ("finished_reason", reason));

    private static async Task<PromText[]> ScrapeRanksAsync(SimHost host) =>
        await Task.WhenAll(Enumerable.Range(0, Ranks).Select(r => PromText.ScrapeAsync(host.ClientFor(r))));

    /// <summary>One request on its own connection; the client stays or leaves as drawn, with a FIN or a RST.</summary>
    private static async Task<Seen> RunClientAsync(int port, Random random)
    {
        var stream = random.Next(2) == 0;
        var leave = (Leave)random.Next(Enum.GetValues<Leave>().Length);
        var reset = random.Next(2) == 0;
        var prompt = string.Join(' ', Enumerable.Range(0, random.Next(1, 40)).Select(_ => Words[random.Next(Words.Length)]));
        var body = $$"""{"model":"{{Models[random.Next(Models.Length)]}}","prompt":"{{prompt}}","max_tokens":{{random.Next(1, 17)}},"ignore_eos":true,"stream":{{(stream ? "true" : "false")}}}""";
        var delay = random.Next(0, 40);
        var events = random.Next(1, 4);

        using var http = await RawHttp.PostAsync(port, "/v1/completions", body, "Connection: close\r\n");
        using var patience = new CancellationTokenSource(ClientPatience);
        string received;
        try
        {
            switch (leave)
            {
                case Leave.AtTheEnd:
                    await http.ReadToEndAsync(patience.Token);
                    break;
                case Leave.AfterADelay:
                    {
                        using var wait = CancellationTokenSource.CreateLinkedTokenSource(patience.Token);
                        wait.CancelAfter(delay);
                        try
                        {
                            await http.ReadToEndAsync(wait.Token);
                        }
                        catch (OperationCanceledException) when (!patience.IsCancellationRequested)
                        {
                            // the client's patience ran out: it leaves wherever the answer was
                        }

                        break;
                    }

                case Leave.AfterTheHeaders:
                    await http.ReadUntilAsync("\r\n\r\n", patience.Token);
                    break;
                case Leave.AfterSomeEvents:
                    // A stream's first events; a non-streamed answer has none, so its client reads it all (or the end).
                    await http.ReadUntilAsync(stream ? "data: " : "\"total_tokens\":", stream ? events : 1, patience.Token);
                    break;
            }
        }
        finally
        {
            received = http.Received;
            if (reset)
            {
                http.Close(reset: true);
            }
            else
            {
                await http.CloseWithFinAsync(TimeSpan.FromSeconds(30));
            }
        }

        var headers = received.StartsWith("HTTP/1.1 200", StringComparison.Ordinal);
        var otherStatus = received.Length >= 12 && !headers ? received[..Math.Min(received.Length, 300)] : null;
        var complete = headers && (stream ? received.Contains("data: [DONE]", StringComparison.Ordinal) : received.Contains("\"total_tokens\":", StringComparison.Ordinal));
        return new Seen(headers, complete, otherStatus);
    }
}
