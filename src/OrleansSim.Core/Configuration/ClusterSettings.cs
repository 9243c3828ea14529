using System.Net;

namespace OrleansSim.Core.Configuration;

/// <summary>The cluster-mode rules of the configuration: which flags go together, and which address a silo advertises.</summary>
public static class ClusterSettings
{
    internal static void Validate(string provider, string connection)
    {
        if (provider == "redis" && connection.Length == 0)
        {
            throw new OptionsException("--cluster-connection is required with --cluster-provider redis (e.g. --cluster-connection redis:6379)");
        }

        if (provider == "localhost" && connection.Length > 0)
        {
            throw new OptionsException("--cluster-connection needs --cluster-provider redis (the localhost provider has no connection)");
        }
    }

    /// <summary>
    /// The address peers reach this silo at: <c>--advertise-address</c>, else <c>POD_IP</c>, else loopback when
    /// the whole cluster is on this machine (localhost provider, or a Redis on a loopback host), else this host's
    /// first non-loopback IPv4 address. A silo never advertises loopback to peers on other machines.
    /// </summary>
    public static string AdvertiseAddress(SimulatorOptions options, string? podIp, Func<string> detectIPv4)
    {
        if (options.AdvertiseAddress.Length > 0)
        {
            return options.AdvertiseAddress;
        }

        if (!string.IsNullOrEmpty(podIp))
        {
            return podIp;
        }

        return options.ClusterProvider == ClusterProvider.Localhost || IsLocalConnection(options.ClusterConnection)
            ? IPAddress.Loopback.ToString()
            : detectIPv4();
    }

    /// <summary>True when every host of a StackExchange.Redis connection string ("host:port,option=value,…") is loopback.</summary>
    public static bool IsLocalConnection(string connection)
    {
        var hosts = connection.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(part => !part.Contains('=', StringComparison.Ordinal))
            .Select(HostOf)
            .ToList();
        return hosts.Count > 0 && hosts.All(h => h == "localhost" || (IPAddress.TryParse(h, out var ip) && IPAddress.IsLoopback(ip)));
    }

    private static string HostOf(string endpoint)
    {
        if (endpoint.StartsWith('['))
        {
            var close = endpoint.IndexOf(']', StringComparison.Ordinal);
            return close > 0 ? endpoint[1..close] : endpoint;
        }

        var colon = endpoint.LastIndexOf(':');
        return colon > 0 && endpoint.IndexOf(':', StringComparison.Ordinal) == colon ? endpoint[..colon] : endpoint;
    }
}
