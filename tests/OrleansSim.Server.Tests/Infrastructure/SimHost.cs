using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Tokenization;
using OrleansSim.Server.Hosting;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>
/// The real simulator host (co-hosted silo + Kestrel on real loopback sockets) started in the test
/// process on free ports; tests talk to it over HTTP only.
/// </summary>
public sealed class SimHost : IAsyncDisposable
{
    private static readonly Lazy<ISimTokenizer> Tokenizer = new(() => TokenizerFactory.Create(null));

    private readonly WebApplication _app;
    private readonly Dictionary<int, HttpClient> _clients = [];

    private SimHost(WebApplication app, SimulatorOptions options, LogCapture logs)
    {
        _app = app;
        Options = options;
        Logs = logs;
    }

    public SimulatorOptions Options { get; }

    /// <summary>What the host logged (warnings and above).</summary>
    public LogCapture Logs { get; }

    /// <summary>The host's services, for tests that drive the real grains in its silo (<c>IGrainFactory</c>) or read its meters.</summary>
    public IServiceProvider Services => _app.Services;

    public static ISimTokenizer SharedTokenizer => Tokenizer.Value;

    public HttpClient Client => ClientFor(0);

    public static SimulatorOptions Defaults(int ranks = 1) => new()
    {
        Model = "test-model",
        ServedModelNames = ["test-model", "alias-model"],
        Host = "127.0.0.1",
        Port = FreePorts.Consecutive(ranks),
        DataParallelSize = ranks,
        SiloPort = FreePorts.One(),
        GatewayPort = FreePorts.One(),
        Mode = SimulationMode.Echo,
        Seed = 42,
        PodName = "test-pod",
        ShutdownTimeout = TimeSpan.FromSeconds(5),
    };

    public static async Task<SimHost> StartAsync(Func<SimulatorOptions, SimulatorOptions>? configure = null, int ranks = 1)
    {
        var options = Defaults(ranks);
        if (configure is not null)
        {
            options = configure(options);
        }

        var logs = new LogCapture();
        var app = SimulatorHost.Build(options, SharedTokenizer, logging => logging.SetMinimumLevel(LogLevel.Warning).AddProvider(logs));
        await app.StartAsync();
        return new SimHost(app, options, logs);
    }

    public Uri BaseUri(int rank = 0) => new($"http://127.0.0.1:{Options.Port + rank}");

    public HttpClient ClientFor(int rank)
    {
        lock (_clients)
        {
            if (!_clients.TryGetValue(rank, out var client))
            {
                client = new HttpClient { BaseAddress = BaseUri(rank), Timeout = TimeSpan.FromSeconds(60) };
                _clients[rank] = client;
            }

            return client;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
