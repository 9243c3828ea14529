using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>The server executable, started once for <see cref="NodeSdkTests"/>: random mode, fixed seed, one rank.</summary>
public sealed class NodeSdkServerFixture : IAsyncLifetime
{
    public const string Model = "Qwen/Qwen2.5-1.5B-Instruct";

    public SimProcess Server { get; private set; } = null!;

    public string Url { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var port = FreePorts.One();
        string[] args =
        [
            "--model", Model, "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture),
            "--silo-port", FreePorts.One().ToString(CultureInfo.InvariantCulture),
            "--gateway-port", FreePorts.One().ToString(CultureInfo.InvariantCulture),
            "--mode", "random", "--seed", "42",
        ];
        Server = SimProcess.Start(args);
        await Server.WaitUntilReadyAsync(port, TimeSpan.FromSeconds(60));
        Url = $"http://127.0.0.1:{port}";
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The official Node SDKs (<c>openai</c>, <c>@anthropic-ai/sdk</c>, pinned in tests/node-clients/package-lock.json)
/// against the real server executable: each script in tests/node-clients drives one surface through the SDK's own
/// methods (create, stream helpers, tools) and exits non-zero naming the first wire mismatch. Needs Node.js on the
/// PATH and <c>npm ci --prefix tests/node-clients</c> (test.sh runs it); without them the tests fail, they never skip.
/// </summary>
public sealed class NodeSdkTests(NodeSdkServerFixture fixture) : IClassFixture<NodeSdkServerFixture>
{
    private static readonly string ClientsDir = Path.Combine(RepoRoot.Path, "tests", "node-clients");

    [Theory]
    [InlineData("responses", 9)]
    [InlineData("chat", 7)]
    [InlineData("completions", 5)]
    [InlineData("embeddings", 5)]
    [InlineData("anthropic", 7)]
    public async Task ScriptPassesAgainstTheServer(string script, int steps)
    {
        Assert.True(Directory.Exists(Path.Combine(ClientsDir, "node_modules", "openai")) && Directory.Exists(Path.Combine(ClientsDir, "node_modules", "@anthropic-ai", "sdk")),
            $"the Node SDKs are not installed: run `npm ci --prefix {ClientsDir}` first (test.sh does)");

        var (exit, stdout, stderr) = await RunNodeAsync(Path.Combine(ClientsDir, script + ".mjs"), fixture.Url);

        Assert.True(exit == 0 && stdout.Contains($"{script}: all {steps} steps passed", StringComparison.Ordinal),
            $"node {script}.mjs {fixture.Url} exited {exit}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server stderr (tail)\n{Tail(fixture.Server.Stderr)}");
    }

    /// <summary>Runs <c>node &lt;script&gt; &lt;url&gt;</c> in tests/node-clients; a missing node binary fails the test with a clear message.</summary>
    private static async Task<(int Exit, string Stdout, string Stderr)> RunNodeAsync(string script, string url)
    {
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = ClientsDir };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(url);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"Node.js is needed to run the Node SDK scripts, but `node` could not be started ({e.Message}); install Node.js 20 or later and npm");
            throw;
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                Assert.Fail($"node {Path.GetFileName(script)} did not finish within 180 s\n--- stdout\n{await stdout}\n--- stderr\n{await stderr}");
            }

            return (process.ExitCode, await stdout, await stderr);
        }
    }

    private static string Tail(string text)
    {
        var lines = text.Split('\n');
        return new StringBuilder().AppendJoin('\n', lines.Skip(Math.Max(0, lines.Length - 30))).ToString();
    }
}
