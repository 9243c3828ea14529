using OrleansSim.Cluster.Tests.Infrastructure;

namespace OrleansSim.Cluster.Tests;

/// <summary>orleanssim-ctl against the default single process (localhost clustering), through its gateway port.</summary>
public sealed class CtlLocalhostTests
{
    [Fact]
    public async Task StatusReadsASingleProcessThroughItsGatewayPort()
    {
        var port = FreePorts.Consecutive(3);
        var gateway = FreePorts.One();
        await using var process = SimProcess.Start(
            ["--model", "m", "--port", $"{port}", "--data-parallel-size", "3", "--silo-port", $"{FreePorts.One()}", "--gateway-port", $"{gateway}"],
            new Dictionary<string, string> { ["POD_NAME"] = "solo" });
        // Generous: this test runs next to the three-pod cluster's start; on a loaded 2-core machine that takes over a minute.
        await process.WaitUntilReadyAsync(port, TimeSpan.FromSeconds(120));

        var (exit, stdout, stderr) = await CtlProcess.RunAsync("status", "--gateway-port", $"{gateway}", "--json", "--connect-timeout", CtlProcess.ConnectTimeoutSeconds);
        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        var view = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        var pod = Assert.Single(view.GetProperty("pods").EnumerateArray());
        Assert.Equal("solo", pod.GetProperty("pod").GetString());
        Assert.Equal(3, pod.GetProperty("ranks").GetArrayLength());
    }
}
