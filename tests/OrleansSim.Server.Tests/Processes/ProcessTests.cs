using System.Globalization;
using System.Net;
using System.Net.Sockets;
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
        using var blocker = new TcpListener(System.Net.IPAddress.Loopback, port + 1);
        blocker.Start();
        await using var process = SimProcess.Start(Args(port, "--data-parallel-size", "2"));
        Assert.NotEqual(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains((port + 1).ToString(CultureInfo.InvariantCulture), process.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SigtermClosesTheListenerWhileARunningStreamFinishesThenExitsZero()
    {
        var port = FreePorts.One();
        // 100 tokens 100 ms apart: the stream runs ~10 s after the signal, far longer than the listener takes to close.
        await using var process = SimProcess.Start(Args(port, "--mode", "echo", "--inter-token-latency", "100ms", "--shutdown-timeout", "30s"));
        await process.WaitUntilReadyAsync(port, TimeSpan.FromSeconds(60));
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };

        using var response = await client.PostStreamAsync("/v1/chat/completions",
            """{"model":"proc-model","stream":true,"max_tokens":100,"ignore_eos":true,"messages":[{"role":"user","content":"drain me"}]}""");
        Assert.Equal(200, (int)response.StatusCode);
        var reading = Sse.ReadAllAsync(response);
        process.Signal("TERM");

        // As vLLM's server (uvicorn) does: the listener closes at once, so a new connection is refused while the stream
        // that was already running goes on.
        SocketError? refused = null;
        for (var i = 0; i < 200 && refused is null; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                await Task.Delay(50);
            }
            catch (SocketException e)
            {
                refused = e.SocketErrorCode;
            }
        }

        Assert.Equal(SocketError.ConnectionRefused, refused);
        Assert.False(reading.IsCompleted, "the listener should close while the stream still runs");
        Assert.False(process.HasExited);

        var events = await reading;
        Assert.True(events[^1].IsDone);
        var tokens = events.Count(e => !e.IsDone && e.Json.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) && c.GetString()!.Length > 0);
        Assert.Equal(100, tokens);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Drained in", process.Stdout, StringComparison.Ordinal);
        Assert.Contains("0 requests still in flight", process.Stdout, StringComparison.Ordinal);
    }
}
