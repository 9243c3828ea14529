using System.Globalization;
using System.Net;

namespace OrleansSim.Core.Generation.Dataset;

/// <summary>
/// <c>--dataset-url</c>: downloads the dataset to <c>--dataset-path</c> when that file does not exist (llm-d-inference-sim's
/// downloader). Parent folders are created; a status other than 200 fails with <c>dataset download bad status: &lt;status&gt;</c>;
/// a failed, short or empty download leaves no file behind. Progress goes to <c>progress</c>: on a terminal one line
/// rewritten in place, otherwise a plain line every 5 s or every 10 %.
/// </summary>
public sealed class DatasetDownloader(HttpClient http, TextWriter progress, bool interactive, TimeProvider? time = null)
{
    private static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(5);
    private const int PercentStep = 10;
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Returns true when a file was downloaded, false when <paramref name="path"/> already existed.</summary>
    public async Task<bool> DownloadAsync(string url, string path, CancellationToken cancellation = default)
    {
        if (File.Exists(path))
        {
            progress.WriteLine($"dataset file {path} already exists; not downloading {url}");
            return false;
        }

        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
        }

        progress.WriteLine($"downloading dataset {url} to {path}");
        HttpResponseMessage response;
        try
        {
            response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellation);
        }
        catch (HttpRequestException ex)
        {
            throw new DatasetException($"failed to download dataset: {ex.Message}", ex);
        }

        using (response)
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new DatasetException($"dataset download bad status: {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd());
            }

            var total = response.Content.Headers.ContentLength;
            long written = 0;
            try
            {
                await using (var source = await response.Content.ReadAsStreamAsync(cancellation))
                await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
                {
                    written = await CopyAsync(source, file, total, cancellation);
                    await file.FlushAsync(cancellation);
                }

                if (written == 0)
                {
                    throw new DatasetException("downloaded file is empty");
                }

                if (total is { } expected && written != expected)
                {
                    throw new DatasetException($"failed to download file: got {written} of {expected} bytes");
                }
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException or DatasetException)
            {
                TryDelete(path);
                throw ex switch
                {
                    DatasetException => ex,
                    OperationCanceledException => new DatasetException("download cancelled", ex),
                    _ => new DatasetException($"failed to download file: {ex.Message}", ex),
                };
            }
        }

        return true;
    }

    private async Task<long> CopyAsync(Stream source, Stream target, long? total, CancellationToken cancellation)
    {
        var buffer = new byte[81920];
        var started = _time.GetTimestamp();
        var lastLine = started;
        var lastPercent = 0;
        long written = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellation)) > 0)
        {
            await target.WriteAsync(buffer.AsMemory(0, read), cancellation);
            written += read;
            var percent = total > 0 ? (int)(written * 100 / total.Value) : -1;
            var now = _time.GetTimestamp();
            if (interactive)
            {
                if (_time.GetElapsedTime(lastLine, now) >= TimeSpan.FromMilliseconds(200) || percent == 100)
                {
                    progress.Write("\r" + Describe(written, total, percent, _time.GetElapsedTime(started, now)) + "   ");
                    lastLine = now;
                }
            }
            else if (_time.GetElapsedTime(lastLine, now) >= LineInterval || (percent >= 0 && percent - lastPercent >= PercentStep))
            {
                progress.WriteLine(Describe(written, total, percent, _time.GetElapsedTime(started, now)));
                lastLine = now;
                lastPercent = percent >= 0 ? percent - (percent % PercentStep) : lastPercent;
            }
        }

        if (interactive)
        {
            progress.WriteLine();
        }

        progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dataset downloaded: {Megabytes(written)} in {_time.GetElapsedTime(started).TotalSeconds:0.0} s"));
        return written;
    }

    private static string Describe(long written, long? total, int percent, TimeSpan elapsed)
    {
        var speed = elapsed.TotalSeconds > 0 ? written / elapsed.TotalSeconds : 0;
        if (percent < 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"dataset download: {Megabytes(written)} ({Megabytes((long)speed)}/s)");
        }

        var left = speed > 0 ? (total!.Value - written) / speed : 0;
        return string.Create(CultureInfo.InvariantCulture,
            $"dataset download: {percent}% ({Megabytes(written)} of {Megabytes(total!.Value)}, {Megabytes((long)speed)}/s, {left:0} s left)");
    }

    private static string Megabytes(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):0.0} MB");

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the error that caused the cleanup is what the caller reports.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
