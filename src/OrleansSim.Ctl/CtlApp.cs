using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
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

          status                 print every live pod and rank of the cluster as a table
          --cluster-connection   Redis membership table (as the server's --cluster-connection); without it the
                                 client connects to a single local process on --gateway-port
          --cluster-id           Orleans cluster id (default: orleanssim)
          --service-id           Orleans service id (default: orleanssim)
          --gateway-port         gateway port of a single local process (default: 30000)
          --connect-timeout      seconds to wait for a gateway of the cluster (default: 10)
          --json                 print the view as JSON (the body of GET /cluster)

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

        if (args[0] != "status")
        {
            Console.Error.WriteLine($"error: unknown command '{args[0]}'\n{Usage}");
            return 2;
        }

        CtlOptions options;
        try
        {
            options = CtlOptions.Parse(args.AsSpan(1));
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
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
            var view = await ClusterView.ReadAsync(grains, options.ClusterId, TimeSpan.FromSeconds(3));
            Console.Out.WriteLine(options.Json ? view.ToJson() : FormatTable(view));
            await host.StopAsync();
            return 0;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"error: no gateway of cluster '{options.ClusterId}' answered within {options.ConnectTimeout.TotalSeconds:0} s (check --cluster-connection and --cluster-id)");
            return 1;
        }
        catch (Exception ex) when (ex is OrleansException or SiloUnavailableException or TimeoutException or RedisException)
        {
            Console.Error.WriteLine($"error: cannot read the cluster view of '{options.ClusterId}': {ex.Message}");
            return 1;
        }
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
