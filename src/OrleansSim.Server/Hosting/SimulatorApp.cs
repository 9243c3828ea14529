using OrleansSim.Core.Configuration;
using OrleansSim.Core.Tokenization;

namespace OrleansSim.Server.Hosting;

/// <summary>
/// The executable's flow: parse and validate the configuration (one line and exit code 2 on a user
/// error), print it once as JSON, start every rank, run until SIGTERM/SIGINT, drain, exit 0.
/// </summary>
public static class SimulatorApp
{
    public const int ConfigError = 2;
    public const int StartupError = 1;

    public static async Task<int> RunAsync(string[] args)
    {
        if (OptionsLoader.IsHelpRequested(args))
        {
            Console.Out.WriteLine(OptionsLoader.HelpText());
            return 0;
        }

        SimulatorOptions options;
        try
        {
            options = OptionsLoader.Load(args);
        }
        catch (OptionsException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return ConfigError;
        }

        // The tokenizer loads on another core while the host is built; the process listens only once it has loaded.
        var tokenizer = TokenizerFactory.StartLoading(options.Tokenizer);

        // The configuration as JSON either way: indented for people, one record among the others for log pipelines.
        Console.Out.WriteLine(options.LogFormat == LogFormat.Json ? Observability.ObservabilitySetup.ConfigurationRecord(options) : OptionsJson.Serialize(options));
        if (FirstBusyPort(options) is { } busy)
        {
            Console.Error.WriteLine($"error: {busy}");
            return StartupError;
        }

        WebApplication built;
        try
        {
            built = SimulatorHost.Build(options, tokenizer);
        }
        catch (Exception ex) when (ex is TlsSetupException or TokenizerLoadException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return ConfigError;
        }

        await using var app = built;
        try
        {
            await tokenizer.Loaded;
        }
        catch (TokenizerLoadException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return ConfigError;
        }

        try
        {
            await app.StartAsync();
        }
        catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException || ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine($"error: {PortInUse(options, ex)}");
            return StartupError;
        }
        catch (Exception ex) when (IsAddressInUse(ex))
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return StartupError;
        }
        catch (Exception ex) when (Find<Cluster.DuplicatePodException>(ex) is { } duplicate)
        {
            Console.Error.WriteLine($"error: {duplicate.Message}");
            return StartupError;
        }

        await app.WaitForShutdownAsync();
        if (app.Services.GetRequiredService<Readiness>().StartupFailure is { } failure)
        {
            Console.Error.WriteLine($"error: {failure}");
            return StartupError;
        }

        return 0;
    }

    /// <summary>Checks every rank port before the silo starts, so a taken port fails fast with one line.</summary>
    private static string? FirstBusyPort(SimulatorOptions options)
    {
        for (var rank = 0; rank < options.DataParallelSize; rank++)
        {
            var port = options.Port + rank;
            try
            {
                using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, port);
                probe.Start();
            }
            catch (System.Net.Sockets.SocketException)
            {
                return $"port {port} (--port {options.Port} + rank {rank}) is already in use";
            }
        }

        return null;
    }

    private static string PortInUse(SimulatorOptions options, IOException ex)
    {
        for (var rank = 0; rank < options.DataParallelSize; rank++)
        {
            var port = options.Port + rank;
            if (ex.Message.Contains($":{port}", StringComparison.Ordinal))
            {
                return $"port {port} (--port {options.Port} + rank {rank}) is already in use";
            }
        }

        return $"a port in {options.Port}..{options.Port + options.DataParallelSize - 1} is already in use: {ex.Message}";
    }

    /// <summary>The exception of type <typeparamref name="T"/> behind <paramref name="ex"/> (the silo's lifecycle wraps what its stages throw).</summary>
    private static T? Find<T>(Exception? ex)
        where T : Exception => ex switch
        {
            null => null,
            T found => found,
            AggregateException agg => agg.InnerExceptions.Select(Find<T>).FirstOrDefault(e => e is not null),
            _ => Find<T>(ex.InnerException),
        };

    /// <summary>The Orleans silo or gateway port is taken (another simulator on this machine).</summary>
    private static bool IsAddressInUse(Exception ex) =>
        ex is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse }
        || (ex.InnerException is not null && IsAddressInUse(ex.InnerException))
        || (ex is AggregateException agg && agg.InnerExceptions.Any(IsAddressInUse));
}
