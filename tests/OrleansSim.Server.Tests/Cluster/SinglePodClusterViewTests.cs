using System.Text.Json;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Cluster;

/// <summary>The default (localhost) cluster of one: GET /cluster shows this pod and the live state of its ranks.</summary>
public sealed class SinglePodClusterViewTests
{
    [Fact]
    public async Task ClusterViewListsThisPodWithItsRanksAndTheirCounts()
    {
        await using var host = await SimHost.StartAsync(o => o with { MaxNumSeqs = 3 }, ranks: 2);
        var (response, _) = await host.ClientFor(1).PostJsonAsync("/v1/completions", """{"model": "test-model", "prompt": "hi", "max_tokens": 2}""");
        Assert.Equal(200, (int)response.StatusCode);

        using var cluster = await host.Client.GetAsync(new Uri("/cluster", UriKind.Relative));
        Assert.Equal(200, (int)cluster.StatusCode);
        Assert.Equal("application/json", cluster.Content.Headers.ContentType?.MediaType);
        var view = JsonDocument.Parse(await cluster.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("orleanssim", view.GetProperty("cluster_id").GetString());
        var pod = Assert.Single(view.GetProperty("pods").EnumerateArray());
        Assert.Equal("test-pod", pod.GetProperty("pod").GetString());
        Assert.Equal("ready", pod.GetProperty("health").GetString());
        Assert.Equal(host.Options.Port, pod.GetProperty("port").GetInt32());
        var ranks = pod.GetProperty("ranks").EnumerateArray().ToList();
        Assert.Equal([0, 1], ranks.Select(r => r.GetProperty("rank").GetInt32()));
        Assert.All(ranks, r => Assert.Equal(3, r.GetProperty("max_num_seqs").GetInt32()));
        Assert.Equal(0, ranks[0].GetProperty("admitted").GetInt64());
        Assert.Equal(1, ranks[1].GetProperty("admitted").GetInt64());
        Assert.Equal(1, ranks[1].GetProperty("completed").GetInt64());
        Assert.Equal(0, ranks[1].GetProperty("running").GetInt32());
        Assert.Equal(0, ranks[1].GetProperty("waiting").GetInt32());
    }
}
