using System.Text.Json;

namespace OrleansSim.Cluster.Tests.Infrastructure;

/// <summary>A real redis-server and three simulator processes (DP 2 each) joined into one Orleans cluster through it.</summary>
public sealed class ThreePodCluster : IAsyncLifetime
{
    public const string ClusterId = "cluster-tests";

    public static readonly string[] Names = ["pod-a", "pod-b", "pod-c"];

    private RedisServer? _redis;

    public IReadOnlyList<SimPod> Pods { get; private set; } = [];

    public string RedisConnection => _redis!.Connection;

    // No pooled connections: a test kills a pod and restarts it on the same port, and a kept-alive connection to the
    // dead process would answer the next test's first request with a reset.
    public HttpClient Http { get; } = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(10) };

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        Pods = [.. Names.Select(name => new SimPod(name, _redis.Connection, ClusterId, dataParallelSize: 2))];
        await Task.WhenAll(Pods.Select(p => p.StartAsync()));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var pod in Pods)
        {
            await pod.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        Http.Dispose();
    }

    public async Task<JsonElement> GetClusterAsync(SimPod via)
    {
        var text = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{via.Port}/cluster"));
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>Polls <c>GET /cluster</c> on <paramref name="via"/> until <paramref name="done"/> holds; returns the last view and the time it took.</summary>
    public async Task<(JsonElement View, TimeSpan Elapsed)> WaitForViewAsync(SimPod via, Func<JsonElement, bool> done, TimeSpan timeout)
    {
        var started = DateTime.UtcNow;
        JsonElement last = default;
        while (DateTime.UtcNow - started < timeout)
        {
            try
            {
                last = await GetClusterAsync(via);
                if (done(last))
                {
                    return (last, DateTime.UtcNow - started);
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"view on {via.Name} did not converge within {timeout}: {(last.ValueKind == JsonValueKind.Undefined ? "(none)" : last.ToString())}");
    }

    public static string[] PodNames(JsonElement view) =>
        [.. view.GetProperty("pods").EnumerateArray().Select(p => p.GetProperty("pod").GetString()!)];

    /// <summary>The view lists exactly <paramref name="names"/>, each ready with all its ranks.</summary>
    public static bool HasReadyPods(JsonElement view, params string[] names) =>
        PodNames(view).SequenceEqual(names)
        && view.GetProperty("pods").EnumerateArray().All(p => p.GetProperty("health").GetString() == "ready" && p.GetProperty("ranks").GetArrayLength() == 2);
}
