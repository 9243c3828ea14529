using System.Diagnostics;

namespace OrleansSim.Bench.Tests;

/// <summary>The load generator's command line: the server's duration forms, and bad values as one usage line with exit 2.</summary>
public sealed class BenchOptionsTests
{
    private static BenchOptions Parse(params string[] extra) => BenchOptions.Parse(["--url", "http://127.0.0.1:8000", "--concurrency", "4", .. extra]);

    [Theory]
    [InlineData("10", 10_000)]      // a plain number stays seconds, as bench/run.sh passes it
    [InlineData("0.5", 500)]
    [InlineData("500ms", 500)]
    [InlineData("1.5s", 1_500)]
    [InlineData("1m", 60_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("2h", 7_200_000)]
    public void DurationsTakeTheServersForms(string text, long milliseconds)
    {
        var options = Parse("--duration", text, "--warmup", text, "--ramp", text);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), options.Duration);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), options.Warmup);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), options.Ramp);
    }

    [Theory]
    [InlineData("--concurrency", "x", "--concurrency 'x' is not an integer")]
    [InlineData("--concurrency", "0", "--concurrency must be at least 1, got 0")]
    [InlineData("--duration", "1 minute", "--duration '1 minute' is not a duration")]
    [InlineData("--duration", "-5", "--duration must not be negative")]
    [InlineData("--rate", "fast", "--rate 'fast' is not a number")]
    [InlineData("--prompt-tokens", "1e3", "--prompt-tokens '1e3' is not an integer")]
    [InlineData("--url", "localhost:8000", "--url 'localhost:8000' is not an http(s) URL")]
    public void BadValuesNameTheFlag(string flag, string value, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => Parse(flag, value));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--concurrency", "x")]
    [InlineData("--duration", "1 minute")]
    [InlineData("--url", "::")]
    public async Task TheExecutablePrintsOneUsageLineAndExitsTwo(string flag, string value)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "OrleansSim.Bench.dll"), "--url", "http://127.0.0.1:1", "--concurrency", "1", flag, value })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(2, process.ExitCode);
        var lines = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith($"error: {flag} '{value}'", line, StringComparison.Ordinal);
        Assert.EndsWith("(--help for usage)", line.TrimEnd(), StringComparison.Ordinal);
        Assert.Equal("", await stdout);
    }
}
