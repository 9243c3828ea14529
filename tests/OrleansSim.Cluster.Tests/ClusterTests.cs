using System.Net;
using System.Text;
using System.Text.Json;
using OrleansSim.Cluster.Tests.Infrastructure;

namespace OrleansSim.Cluster.Tests;

/// <summary>
/// Three real simulator processes join one Orleans cluster through a real redis-server. Every test leaves
/// all three pods running (the kill test restarts its pod), so the tests do not depend on their order.
/// </summary>
public sealed class ClusterTests(ThreePodCluster cluster) : IClassFixture<ThreePodCluster>
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    private static readonly string[] All = ["pod-a", "pod-b", "pod-c"];

    [Fact]
    public async Task EveryPodSeesAllThreePodsAndTheirRanks()
    {
        foreach (var pod in cluster.Pods)
        {
            var (view, _) = await cluster.WaitForViewAsync(pod, v => ThreePodCluster.HasReadyPods(v, All), Converge);
            Assert.Equal(ThreePodCluster.ClusterId, view.GetProperty("cluster_id").GetString());
            foreach (var entry in view.GetProperty("pods").EnumerateArray())
            {
                var name = entry.GetProperty("pod").GetString()!;
                var owner = cluster.Pods.Single(p => p.Name == name);
                Assert.Equal("sim", entry.GetProperty("namespace").GetString());
                Assert.Equal("127.0.0.1", entry.GetProperty("address").GetString());
                Assert.Equal(owner.Port, entry.GetProperty("port").GetInt32());
                Assert.StartsWith("S127.0.0.1:", entry.GetProperty("silo").GetString(), StringComparison.Ordinal);
                var ranks = entry.GetProperty("ranks").EnumerateArray().ToList();
                Assert.Equal([0, 1], ranks.Select(r => r.GetProperty("rank").GetInt32()));
                Assert.All(ranks, r =>
                {
                    Assert.Equal(name, r.GetProperty("pod").GetString());
                    Assert.Equal(5, r.GetProperty("max_num_seqs").GetInt32());
                    Assert.True(r.GetProperty("waiting").GetInt32() >= 0);
                    Assert.True(r.GetProperty("running").GetInt32() >= 0);
                });
            }
        }
    }

    [Fact]
    public async Task RequestsSucceedOnEveryPortOfEveryPodAndCountOnThatPodsRank()
    {
        await cluster.WaitForViewAsync(cluster.Pods[0], v => ThreePodCluster.HasReadyPods(v, All), Converge);
        var before = AdmittedByRank(await cluster.GetClusterAsync(cluster.Pods[0]));
        foreach (var pod in cluster.Pods)
        {
            foreach (var port in pod.Ports)
            {
                using var response = await CompleteAsync(port);
                Assert.Equal(200, (int)response.StatusCode);
                Assert.Equal(pod.Name, response.Headers.GetValues("x-inference-pod").Single());
                Assert.Contains("hello cluster", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }

        // Each request was admitted by its own pod's rank grain, and any pod's view shows it.
        var after = AdmittedByRank(await cluster.GetClusterAsync(cluster.Pods[2]));
        foreach (var pod in cluster.Pods)
        {
            for (var rank = 0; rank < pod.DataParallelSize; rank++)
            {
                var key = $"{pod.Name}/{rank}";
                Assert.True(after[key] >= before.GetValueOrDefault(key) + 1, $"{key}: admitted {before.GetValueOrDefault(key)} → {after[key]}");
            }
        }
    }

    [Fact]
    public async Task CtlStatusPrintsEveryPodAndRank()
    {
        await cluster.WaitForViewAsync(cluster.Pods[0], v => ThreePodCluster.HasReadyPods(v, All), Converge);
        var (exit, stdout, stderr) = await CtlProcess.RunAsync("status", "--cluster-connection", cluster.RedisConnection, "--cluster-id", ThreePodCluster.ClusterId, "--connect-timeout", CtlProcess.ConnectTimeoutSeconds);
        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal($"cluster {ThreePodCluster.ClusterId}: 3 pods, 6 ranks", lines[0]);
        Assert.StartsWith("POD", lines[1], StringComparison.Ordinal);
        foreach (var pod in cluster.Pods)
        {
            for (var rank = 0; rank < pod.DataParallelSize; rank++)
            {
                var row = lines.SingleOrDefault(l => l.StartsWith($"{pod.Name}  {rank}  ", StringComparison.Ordinal));
                Assert.True(row is not null, $"no row for {pod.Name}/{rank} in:\n{stdout}");
                Assert.Contains($"127.0.0.1:{pod.Port + rank}", row, StringComparison.Ordinal);
                Assert.Contains("ready", row, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task CtlFailsInOneLineForAnUnknownCluster()
    {
        var (exit, _, stderr) = await CtlProcess.RunAsync("status", "--cluster-connection", cluster.RedisConnection, "--cluster-id", "no-such-cluster", "--connect-timeout", "2");
        Assert.Equal(1, exit);
        // Which of the client's two failures comes first (no gateway within the timeout, or the client giving up on the empty
        // membership table) depends on scheduling; either way its error line names the cluster.
        var line = stderr.Trim().Split('\n')[0];
        Assert.True(line.StartsWith("error: no gateway of cluster 'no-such-cluster'", StringComparison.Ordinal)
            || line.StartsWith("error: cannot reach the cluster 'no-such-cluster':", StringComparison.Ordinal), line);
    }

    [Fact]
    public async Task KilledPodLeavesTheViewWithin30SecondsWhileTheOthersServeAndRejoinsAfterRestart()
    {
        var victim = cluster.Pods[2];
        var survivors = cluster.Pods.Take(2).ToList();
        await cluster.WaitForViewAsync(survivors[0], v => ThreePodCluster.HasReadyPods(v, All), Converge);

        await victim.KillAsync();
        var killedAt = DateTime.UtcNow;

        // The survivors keep serving on every port while membership notices the loss.
        foreach (var port in survivors.SelectMany(p => p.Ports))
        {
            using var response = await CompleteAsync(port);
            Assert.Equal(200, (int)response.StatusCode);
        }

        foreach (var pod in survivors)
        {
            await cluster.WaitForViewAsync(pod, v => ThreePodCluster.HasReadyPods(v, "pod-a", "pod-b"), Converge - (DateTime.UtcNow - killedAt));
        }

        var dropped = DateTime.UtcNow - killedAt;
        Assert.True(dropped < Converge, $"the view dropped the killed pod after {dropped}");
        TestContext.Current.SendDiagnosticMessage($"killed pod dropped from every view after {dropped.TotalSeconds:F1} s");

        await victim.StartAsync();
        var restartedAt = DateTime.UtcNow;
        foreach (var pod in cluster.Pods)
        {
            await cluster.WaitForViewAsync(pod, v => ThreePodCluster.HasReadyPods(v, All), Converge);
        }

        TestContext.Current.SendDiagnosticMessage($"restarted pod in every view {(DateTime.UtcNow - restartedAt).TotalSeconds:F1} s after it was ready");
        foreach (var port in victim.Ports)
        {
            using var response = await CompleteAsync(port);
            Assert.Equal(200, (int)response.StatusCode);
        }
    }

    private async Task<HttpResponseMessage> CompleteAsync(int port)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{port}/v1/completions"))
        {
            Content = new StringContent("""{"model": "m", "prompt": "hello cluster", "max_tokens": 4}""", Encoding.UTF8, "application/json"),
        };
        return await cluster.Http.SendAsync(request);
    }

    private static Dictionary<string, long> AdmittedByRank(JsonElement view) =>
        view.GetProperty("pods").EnumerateArray()
            .SelectMany(p => p.GetProperty("ranks").EnumerateArray())
            .ToDictionary(r => $"{r.GetProperty("pod").GetString()}/{r.GetProperty("rank").GetInt32()}", r => r.GetProperty("admitted").GetInt64());

    [Fact]
    public async Task ChaosSetThroughOnePodActsOnAnotherAndEveryPodListsIt()
    {
        await cluster.WaitForViewAsync(cluster.Pods[0], v => ThreePodCluster.HasReadyPods(v, All), Converge);
        var http = cluster.Http;
        var a = cluster.Pods[0];
        var b = cluster.Pods[1];
        var c = cluster.Pods[2];
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"http://127.0.0.1:{a.Port}/admin/chaos")).StatusCode);
        int Port(SimPod pod, int rank) => pod.Port + rank;

        // error, set on pod-a for pod-b's rank 1: only that rank fails, every pod lists it, the metric is on that rank.
        var error = await ClusterChaos.AddAsync(http, a.Port, """{"kind":"error","target":{"pod":"pod-b","rank":1},"rate":100,"types":["server_error"]}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await ClusterChaos.StatusAsync(http, Port(b, 1)));
        Assert.Equal(HttpStatusCode.OK, await ClusterChaos.StatusAsync(http, Port(b, 0)));
        Assert.Equal(HttpStatusCode.OK, await ClusterChaos.StatusAsync(http, Port(a, 1)));
        foreach (var pod in cluster.Pods)
        {
            Assert.Contains(error, await ClusterChaos.ListAsync(http, pod.Port));
        }

        Assert.Equal(1, await ClusterChaos.ChaosMetricAsync(http, Port(b, 1), error));
        Assert.Null(await ClusterChaos.ChaosMetricAsync(http, Port(b, 0), error));
        Assert.Contains($"chaos fault {error} started", await b.Process!.WaitForStdoutAsync($"chaos fault {error} started", TimeSpan.FromSeconds(30)), StringComparison.Ordinal);

        // queue_full and unready from pod-c onto pod-b.
        await ClusterChaos.AddAsync(http, c.Port, """{"kind":"queue_full","target":{"pod":"pod-b","rank":0}}""");
        Assert.Equal(HttpStatusCode.TooManyRequests, await ClusterChaos.StatusAsync(http, Port(b, 0)));
        await ClusterChaos.AddAsync(http, c.Port, """{"kind":"unready","target":{"pod":"pod-b"},"health":true}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await ClusterChaos.StatusAsync(http, Port(b, 0), "/ready"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await ClusterChaos.StatusAsync(http, Port(b, 1), "/health"));
        Assert.Equal(HttpStatusCode.OK, await ClusterChaos.StatusAsync(http, Port(c, 0), "/ready"));
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"http://127.0.0.1:{a.Port}/admin/chaos")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, await ClusterChaos.StatusAsync(http, Port(b, 0)));
        Assert.Contains($"chaos fault {error} stopped", await b.Process!.WaitForStdoutAsync($"chaos fault {error} stopped", TimeSpan.FromSeconds(30)), StringComparison.Ordinal);
        Assert.Equal(0, await ClusterChaos.ChaosMetricAsync(http, Port(b, 1), error));

        // latency from pod-a onto pod-c (a lower bound only).
        var latency = await ClusterChaos.AddAsync(http, a.Port, """{"kind":"latency","target":{"pod":"pod-c","rank":0},"ttft_ms":400}""");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, await ClusterChaos.StatusAsync(http, Port(c, 0)));
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(390), $"answered after {watch.Elapsed}");
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"http://127.0.0.1:{b.Port}/admin/chaos/{latency}")).StatusCode);

        // stall from pod-b onto pod-a: held until pod-c deletes the fault.
        var stall = await ClusterChaos.AddAsync(http, b.Port, """{"kind":"stall","target":{"pod":"pod-a","rank":0}}""");
        var held = ClusterChaos.StatusAsync(http, Port(a, 0));
        await Task.Delay(500);
        Assert.False(held.IsCompleted, "a stalled request was answered");
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"http://127.0.0.1:{c.Port}/admin/chaos/{stall}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, await held.WaitAsync(TimeSpan.FromSeconds(30)));

        // drop from pod-c onto every pod's rank 1: a stream on pod-a is cut without [DONE].
        await ClusterChaos.AddAsync(http, c.Port, """{"kind":"drop","target":{"pod":"*","rank":1},"after_tokens":1}""");
        using (var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{Port(a, 1)}/v1/completions")
        {
            Content = new StringContent("""{"model":"m","prompt":"a b c d e f","max_tokens":6,"ignore_eos":true,"stream":true}""", Encoding.UTF8, "application/json"),
        })
        {
            var read = new StringBuilder();
            // The cut may reach the client before it has read the headers: the send itself then fails, which is a cut too.
            await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                while (await reader.ReadLineAsync() is { } line)
                {
                    read.AppendLine(line);
                }

                throw new InvalidOperationException("the stream ended normally");
            });
            Assert.DoesNotContain("[DONE]", read.ToString(), StringComparison.Ordinal);
        }

        // kv_flush is accepted and listed (these pods run without --enable-kvcache: nothing to clear).
        var flush = await ClusterChaos.AddAsync(http, a.Port, """{"kind":"kv_flush","target":{"pod":"pod-b"},"duration":"2s"}""");
        Assert.Contains(flush, await ClusterChaos.ListAsync(http, c.Port));
        await Poll.UntilAsync(() => ClusterChaos.ListAsync(http, c.Port), ids => !ids.Contains(flush), TimeSpan.FromSeconds(30), "kv_flush fault expiring");

        // An unknown pod is a 400 naming the field.
        var (status, body) = await ClusterChaos.PostAsync(http, a.Port, "/admin/chaos", """{"kind":"stall","target":{"pod":"pod-z"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("target.pod", body.GetProperty("error").GetProperty("param").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"http://127.0.0.1:{b.Port}/admin/chaos")).StatusCode);
        Assert.Empty(await ClusterChaos.ListAsync(http, a.Port));
    }

    [Fact]
    public async Task CtlPlaysAScenarioAcrossTheCluster()
    {
        await cluster.WaitForViewAsync(cluster.Pods[0], v => ThreePodCluster.HasReadyPods(v, All), Converge);
        var http = cluster.Http;
        var c = cluster.Pods[2];
        var path = Path.Combine(Path.GetTempPath(), $"orleanssim-scenario-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, """
            steps:
              - {at: 0s, kind: queue_full, target: {pod: pod-c, rank: 0}, for: 6s}
              - {at: 1s, kind: unready, target: {pod: pod-c, rank: 1}, for: 1s}
            """);
        try
        {
            var run = CtlProcess.RunAsync("chaos", "run", path, "--cluster-connection", cluster.RedisConnection, "--cluster-id", ThreePodCluster.ClusterId, "--connect-timeout", CtlProcess.ConnectTimeoutSeconds);
            await Poll.UntilAsync(() => ClusterChaos.StatusAsync(http, c.Port), s => s == HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(90), "pod-c rank 0 refusing with 429");
            var (exit, stdout, stderr) = await run;
            Assert.True(exit == 0, $"ctl failed: {stderr}");
            Assert.Contains("playing 2 steps", stdout, StringComparison.Ordinal);
            Assert.Contains("step 1 start: chaos-", stdout, StringComparison.Ordinal);
            Assert.Contains("queue_full on pod-c/0", stdout, StringComparison.Ordinal);
            Assert.Contains("step 2 start", stdout, StringComparison.Ordinal);
            Assert.True(stdout.IndexOf("step 2 end", StringComparison.Ordinal) < stdout.IndexOf("step 1 end", StringComparison.Ordinal), stdout);
            Assert.Contains("scenario finished", stdout, StringComparison.Ordinal);

            // Every step ended: nothing is left and pod-c serves again.
            Assert.Empty(await ClusterChaos.ListAsync(http, c.Port));
            Assert.Equal(HttpStatusCode.OK, await ClusterChaos.StatusAsync(http, c.Port));

            // list and clear, over Orleans and through a pod's URL.
            (exit, stdout, _) = await CtlProcess.RunAsync("chaos", "list", "--url", $"http://127.0.0.1:{c.Port}");
            Assert.Equal((0, "no chaos faults"), (exit, stdout.Trim()));
            await ClusterChaos.AddAsync(http, c.Port, """{"kind":"stall","target":{"pod":"pod-a","rank":1}}""");
            (exit, stdout, _) = await CtlProcess.RunAsync("chaos", "list", "--cluster-connection", cluster.RedisConnection, "--cluster-id", ThreePodCluster.ClusterId, "--connect-timeout", CtlProcess.ConnectTimeoutSeconds);
            Assert.Equal(0, exit);
            Assert.Contains("stall on pod-a/1", stdout, StringComparison.Ordinal);
            (exit, _, _) = await CtlProcess.RunAsync("chaos", "clear", "--url", $"http://127.0.0.1:{cluster.Pods[1].Port}");
            Assert.Equal(0, exit);
            Assert.Empty(await ClusterChaos.ListAsync(http, c.Port));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
