using System.Net.Sockets;
using System.Text;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>
/// One HTTP/1.1 request on a raw loopback socket, so a test decides exactly when and how the client goes away:
/// a graceful close (FIN) or an abortive one (RST, via <c>LingerState(true, 0)</c>).
/// </summary>
public sealed class RawHttp : IDisposable
{
    private readonly Socket _socket;
    private readonly StringBuilder _received = new();
    private readonly byte[] _buffer = new byte[16 * 1024];

    private RawHttp(Socket socket) => _socket = socket;

    /// <summary>Everything read so far (headers and body, as text).</summary>
    public string Received => _received.ToString();

    /// <summary>True once the server closed its side.</summary>
    public bool EndOfStream { get; private set; }

    public static Task<RawHttp> PostAsync(int port, string path, string json, CancellationToken cancellationToken = default) =>
        PostAsync(port, path, json, "", cancellationToken);

    /// <param name="headers">Extra header lines, each ending in CRLF (e.g. <c>"Connection: close\r\n"</c>).</param>
    public static Task<RawHttp> PostAsync(int port, string path, string json, string headers, CancellationToken cancellationToken = default)
    {
        var body = Encoding.UTF8.GetBytes(json);
        return SendAsync(port, path, body, body.Length, headers, cancellationToken);
    }

    /// <summary>
    /// A POST whose headers declare <paramref name="contentLength"/> body bytes of which only <paramref name="bodyStart"/>
    /// is sent: the server is left waiting for the rest of the body.
    /// </summary>
    public static Task<RawHttp> PostPartialAsync(int port, string path, string bodyStart, long contentLength, CancellationToken cancellationToken = default) =>
        SendAsync(port, path, Encoding.UTF8.GetBytes(bodyStart), contentLength, "", cancellationToken);

    private static async Task<RawHttp> SendAsync(int port, string path, byte[] body, long contentLength, string headers, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port), cancellationToken);
            var head = Encoding.ASCII.GetBytes(
                $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {contentLength}\r\n{headers}\r\n");
            await socket.SendAsync(head.Concat(body).ToArray(), SocketFlags.None, cancellationToken);
            return new RawHttp(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Reads until the text received so far contains <paramref name="marker"/> (true) or the server closed (false).</summary>
    public Task<bool> ReadUntilAsync(string marker, CancellationToken cancellationToken = default) =>
        ReadUntilAsync(marker, 1, cancellationToken);

    /// <summary>Reads until <paramref name="marker"/> was received <paramref name="occurrences"/> times (true) or the server closed (false).</summary>
    public async Task<bool> ReadUntilAsync(string marker, int occurrences, CancellationToken cancellationToken = default)
    {
        while (Occurrences(Received, marker) < occurrences)
        {
            if (EndOfStream || !await ReadSomeAsync(cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads until the server closes the connection or <paramref name="cancellationToken"/> fires.</summary>
    public async Task ReadToEndAsync(CancellationToken cancellationToken = default)
    {
        while (!EndOfStream && await ReadSomeAsync(cancellationToken))
        {
        }
    }

    /// <summary>Goes away: with <paramref name="reset"/> an abortive close (RST), else a graceful one (FIN).</summary>
    public void Close(bool reset)
    {
        if (reset)
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        else
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // already reset by the server
            }
        }

        _socket.Close();
    }

    /// <summary>
    /// Leaves with a FIN only: shuts the sending side, then drains what the server still sends until it closes (or
    /// <paramref name="timeout"/> passes) before closing, so unread data never turns the close into a reset.
    /// </summary>
    public async Task CloseWithFinAsync(TimeSpan timeout)
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
            using var drain = new CancellationTokenSource(timeout);
            await ReadToEndAsync(drain.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // reset by the server, or it kept the connection open: close anyway
        }

        _socket.Close();
    }

    public void Dispose() => _socket.Dispose();

    private static int Occurrences(string text, string marker)
    {
        var count = 0;
        for (var at = text.IndexOf(marker, StringComparison.Ordinal); at >= 0; at = text.IndexOf(marker, at + marker.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private async Task<bool> ReadSomeAsync(CancellationToken cancellationToken)
    {
        int read;
        try
        {
            read = await _socket.ReceiveAsync(_buffer, SocketFlags.None, cancellationToken);
        }
        catch (SocketException)
        {
            read = 0;
        }

        if (read == 0)
        {
            EndOfStream = true;
            return false;
        }

        _received.Append(Encoding.UTF8.GetString(_buffer, 0, read));
        return true;
    }
}
