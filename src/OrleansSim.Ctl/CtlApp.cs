using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using OrleansSim.Core.Chaos;
using OrleansSim.Grains.Chaos;
using OrleansSim.Grains.Cluster;
using StackExchange.Redis;

namespace OrleansSim.Ctl;

/// <summary>
/// <c>orleanssim-ctl</c>: an Orleans client that joins a simulator cluster through its membership table
/// (Redis) or a single process's gateway, and reads the same cluster view as <c>GET /cluster</c>.
/// </summary>
public static class CtlApp
{
    private const string Usage = """
        Usage: orleanssim-ctl status [--cluster-connection HOST:PORT] [--cluster-id ID] [--service-id ID] [--gateway-port N] [--connect-timeout S] [--json]
               orleanssim-ctl chaos run SCENARIO.yaml [--url URL | cluster flags]
               orleanssim-ctl chaos list [--url URL | cluster flags] [--json]
               orleanssim-ctl chaos clear [--url URL | cluster flags]

          status                 print every live pod and rank of the cluster as a table
          chaos run FILE         play a chaos scenario (docs/chaos.md), printing each step as it starts and ends
          chaos list             print every active fault of the cluster
          chaos clear            remove every fault of the cluster
          --cluster-connection   Redis membership table (as the server's --cluster-connection); without it the
                                 client connects to a single local process on --gateway-port
          --cluster-id           Orleans cluster id (default: orleanssim)
          --service-id           Orleans service id (default: orleanssim)
          --gateway-port         gateway port of a single local process (default: 30000)
          --connect-timeout      seconds to wait for a gateway of the cluster (default: 10)
          --url                  chaos over HTTP through any pod's rank port (e.g. http://pod-0:8000) instead of Orleans
          --admin-token          bearer token for --url when the pod has --admin-token (env ORLEANSSIM_ADMIN_TOKEN)
          --json                 print JSON (status: the body of GET /cluster; chaos list: the body of GET /admin/chaos)

        Usage: orleanssim-ctl dataset build --input conversations.jsonl --output data.sqlite [--tokenizer tokenizer.json] [--table-name llmd]

          dataset build          write a SQLite dataset for the server's --dataset-path (docs/datasets.md)
          --input                JSON Lines (or a JSON array) of ShareGPT {"conversations":[{"from","value"}]}
                                 or OpenAI {"messages":[{"role","content"}]} records
          --output               the SQLite file to create (must not exist)
          --tokenizer            the Hugging Face tokenizer.json the server runs with (default: built-in o200k_base)
          --table-name           table name, as the server's --dataset-table-name (default: llmd)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        if (args[0] == "dataset")
        {
            return DatasetCommand.Run(args.AsSpan(1), Usage);
        }

        string? chaosCommand = null;
        string? scenarioPath = null;
        var rest = args.AsSpan(1);
        switch (args[0])
        {
            case "status":
                break;
            case "chaos" when args.Length >= 2 && args[1] is "list" or "clear":
                chaosCommand = args[1];
                rest = args.AsSpan(2);
                break;
            case "chaos" when args.Length >= 3 && args[1] == "run":
                chaosCommand = "run";
                scenarioPath = args[2];
                rest = args.AsSpan(3);
                break;
            case "chaos":
                Console.Error.WriteLine($"error: chaos needs 'run SCENARIO.yaml', 'list' or 'clear'\n{Usage}");
                return 2;
            default:
                Console.Error.WriteLine($"error: unknown command '{args[0]}'\n{Usage}");
                return 2;
        }

        CtlOptions options;
        ChaosScenario? scenario = null;
        try
        {
            options = CtlOptions.Parse(rest);
            scenario = scenarioPath is null ? null : ChaosScenario.Load(scenarioPath);
        }
        catch (Exception ex) when (ex is FormatException or ChaosFormatException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }

        if (chaosCommand is not null && options.Url is { } url)
        {
            using var http = new HttpChaosControl(url, options.AdminToken);
            return await RunChaosAsync(chaosCommand, scenario, options, http, () => http.ListAsync(CancellationToken.None), () => http.ClearAsync(CancellationToken.None));
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None); // a failed connect is reported in one line below
        builder.UseOrleansClient(client =>
        {
            if (options.ClusterConnection is { } connection)
            {
                client.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(connection));
            }
            else
            {
                client.UseLocalhostClustering(options.GatewayPort);
            }

            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = options.ServiceId;
            });
        });

        using var host = builder.Build();
        try
        {
            using var connect = new CancellationTokenSource(options.ConnectTimeout);
            await host.StartAsync(connect.Token);
            var grains = host.Services.GetRequiredService<IGrainFactory>();
            int exit;
            if (chaosCommand is not null)
            {
                // Steps without a target go to every pod: a client is no pod of its own.
                var control = new GrainChaosControl(grains, ChaosTarget.AllPods, TimeProvider.System);
                exit = await RunChaosAsync(chaosCommand, scenario, options, control, control.ListAsync, control.ClearAsync);
            }
            else
            {
                var view = await ClusterView.ReadAsync(grains, options.ClusterId, TimeSpan.FromSeconds(3));
                Console.Out.WriteLine(options.Json ? view.ToJson() : FormatTable(view));
                exit = 0;
            }

            await host.StopAsync();
            return exit;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"error: no gateway of cluster '{options.ClusterId}' answered within {options.ConnectTimeout.TotalSeconds:0} s (check --cluster-connection and --cluster-id)");
            return 1;
        }
        catch (Exception ex) when (ex is OrleansException or SiloUnavailableException or TimeoutException or RedisException)
        {
            Console.Error.WriteLine($"error: cannot reach the cluster '{options.ClusterId}': {ex.Message}");
            return 1;
        }
    }

    private static async Task<int> RunChaosAsync(string command, ChaosScenario? scenario, CtlOptions options, IChaosControl control,
        Func<Task<IReadOnlyList<ChaosFault>>> list, Func<Task> clear)
    {
        try
        {
            switch (command)
            {
                case "run":
                    Console.Out.WriteLine($"playing {scenario!.Steps.Count} steps");
                    await ChaosScenarioPlayer.PlayAsync(scenario, control, TimeProvider.System, Console.Out.WriteLine, CancellationToken.None);
                    Console.Out.WriteLine("scenario finished");
                    return 0;
                case "list":
                    var faults = await list();
                    Console.Out.WriteLine(options.Json ? FaultsJson(faults) : FormatFaults(faults));
                    return 0;
                default:
                    await clear();
                    Console.Out.WriteLine("cleared every chaos fault");
                    return 0;
            }
        }
        catch (Exception ex) when (ex is ChaosFormatException or HttpRequestException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }

    /// <summary>One line per fault: id, kind, target, parameters, expiry.</summary>
    public static string FormatFaults(IReadOnlyList<ChaosFault> faults)
    {
        if (faults.Count == 0)
        {
            return "no chaos faults";
        }

        var sb = new StringBuilder();
        foreach (var fault in faults)
        {
            sb.Append(fault.Id).Append("  ").Append(fault.Describe())
                .AppendLine(fault.ExpiresAt is { } end ? $"  until {end.UtcDateTime:O}" : "  until cleared");
        }

        return sb.ToString().TrimEnd();
    }

    private static string FaultsJson(IReadOnlyList<ChaosFault> faults)
    {
        using var buffer = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer, new System.Text.Json.JsonWriterOptions { Indented = true }))
        {
            ChaosFault.WriteList(w, faults);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>One header line, then one row per rank (one row with rank '-' for a pod that did not answer).</summary>
    public static string FormatTable(ClusterView view)
    {
        string[] header = ["POD", "RANK", "ADDRESS", "HEALTH", "RUNNING", "WAITING", "MAX-SEQS", "ADMITTED", "COMPLETED"];
        var rows = new List<string[]> { header };
        foreach (var pod in view.Pods)
        {
            if (pod.Ranks.Count == 0)
            {
                rows.Add([pod.Pod, "-", pod.Address, pod.Health, "-", "-", "-", "-", "-"]);
            }

            foreach (var rank in pod.Ranks)
            {
                rows.Add([
                    pod.Pod, Text(rank.Rank), $"{pod.Address}:{Text(pod.Port + rank.Rank)}", pod.Health,
                    Text(rank.Running), Text(rank.Waiting), Text(rank.MaxNumSeqs), Text(rank.Admitted), Text(rank.Completed),
                ]);
            }
        }

        var widths = Enumerable.Range(0, header.Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"cluster {view.ClusterId}: {view.Pods.Count} pods, {view.Pods.Sum(p => p.Ranks.Count)} ranks").AppendLine();
        foreach (var row in rows)
        {
            sb.AppendLine(string.Join("  ", row.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
        }

        return sb.ToString().TrimEnd();
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}
