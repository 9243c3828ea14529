using System.Globalization;

namespace OrleansSim.Ctl;

/// <summary>The flags of <c>orleanssim-ctl status</c>.</summary>
public sealed record CtlOptions
{
    public string? ClusterConnection { get; init; }

    public string ClusterId { get; init; } = "orleanssim";

    public string ServiceId { get; init; } = "orleanssim";

    public int GatewayPort { get; init; } = 30000;

    public bool Json { get; init; }

    /// <summary><c>chaos</c> over HTTP: any pod's rank port (<c>--url http://pod:8000</c>) instead of an Orleans client.</summary>
    public Uri? Url { get; init; }

    /// <summary>Bearer token for the pod's <c>/admin/*</c> with <c>--url</c> (<c>--admin-token</c>, env ORLEANSSIM_ADMIN_TOKEN).</summary>
    public string? AdminToken { get; init; } = Environment.GetEnvironmentVariable("ORLEANSSIM_ADMIN_TOKEN") is { Length: > 0 } token ? token : null;

    /// <summary>How long to wait for a gateway of the cluster (<c>--connect-timeout</c>, seconds).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public static CtlOptions Parse(ReadOnlySpan<string> args)
    {
        var options = new CtlOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var (name, inline) = args[i].Split('=', 2) is [var n, var v] ? (n, v) : (args[i], null);
            string Value(ReadOnlySpan<string> all, ref int index) =>
                inline ?? (index + 1 < all.Length ? all[++index] : throw new FormatException($"{name} needs a value"));
            options = name switch
            {
                "--cluster-connection" => options with { ClusterConnection = Value(args, ref i) },
                "--cluster-id" => options with { ClusterId = Value(args, ref i) },
                "--service-id" => options with { ServiceId = Value(args, ref i) },
                "--gateway-port" => options with
                {
                    GatewayPort = int.TryParse(Value(args, ref i), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
                        ? port
                        : throw new FormatException("--gateway-port must be a port number"),
                },
                "--connect-timeout" => options with
                {
                    ConnectTimeout = int.TryParse(Value(args, ref i), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
                        ? TimeSpan.FromSeconds(seconds)
                        : throw new FormatException("--connect-timeout must be a positive number of seconds"),
                },
                "--json" => options with { Json = true },
                "--url" => options with
                {
                    Url = Uri.TryCreate(Value(args, ref i), UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
                        ? url
                        : throw new FormatException("--url must be an http(s) URL such as http://127.0.0.1:8000"),
                },
                "--admin-token" => options with { AdminToken = Value(args, ref i) },
                _ => throw new FormatException($"unknown flag '{name}'"),
            };
        }

        return options;
    }
}
