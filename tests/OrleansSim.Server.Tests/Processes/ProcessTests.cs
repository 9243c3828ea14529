using System.Globalization;
using System.Text.Json;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Processes;

/// <summary>The executable itself: configuration errors, startup output, ports, SIGTERM drain.</summary>
public sealed class ProcessTests
{
    private static string[] Args(int port, params string[] extra) =>
    [
        "--model", "proc-model", "--port", port.ToString(CultureInfo.InvariantCulture), "--host", "127.0.0.1",
        "--silo-port", FreePorts.One().ToString(CultureInfo.InvariantCulture),
        "--gateway-port", FreePorts.One().ToString(CultureInfo.InvariantCulture), .. extra,
    ];

    [Theory]
    [InlineData("--port", "0", "--port")]
    [InlineData("--data-parallel-size", "9", "--data-parallel-size")]
    [InlineData("--data-parallel-size", "0", "--data-parallel-size")]
    [InlineData("--time-to-first-token", "-5", "--time-to-first-token")]
    [InlineData("--mode", "chaos", "--mode")]
    [InlineData("--no-such-flag", "1", "--no-such-flag")]
    public async Task BadConfigurationExitsNonZeroWithOneLineNamingTheFlag(string flag, string value, string named)
    {
        await using var process = SimProcess.Start(["--model", "m", flag, value]);
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, code);
        var lines = process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(named, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", process.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingModelExitsNonZero()
    {
        await using var process = SimProcess.Start(["--port", "8123"]);
        Assert.NotEqual(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("--model", process.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreadableYamlExitsNonZero()
    {
        var path = Path.Combine(Path.GetTempPath(), $"orleanssim-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, "model: [unclosed\n  port: : :");
        try
        {
            await using var process = SimProcess.Start(["--config", path]);
            Assert.NotEqual(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains(path, process.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task StartsPrintsConfigAndOneLinePerRank()
    {
        var port = FreePorts.Consecutive(2);
        await using var process = SimProcess.Start(Args(port, "--data-parallel-size", "2"));
        await process.WaitUntilReadyAsync(port, TimeSpan.FromSeconds(60));
        await process.WaitUntilReadyAsync(port + 1, TimeSpan.FromSeconds(10));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!process.Stdout.Contains($"port={port + 1}", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var stdout = process.Stdout;
        var jsonStart = stdout.IndexOf('{', StringComparison.Ordinal);
        var jsonEnd = stdout.IndexOf("\n}", StringComparison.Ordinal);
        var config = JsonDocument.Parse(stdout[jsonStart..(jsonEnd + 2)]).RootElement;
        Assert.Equal("proc-model", config.GetProperty("model").GetString());
        Assert.Contains($"port={port}", stdout, StringComparison.Ordinal);
        Assert.Contains($"port={port + 1}", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PortInUseExitsNonZeroNamingThePort()
    {
        var port = FreePorts.Consecutive(2);
        using var blocker = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port + 1);
        blocker.Start();
        await using var process = SimProcess.Start(Args(port, "--data-parallel-size", "2"));
        Assert.NotEqual(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains((port + 1).ToString(CultureInfo.InvariantCulture), process.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SigtermDrainsARunningStreamThenExitsZero()
    {
        var port = FreePorts.One();
        await using var process = SimProcess.Start(Args(port, "--mode", "echo", "--inter-token-latency", "100ms", "--shutdown-timeout", "20s"));
        await process.WaitUntilReadyAsync(port, TimeSpan.FromSeconds(60));
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using var response = await client.PostStreamAsync("/v1/chat/completions",
            """{"model":"proc-model","stream":true,"max_tokens":20,"ignore_eos":true,"messages":[{"role":"user","content":"drain me"}]}""");
        Assert.Equal(200, (int)response.StatusCode);
        var reading = Sse.ReadAllAsync(response);
        await Task.Delay(300);
        process.Signal("TERM");

        // While the stream drains the listener still accepts: /ready answers 503 and new work gets vLLM's 503.
        using var probe = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        var readyStatus = 0;
        for (var i = 0; i < 40 && readyStatus != 503; i++)
        {
            using var ready = await probe.GetAsync("/ready");
            readyStatus = (int)ready.StatusCode;
            if (readyStatus != 503)
            {
                await Task.Delay(50);
            }
        }

        Assert.Equal(503, readyStatus);
        var (rejected, rejectedBody) = await probe.PostJsonAsync("/v1/chat/completions", """{"model":"proc-model","messages":[{"role":"user","content":"late"}]}""");
        Assert.Contains("shutting down", Http.AssertError(rejected, rejectedBody, 503, "ServiceUnavailableError"), StringComparison.Ordinal);
        var events = await reading;
        Assert.True(events[^1].IsDone);
        var tokens = events.Count(e => !e.IsDone && e.Json.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) && c.GetString()!.Length > 0);
        Assert.Equal(20, tokens);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}
