using System.Net;
using System.Net.Sockets;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>
/// Finds runs of consecutive free TCP ports for rank listeners and silo endpoints. Ports come from below
/// the kernel's ephemeral range (32768+), so an outgoing connection never takes a port a test reserved
/// (a killed pod restarts on its old ports), and each test assembly has its own band, so two assemblies
/// running at once do not hand out the same port.
/// </summary>
public static class FreePorts
{
    private const int BandSize = 6000;
    private static readonly int BandStart = 20000 + (System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name?.Contains("Cluster", StringComparison.Ordinal) == true ? BandSize : 0);
    private static int _next = BandStart + (Environment.ProcessId % 100 * 50);
    private static readonly Lock Gate = new();

    public static int Consecutive(int count)
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 500; attempt++)
            {
                var start = _next;
                _next += count + 1;
                if (_next + count > BandStart + BandSize)
                {
                    _next = BandStart;
                }

                if (Enumerable.Range(start, count).All(IsFree))
                {
                    return start;
                }
            }
        }

        throw new InvalidOperationException("no free port range found");
    }

    public static int One() => Consecutive(1);

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Any, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
