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
        var (exit, stdout, stderr) = await CtlProcess.RunAsync("status", "--cluster-connection", cluster.RedisConnection, "--cluster-id", ThreePodCluster.ClusterId);
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
        Assert.StartsWith("error: no gateway of cluster 'no-such-cluster'", stderr.Trim(), StringComparison.Ordinal);
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
}
