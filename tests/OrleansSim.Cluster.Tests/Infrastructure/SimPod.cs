namespace OrleansSim.Cluster.Tests.Infrastructure;

/// <summary>One simulator process playing a pod of a Redis-clustered simulator: its own name, rank ports, silo and gateway ports.</summary>
public sealed class SimPod(string name, string redisConnection, string clusterId, int dataParallelSize) : IAsyncDisposable
{
    private readonly int _port = FreePorts.Consecutive(dataParallelSize);
    private readonly int _siloPort = FreePorts.One();
    private readonly int _gatewayPort = FreePorts.One();

    public string Name { get; } = name;

    public int DataParallelSize { get; } = dataParallelSize;

    public IEnumerable<int> Ports => Enumerable.Range(_port, DataParallelSize);

    public int Port => _port;

    public int SiloPort => _siloPort;

    public SimProcess? Process { get; private set; }

    /// <summary>Starts the process (again, after a kill: same name and ports, as a restarted pod) and waits for /ready.</summary>
    public async Task StartAsync()
    {
        await LaunchAsync();
        // Generous: three pods start at once, and on a loaded 2-core machine a silo may take over a minute to join.
        await Process!.WaitUntilReadyAsync(_port, TimeSpan.FromSeconds(120));
    }

    /// <summary>Starts the process without waiting for it to serve (for pods expected to refuse to start).</summary>
    public async Task<SimProcess> LaunchAsync()
    {
        if (Process is not null)
        {
            await Process.DisposeAsync();
        }

        Process = SimProcess.Start(
            [
                "--model", "m", "--mode", "echo", "--port", $"{_port}", "--data-parallel-size", $"{DataParallelSize}",
                "--silo-port", $"{_siloPort}", "--gateway-port", $"{_gatewayPort}",
                "--cluster-provider", "redis", "--cluster-connection", redisConnection, "--cluster-id", clusterId,
                "--shutdown-timeout", "1s",
            ],
            new Dictionary<string, string> { ["POD_NAME"] = Name, ["POD_NAMESPACE"] = "sim" });
        return Process;
    }

    /// <summary>kill -9: no drain, no goodbye to the cluster.</summary>
    public async Task KillAsync()
    {
        var process = Process!;
        process.Signal("KILL");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!process.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(process.HasExited, $"{Name} survived kill -9");
    }

    public async ValueTask DisposeAsync()
    {
        if (Process is not null)
        {
            await Process.DisposeAsync();
        }
    }
}
