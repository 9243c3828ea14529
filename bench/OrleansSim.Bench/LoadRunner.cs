using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace OrleansSim.Bench;

/// <summary>
/// Sends the load: fixed concurrency (each worker sends its next request when the previous one ends) or
/// Poisson arrivals at a rate (optionally capped in flight), spread round-robin over the target URLs.
/// Requests sent during the warm-up are not measured.
/// </summary>
public sealed class LoadRunner
{
    private readonly BenchOptions _options;
    private readonly HttpClient[] _clients;
    private readonly Uri[] _urls;
    private readonly byte[] _body;
    private readonly List<RequestSample> _samples = [];
    private long _measureFrom;
    private long _stopAt;
    private int _measuredIssued;
    private int _next;

    public LoadRunner(BenchOptions options)
    {
        _options = options;
        var path = options.Endpoint == "chat" ? "v1/chat/completions" : "v1/completions";
        _urls = [.. options.Targets.Select(t => new Uri(t, path))];
        var perTarget = options.Concurrency is int c ? Math.Max(1, (c + options.Targets.Count - 1) / options.Targets.Count) : int.MaxValue;
        _clients = [.. options.Targets.Select(_ => new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = perTarget,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        })];
        _body = RequestBody(options);
    }

    /// <summary>Every request, warm-up included (see <see cref="RequestSample.Measured"/>).</summary>
    public IReadOnlyList<RequestSample> Samples => _samples;

    public long MeasureFrom => _measureFrom;

    public long StopAt => _stopAt;

    public async Task RunAsync(Action onMeasureStart)
    {
        var begin = Stopwatch.GetTimestamp();
        var warmup = _options.Warmup > _options.Ramp ? _options.Warmup : _options.Ramp;
        _measureFrom = begin + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        _stopAt = _options.Requests is null ? _measureFrom + (long)(_options.Duration.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        using var measureStart = new Timer(_ => onMeasureStart(), null, warmup, Timeout.InfiniteTimeSpan);

        if (_options.Rate is double rate)
        {
            await RunPoissonAsync(rate, begin);
        }
        else
        {
            var n = _options.Concurrency!.Value;
            var workers = new Task[n];
            for (var w = 0; w < n; w++)
            {
                var delay = _options.Ramp * w / n;
                workers[w] = WorkerAsync(w, delay);
            }

            await Task.WhenAll(workers);
        }
    }

    private async Task WorkerAsync(int worker, TimeSpan delay)
    {
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay);
        }

        var target = worker % _urls.Length;
        while (TryClaim(out var measured))
        {
            Record(await SendAsync(target, measured));
        }
    }

    private async Task RunPoissonAsync(double rate, long begin)
    {
        var random = new Random(_options.Seed);
        using var cap = _options.Concurrency is int c ? new SemaphoreSlim(c) : null;
        var inFlight = new List<Task>();
        var at = 0.0;
        while (true)
        {
            at += -Math.Log(1 - random.NextDouble()) / rate;
            var wait = TimeSpan.FromSeconds(at) - Stopwatch.GetElapsedTime(begin);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            if (cap is not null)
            {
                await cap.WaitAsync();
            }

            if (!TryClaim(out var measured))
            {
                cap?.Release();
                break;
            }

            var target = Interlocked.Increment(ref _next) % _urls.Length;
            inFlight.Add(Task.Run(async () =>
            {
                try
                {
                    Record(await SendAsync(target, measured));
                }
                finally
                {
                    cap?.Release();
                }
            }));
        }

        await Task.WhenAll(inFlight);
    }

    /// <summary>May another request be sent, and is it measured?</summary>
    private bool TryClaim(out bool measured)
    {
        var now = Stopwatch.GetTimestamp();
        measured = now >= _measureFrom;
        if (now >= _stopAt)
        {
            return false;
        }

        return !measured || _options.Requests is not int limit || Interlocked.Increment(ref _measuredIssued) <= limit;
    }

    private void Record(RequestSample sample)
    {
        lock (_samples)
        {
            _samples.Add(sample);
        }
    }

    private async Task<RequestSample> SendAsync(int target, bool measured)
    {
        var sample = new RequestSample { Target = target, StartedAt = Stopwatch.GetTimestamp(), Measured = measured };
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _urls[target]) { Content = new ByteArrayContent(_body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await _clients[target].SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var text = await response.Content.ReadAsStringAsync();
                sample.Error = $"HTTP {(int)response.StatusCode}: {text[..Math.Min(text.Length, 200)]}";
            }
            else if (_options.Stream)
            {
                await ReadStreamAsync(response, sample);
            }
            else
            {
                var bytes = await response.Content.ReadAsByteArrayAsync();
                sample.TtftMs = Ms(sample.StartedAt, Stopwatch.GetTimestamp());
                sample.OutputTokens = SseScanner.CompletionTokens(bytes);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
        {
            sample.Error = $"{ex.GetType().Name}: {ex.Message}";
        }

        sample.EndedAt = Stopwatch.GetTimestamp();
        sample.E2eMs = Ms(sample.StartedAt, sample.EndedAt);
        if (sample.Error is null && _options.IgnoreEos && sample.OutputTokens != _options.OutputTokens)
        {
            sample.Error = $"incomplete: {sample.OutputTokens} of {_options.OutputTokens} tokens";
        }

        return sample;
    }

    /// <summary>Splits the SSE body into events as bytes arrive; each event is timed by the read that completed it.</summary>
    private static async Task ReadStreamAsync(HttpResponseMessage response, RequestSample sample)
    {
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = ArrayPool<byte>.Shared.Rent(8192);
        try
        {
            int filled = 0, tokens = 0, usageTokens = -1;
            long lastToken = 0;
            var done = false;
            while (!done)
            {
                if (filled == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await body.ReadAsync(buffer.AsMemory(filled));
                if (read == 0)
                {
                    break;
                }

                var now = Stopwatch.GetTimestamp();
                filled += read;
                var start = 0;
                while (true)
                {
                    var end = buffer.AsSpan(start, filled - start).IndexOf("\n\n"u8);
                    if (end < 0)
                    {
                        break;
                    }

                    var kind = SseScanner.Classify(buffer.AsSpan(start, end), out var completion);
                    start += end + 2;
                    switch (kind)
                    {
                        case SseScanner.Kind.Token:
                            if (tokens == 0)
                            {
                                sample.TtftMs = Ms(sample.StartedAt, now);
                            }
                            else
                            {
                                sample.ItlMs.Add(Ms(lastToken, now));
                            }

                            tokens++;
                            lastToken = now;
                            break;
                        case SseScanner.Kind.Error:
                            sample.Error = "error event: " + Encoding.UTF8.GetString(buffer, start - end - 2, Math.Min(end, 200));
                            break;
                        case SseScanner.Kind.Done:
                            done = true;
                            break;
                        default:
                            if (completion >= 0)
                            {
                                usageTokens = completion;
                            }

                            break;
                    }
                }

                buffer.AsSpan(start, filled - start).CopyTo(buffer);
                filled -= start;
            }

            sample.OutputTokens = usageTokens >= 0 ? usageTokens : tokens;
            if (!done && sample.Error is null)
            {
                sample.Error = $"stream ended without [DONE] after {tokens} tokens";
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    /// <summary>The request body every request sends: a prompt of about N tokens (" hello" is one token).</summary>
    private static byte[] RequestBody(BenchOptions o)
    {
        var prompt = string.Concat(Enumerable.Repeat(" hello", Math.Max(1, o.PromptTokens))).TrimStart();
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("model", o.Model);
            if (o.Endpoint == "chat")
            {
                w.WriteStartArray("messages");
                w.WriteStartObject();
                w.WriteString("role", "user");
                w.WriteString("content", prompt);
                w.WriteEndObject();
                w.WriteEndArray();
            }
            else
            {
                w.WriteString("prompt", prompt);
            }

            w.WriteNumber("max_tokens", o.OutputTokens);
            if (o.IgnoreEos)
            {
                w.WriteBoolean("ignore_eos", true);
            }

            if (o.Stream)
            {
                w.WriteBoolean("stream", true);
                w.WriteStartObject("stream_options");
                w.WriteBoolean("include_usage", true);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return stream.ToArray();
    }
}
