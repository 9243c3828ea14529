using System.Globalization;
using System.Text.Json;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Observability;

/// <summary>--log-format json and --log-level on the real executable: every stdout line is one JSON record.</summary>
public sealed class LoggingTests
{
    private static readonly string[] Levels = ["trace", "debug", "info", "warning", "error", "critical"];

    private static string[] Args(int port, params string[] extra) =>
    [
        "--model", "log-model", "--port", port.ToString(CultureInfo.InvariantCulture), "--host", "127.0.0.1",
        "--silo-port", FreePorts.One().ToString(CultureInfo.InvariantCulture),
        "--gateway-port", FreePorts.One().ToString(CultureInfo.InvariantCulture), .. extra,
    ];

    [Fact]
    public async Task JsonFormatWritesOneObjectPerLineWithPodRankAndRequestId()
    {
        var port = FreePorts.Consecutive(2);
        await using var process = SimProcess.Start(Args(port, "--data-parallel-size", "2", "--log-format", "json", "--log-level", "debug"),
            new Dictionary<string, string> { ["POD_NAME"] = "log-pod" });
        await process.WaitUntilReadyAsync(port, TimeSpan.FromSeconds(60));
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port + 1}") };
        using var request = Http.Post("/v1/completions", """{"model":"log-model","prompt":"hello there","max_tokens":2}""");
        request.Headers.Add("x-request-id", "logged-1");
        using (var response = await client.SendAsync(request))
        {
            Assert.Equal(200, (int)response.StatusCode);
        }

        process.Signal("TERM");
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        var records = Records(process.Stdout);
        foreach (var record in records)
        {
            Assert.True(DateTimeOffset.TryParse(record.GetProperty("timestamp").GetString(), CultureInfo.InvariantCulture, out _));
            Assert.Contains(record.GetProperty("level").GetString(), Levels);
            Assert.NotNull(record.GetProperty("message").GetString());
            Assert.Equal("log-pod", record.GetProperty("pod").GetString());
        }

        // The configuration comes first, as JSON inside the record.
        var config = records[0].GetProperty("config");
        Assert.Equal("log-model", config.GetProperty("model").GetString());
        Assert.Equal("json", config.GetProperty("log-format").GetString());
        Assert.Equal("debug", config.GetProperty("log-level").GetString());
        // One record per rank listener, with its rank.
        Assert.Contains(records, r => r.TryGetProperty("rank", out var rank) && rank.GetInt32() == 1 && r.GetProperty("message").GetString()!.Contains($"port={port + 1}", StringComparison.Ordinal));
        // The finished request at debug level, with its request id and rank.
        var finished = Assert.Single(records, r => r.TryGetProperty("request_id", out var id) && id.GetString() == "cmpl-logged-1-0");
        Assert.Equal("debug", finished.GetProperty("level").GetString());
        Assert.Equal(1, finished.GetProperty("rank").GetInt32());
        Assert.Matches(@"^Finished request cmpl-logged-1-0 on rank 1: (stop|length), \d+ prompt tokens, [12] completion tokens", finished.GetProperty("message").GetString());
    }

    [Fact]
    public async Task LogLevelDropsLessSevereRecordsButTheConfigurationIsAlwaysPrinted()
    {
        var port = FreePorts.Consecutive(1);
        await using var process = SimProcess.Start(Args(port, "--log-format", "json", "--log-level", "warning"));
        await process.WaitUntilReadyAsync(port, TimeSpan.FromSeconds(60));
        using (var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") })
        using (var response = await client.SendAsync(Http.Post("/v1/completions", """{"model":"log-model","prompt":"hi","max_tokens":1}""")))
        {
            Assert.Equal(200, (int)response.StatusCode);
        }

        process.Signal("TERM");
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var records = Records(process.Stdout);
        Assert.Equal("warning", records[0].GetProperty("config").GetProperty("log-level").GetString());
        // Rank listeners and the drain are info records: none of them at warning.
        Assert.DoesNotContain(records.Skip(1), r => r.GetProperty("level").GetString() is "info" or "debug" or "trace");
    }

    [Fact]
    public async Task VllmLoggingLevelEnvironmentVariableSetsTheLevel()
    {
        var port = FreePorts.Consecutive(1);
        await using var process = SimProcess.Start(Args(port, "--log-format", "json"), new Dictionary<string, string> { ["VLLM_LOGGING_LEVEL"] = "ERROR" });
        await process.WaitUntilReadyAsync(port, TimeSpan.FromSeconds(60));
        process.Signal("TERM");
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("error", Records(process.Stdout)[0].GetProperty("config").GetProperty("log-level").GetString());
    }

    /// <summary>Every non-empty stdout line parsed as a JSON object (fails on any other line).</summary>
    private static List<JsonElement> Records(string stdout)
    {
        var records = new List<JsonElement>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            JsonElement record;
            try
            {
                record = JsonDocument.Parse(line).RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new Xunit.Sdk.XunitException($"not a JSON line: {line}\n{ex.Message}");
            }

            Assert.Equal(JsonValueKind.Object, record.ValueKind);
            records.Add(record);
        }

        Assert.NotEmpty(records);
        return records;
    }
}
