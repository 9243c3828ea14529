using System.Net;
using System.Net.Sockets;
using System.Text;
using OrleansSim.Core.Generation.Dataset;
using Xunit;

namespace OrleansSim.Core.Tests.Generation.Dataset;

/// <summary>--dataset-url against a real HTTP server on a loopback socket, started by the test.</summary>
public sealed class DatasetDownloaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("h12-download-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose()
    {
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>
    /// Serves one request: <paramref name="status"/>, a Content-Length of <paramref name="declared"/> (none when null)
    /// and <paramref name="sent"/> bytes of body, in 16 KB writes; then closes the connection.
    /// </summary>
    private static async Task<(string Url, Task Served)> ServeOnceAsync(string status, long? declared, int sent)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/data/dataset.sqlite";
        var served = Task.Run(async () =>
        {
            try
            {
                using var client = await listener.AcceptTcpClientAsync();
                using var stream = client.GetStream();
                var buffer = new byte[4096];
                var request = new StringBuilder();
                while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await stream.ReadAsync(buffer);
                    if (read == 0)
                    {
                        return;
                    }

                    request.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }

                var head = $"HTTP/1.1 {status}\r\nConnection: close\r\n" + (declared is { } length ? $"Content-Length: {length}\r\n" : "") + "\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
                var chunk = new byte[16 * 1024];
                Array.Fill(chunk, (byte)'x');
                for (var done = 0; done < sent; done += chunk.Length)
                {
                    await stream.WriteAsync(chunk.AsMemory(0, Math.Min(chunk.Length, sent - done)));
                }

                await stream.FlushAsync();
                client.Client.Shutdown(SocketShutdown.Send);
            }
            finally
            {
                listener.Stop();
            }
        });
        await Task.Yield();
        return (url, served);
    }

    private DatasetDownloader Downloader(StringWriter progress) => new(_http, progress, interactive: false);

    [Fact]
    public async Task DownloadsIntoNewFoldersWithPlainProgressLines()
    {
        const int size = 1024 * 1024;
        var (url, served) = await ServeOnceAsync("200 OK", size, size);
        var path = Path.Combine(_dir, "nested", "deeper", "d.sqlite");
        var progress = new StringWriter();
        Assert.True(await Downloader(progress).DownloadAsync(url, path, TestContext.Current.CancellationToken));
        await served;

        Assert.Equal(size, new FileInfo(path).Length);
        var lines = progress.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var percents = lines.Where(l => l.StartsWith("dataset download: ", StringComparison.Ordinal))
            .Select(l => int.Parse(l["dataset download: ".Length..l.IndexOf('%', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        // A line at least every 10 % (or 5 s), never more often than every 10 % apart from the timed ones, and the last at 100 %.
        Assert.Equal(100, percents[^1]);
        Assert.InRange(percents.Count, 5, 40);
        Assert.All(percents.Zip(percents.Skip(1)), p => Assert.True(p.Second >= p.First));
        Assert.Contains(lines, l => l.StartsWith("dataset downloaded: 1.0 MB", StringComparison.Ordinal));

        // The file now exists: a second start does not download again.
        var again = new StringWriter();
        Assert.False(await Downloader(again).DownloadAsync("http://127.0.0.1:1/never", path, TestContext.Current.CancellationToken));
        Assert.Contains("already exists", again.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadStatusFailsAndLeavesNoFile()
    {
        var (url, served) = await ServeOnceAsync("404 Not Found", 9, 9);
        var path = Path.Combine(_dir, "d.sqlite");
        var e = await Assert.ThrowsAsync<DatasetException>(() => Downloader(new StringWriter()).DownloadAsync(url, path, TestContext.Current.CancellationToken));
        await served;
        Assert.Equal("dataset download bad status: 404 Not Found", e.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task PartialDownloadIsRemoved()
    {
        var (url, served) = await ServeOnceAsync("200 OK", 1024 * 1024, 300 * 1024);
        var path = Path.Combine(_dir, "d.sqlite");
        var e = await Assert.ThrowsAsync<DatasetException>(() => Downloader(new StringWriter()).DownloadAsync(url, path, TestContext.Current.CancellationToken));
        await served;
        Assert.StartsWith("failed to download file", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task EmptyDownloadIsRemoved()
    {
        var (url, served) = await ServeOnceAsync("200 OK", null, 0);
        var path = Path.Combine(_dir, "d.sqlite");
        var e = await Assert.ThrowsAsync<DatasetException>(() => Downloader(new StringWriter()).DownloadAsync(url, path, TestContext.Current.CancellationToken));
        await served;
        Assert.Equal("downloaded file is empty", e.Message);
        Assert.False(File.Exists(path));
    }
}
