using System.Net;
using System.Net.Sockets;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>Finds runs of consecutive free TCP ports for rank listeners and silo endpoints.</summary>
public static class FreePorts
{
    private static int _next = 20000 + (Environment.ProcessId % 200 * 150);
    private static readonly Lock Gate = new();

    public static int Consecutive(int count)
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 500; attempt++)
            {
                var start = _next;
                _next += count + 1;
                if (_next > 60000)
                {
                    _next = 20000;
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
