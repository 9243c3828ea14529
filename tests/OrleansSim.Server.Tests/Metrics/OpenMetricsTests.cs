using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Metrics;

/// <summary>
/// GET /metrics content negotiation as prometheus_client's ASGI app does it: OpenMetrics on
/// <c>Accept: application/openmetrics-text</c> (checked by prometheus_client's strict OpenMetrics parser and
/// compared sample by sample with the text format), gzip on <c>Accept-Encoding: gzip</c>, text 0.0.4 otherwise.
/// </summary>
public sealed class OpenMetricsTests
{
    // What Prometheus 2.x sends when it scrapes.
    private const string PrometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    [Fact]
    public async Task OpenMetricsParsesStrictlyAndCarriesTheSameSamplesAsTheTextFormat()
    {
        await using var host = await SimHost.StartAsync(o => o with { LoraModules = [new("sql-lora", "/adapters/sql")] });
        await host.Client.PostJsonAsync("/v1/completions", """{"model":"sql-lora","prompt":"x y","max_tokens":2}""");
        await host.Client.PostJsonAsync("/v1/chat/completions", """{"model":"test-model","messages":[{"role":"user","content":"a b c"}],"max_tokens":3}""");

        var (openMetrics, contentType, encoding) = await ScrapeAsync(host, PrometheusAccept, gzip: false);
        Assert.Equal("application/openmetrics-text; version=1.0.0; charset=utf-8", contentType);
        Assert.Null(encoding);
        Assert.EndsWith("\n# EOF\n", openMetrics, StringComparison.Ordinal);
        var text = await PromText.ScrapeAsync(host.Client);

        var families = await OpenMetricsParser.ParseAsync(openMetrics);
        var byName = families.ToDictionary(f => f.Name);

        // Counters: a family without _total whose samples are name_total and name_created, per child.
        var success = byName["vllm:request_success"];
        Assert.Equal("counter", success.Type);
        Assert.Equal(["vllm:request_success_created", "vllm:request_success_total"], success.Samples.Select(s => s.Name).Distinct().Order());
        Assert.False(byName.ContainsKey("vllm:request_success_total"));
        Assert.False(byName.ContainsKey("vllm:request_success_created"));
        // Histograms carry their _created sample inside the family.
        var ttft = byName["vllm:time_to_first_token_seconds"];
        Assert.Equal("histogram", ttft.Type);
        Assert.Contains(ttft.Samples, s => s.Name == "vllm:time_to_first_token_seconds_created");
        Assert.Equal("gauge", byName["vllm:num_requests_running"].Type);
        Assert.Equal("gauge", byName["vllm:lora_requests_info"].Type);

        // Every sample of the text format is in the OpenMetrics exposition with the same labels and value
        // (requests are over and the gauges idle, so both scrapes see the same numbers), and nothing else is.
        static string Key(string name, IReadOnlyDictionary<string, string> labels) =>
            name + "{" + string.Join(',', labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "}";
        var fromText = text.Samples.Where(s => !s.Name.StartsWith("vllm:lora_requests_info", StringComparison.Ordinal))
            .ToDictionary(s => Key(s.Name, s.Labels), s => s.Value);
        var fromOpenMetrics = families.SelectMany(f => f.Samples).Where(s => !s.Name.StartsWith("vllm:lora_requests_info", StringComparison.Ordinal))
            .ToDictionary(s => Key(s.Name, s.Labels), s => s.Value);
        Assert.Equal(fromText.Keys.Order(), fromOpenMetrics.Keys.Order());
        foreach (var (key, value) in fromText)
        {
            Assert.True(value.Equals(fromOpenMetrics[key]), $"{key}: text {value}, OpenMetrics {fromOpenMetrics[key]}");
        }

        Assert.Equal(2, success.Samples.Where(s => s.Name == "vllm:request_success_total").Sum(s => s.Value)); // the two requests
    }

    [Fact]
    public async Task GzipOnRequestForBothFormatsAndPlainTextStaysTheDefault()
    {
        await using var host = await SimHost.StartAsync();

        var (openMetrics, contentType, encoding) = await ScrapeAsync(host, PrometheusAccept, gzip: true);
        Assert.Equal("gzip", encoding);
        Assert.Equal("application/openmetrics-text; version=1.0.0; charset=utf-8", contentType);
        await OpenMetricsParser.ParseAsync(openMetrics);

        var (text, textType, textEncoding) = await ScrapeAsync(host, "text/plain;version=0.0.4", gzip: true);
        Assert.Equal("gzip", textEncoding);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", textType);
        Assert.Contains("# TYPE vllm:request_success_total counter\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("# EOF", text, StringComparison.Ordinal);

        var (plain, plainType, plainEncoding) = await ScrapeAsync(host, accept: null, gzip: false);
        Assert.Null(plainEncoding);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", plainType);
        Assert.Equal(text.Split('\n').Length, plain.Split('\n').Length);
    }

    /// <summary>One scrape with the given headers; gzip bodies are checked to be gzip and inflated here.</summary>
    private static async Task<(string Body, string? ContentType, string? ContentEncoding)> ScrapeAsync(SimHost host, string? accept, bool gzip)
    {
        using var client = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = host.BaseUri() };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        if (gzip)
        {
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var encoding = response.Content.Headers.ContentEncoding.SingleOrDefault();
        if (encoding == "gzip")
        {
            Assert.True(bytes is [0x1f, 0x8b, ..], "a gzip body starts with 1f 8b");
            using var inflate = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var reader = new StreamReader(inflate);
            return (await reader.ReadToEndAsync(), response.Content.Headers.ContentType?.ToString(), encoding);
        }

        return (System.Text.Encoding.UTF8.GetString(bytes), response.Content.Headers.ContentType?.ToString(), encoding);
    }
}
