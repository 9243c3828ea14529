using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using OrleansSim.Cluster.Tests.Infrastructure;

namespace OrleansSim.Cluster.Tests;

/// <summary>
/// Ranks are placed by pod name, so a second live pod with a taken POD_NAME must not join: it exits non-zero with
/// one line naming the pod, and the first pod keeps its ranks. Runs alone (after the parallel classes): its redis-server
/// and two processes on top of the three-pod cluster's start-up slowed every start past its bound on a busy machine.
/// </summary>
[Collection(nameof(DuplicatePodNameTests))]
public sealed class DuplicatePodNameTests
{
    private const string ClusterId = "duplicate-name-tests";

    [Fact]
    public async Task ASecondLivePodWithTheSameNameIsRefusedAndTheFirstKeepsServing()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var first = new SimPod("pod-twin", redis.Connection, ClusterId, dataParallelSize: 1);
        await first.StartAsync();

        await using var second = new SimPod("pod-twin", redis.Connection, ClusterId, dataParallelSize: 1);
        var process = await second.LaunchAsync();
        Assert.Equal(1, await process.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        var error = Assert.Single(process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(
            $"error: pod name 'pod-twin' is already taken in cluster '{ClusterId}' by the live silo at 127.0.0.1:{first.SiloPort}; give every pod its own POD_NAME",
            error.TrimEnd());

        // It never listened.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(() => socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, second.Port)));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        // The first pod still owns its name and rank: it serves, and the view lists it once, on its own port.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await CompleteAsync(http, first.Port);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("pod-twin", response.Headers.GetValues("x-inference-pod").Single());
        using var view = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{first.Port}/cluster")));
        var pod = Assert.Single(view.RootElement.GetProperty("pods").EnumerateArray());
        Assert.Equal("pod-twin", pod.GetProperty("pod").GetString());
        Assert.Equal(first.Port, pod.GetProperty("port").GetInt32());
        Assert.Equal("ready", pod.GetProperty("health").GetString());
        Assert.Equal(1, Assert.Single(pod.GetProperty("ranks").EnumerateArray()).GetProperty("completed").GetInt32());
    }

    private static Task<HttpResponseMessage> CompleteAsync(HttpClient http, int port) =>
        http.PostAsync(
            new Uri($"http://127.0.0.1:{port}/v1/completions"),
            new StringContent("""{"model":"m","prompt":"hello twin","max_tokens":3}""", Encoding.UTF8, "application/json"));
}

[CollectionDefinition(nameof(DuplicatePodNameTests), DisableParallelization = true)]
public sealed class DuplicatePodNameCollection;
