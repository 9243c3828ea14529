using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using OrleansSim.Cluster.Tests.Infrastructure;
using OrleansSim.Core.Configuration;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Generation;

/// <summary>
/// --dataset-path end to end: <c>orleanssim-ctl dataset build</c> writes a dataset from recorded conversations, the
/// server answers those conversations with the recorded replies; --dataset-url downloads it while /ready is 503.
/// </summary>
public sealed class DatasetServerTests : IDisposable
{
    private const string Conversations = """
        {"id":"1","conversations":[{"from":"human","value":"What is the capital of France?"},{"from":"gpt","value":"The capital of France is Paris."},{"from":"human","value":"And of Italy?"},{"from":"gpt","value":"Rome is the capital of Italy."}]}
        {"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Name a primary colour."},{"role":"assistant","content":"Blue."}]}
        """;

    private static readonly string[] RecordedReplies = ["The capital of France is Paris.", "Rome is the capital of Italy.", "Blue."];

    private readonly string _dir = Directory.CreateTempSubdirectory("h12-dataset-server-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> BuildDatasetAsync()
    {
        var input = Path.Combine(_dir, "conversations.jsonl");
        await File.WriteAllTextAsync(input, Conversations);
        var output = Path.Combine(_dir, "data.sqlite");
        var (exit, stdout, stderr) = await CtlProcess.RunAsync("dataset", "build", "--input", input, "--output", output);
        Assert.True(exit == 0, stderr);
        Assert.Contains("wrote 6 records from 2 conversations", stdout, StringComparison.Ordinal);
        return output;
    }

    private static Task<SimHost> StartAsync(Func<SimulatorOptions, SimulatorOptions> configure) =>
        SimHost.StartAsync(o => configure(o with { Mode = SimulationMode.Random }));

    private static async Task WaitReadyAsync(SimHost host) =>
        await Poll.UntilAsync(async () => (int)(await host.Client.GetAsync(new Uri("/ready", UriKind.Relative))).StatusCode, s => s == 200, TimeSpan.FromSeconds(20), "/ready 200");

    private static async Task<string> ChatAsync(HttpClient client, string messages, int maxTokens = 50)
    {
        var (response, body) = await client.PostJsonAsync("/v1/chat/completions", $$"""{"model":"test-model","max_tokens":{{maxTokens}},"messages":{{messages}}}""");
        Assert.Equal(200, (int)response.StatusCode);
        return body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }

    [Fact]
    public async Task RecordedConversationsAreHitsAfterDatasetBuild()
    {
        var path = await BuildDatasetAsync();
        await using var host = await StartAsync(o => o with { DatasetPath = path });
        await WaitReadyAsync(host);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("The capital of France is Paris.", await ChatAsync(host.Client, """[{"role":"user","content":"What is the capital of France?"}]"""));
            Assert.Equal("Rome is the capital of Italy.", await ChatAsync(host.Client,
                """[{"role":"user","content":"What is the capital of France?"},{"role":"assistant","content":"The capital of France is Paris."},{"role":"user","content":"And of Italy?"}]"""));
            Assert.Equal("Blue.", await ChatAsync(host.Client, """[{"role":"system","content":"You are terse."},{"role":"user","content":"Name a primary colour."}]"""));
        }

        // A text completion of the user turn alone is a hit too (the tool writes both keys, as llm-d's does).
        var (_, completion) = await host.Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"And of Italy?","max_tokens":50}""");
        Assert.Equal("Rome is the capital of Italy.", completion.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("stop", completion.GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        // Trimmed to max_tokens ("length"), and streamed as ordinary token chunks.
        var (_, cut) = await host.Client.PostJsonAsync("/v1/chat/completions",
            """{"model":"test-model","max_tokens":2,"messages":[{"role":"user","content":"What is the capital of France?"}]}""");
        Assert.Equal("length", cut.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(2, cut.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.StartsWith(cut.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!, "The capital of France is Paris.", StringComparison.Ordinal);

        using var stream = await host.Client.PostStreamAsync("/v1/chat/completions",
            """{"model":"test-model","stream":true,"messages":[{"role":"user","content":"Name a primary colour."},{"role":"assistant","content":"Red."},{"role":"user","content":"What is the capital of France?"}]}""");
        var text = string.Concat((await Sse.ReadAllAsync(stream)).Where(e => !e.IsDone).Select(e => e.Json.GetProperty("choices"))
            .Where(c => c.GetArrayLength() > 0 && c[0].GetProperty("delta").TryGetProperty("content", out _))
            .Select(c => c[0].GetProperty("delta").GetProperty("content").GetString()));
        // Not recorded (a different history): a miss answers with some recorded reply.
        Assert.Contains(text, RecordedReplies);
    }

    [Fact]
    public async Task ReadyIs503UntilTheDownloadedDatasetIsOpen()
    {
        var source = await BuildDatasetAsync();
        var bytes = await File.ReadAllBytesAsync(source);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var served = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            using var net = client.GetStream();
            var buffer = new byte[4096];
            var request = new StringBuilder();
            while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                request.Append(Encoding.ASCII.GetString(buffer, 0, await net.ReadAsync(buffer)));
            }

            await net.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n"));
            await net.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
            await net.FlushAsync();
            await release.Task; // the download stays half done until the test has seen the 503s
            await net.WriteAsync(bytes.AsMemory(bytes.Length / 2));
        });

        var path = Path.Combine(_dir, "downloaded", "data.sqlite");
        var url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/data.sqlite";
        await using var host = await StartAsync(o => o with { DatasetPath = path, DatasetUrl = url });

        using (var ready = await host.Client.GetAsync(new Uri("/ready", UriKind.Relative)))
        {
            Assert.Equal(503, (int)ready.StatusCode);
        }

        var (refused, error) = await host.Client.PostJsonAsync("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(503, (int)refused.StatusCode);
        Assert.Contains("dataset", error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        release.SetResult();
        await served;
        await WaitReadyAsync(host);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
        Assert.Equal("Blue.", await ChatAsync(host.Client, """[{"role":"system","content":"You are terse."},{"role":"user","content":"Name a primary colour."}]"""));
    }

    [Fact]
    public async Task BadDownloadStatusStopsTheProcessWithAnError()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var served = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            using var net = client.GetStream();
            var buffer = new byte[4096];
            _ = await net.ReadAsync(buffer);
            await net.WriteAsync("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
        });
        var path = Path.Combine(_dir, "never", "data.sqlite");
        var url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/data.sqlite";
        var port = FreePorts.One();
        await using var process = SimProcess.Start(["--model", "m", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--silo-port", FreePorts.One().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--gateway-port", FreePorts.One().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--dataset-path", path, "--dataset-url", url]);
        var exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        await served;
        Assert.NotEqual(0, exit);
        Assert.Contains("error: dataset download bad status: 403 Forbidden", process.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }
}
