using System.Diagnostics;
using System.Text.Json;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>
/// The strict OpenMetrics 1.0 parser of Python's prometheus_client (Debian package python3-prometheus-client),
/// the library vLLM serves its metrics with. It rejects a missing <c># EOF</c>, samples outside their family,
/// counters without <c>_total</c>, misplaced <c>_created</c>, bad escapes and bad numbers.
/// </summary>
public static class OpenMetricsParser
{
    private const string Script = """
        import json, sys
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
        out = []
        for f in text_string_to_metric_families(sys.stdin.read()):
            out.append({"name": f.name, "type": f.type, "samples": [
                {"name": s.name, "labels": s.labels, "value": repr(float(s.value))} for s in f.samples]})
        print(json.dumps(out))
        """;

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public sealed record Family(string Name, string Type, IReadOnlyList<Sample> Samples);

    /// <summary>Parses <paramref name="exposition"/>; fails the test with the parser's message when it is not valid OpenMetrics.</summary>
    public static async Task<List<Family>> ParseAsync(string exposition)
    {
        // Debian's interpreter, where python3-prometheus-client lives (a pyenv shim may come first on PATH).
        var start = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Script);
        using var python = Process.Start(start)!;
        await python.StandardInput.WriteAsync(exposition);
        python.StandardInput.Close();
        var stdout = python.StandardOutput.ReadToEndAsync();
        var stderr = await python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync();
        Assert.True(python.ExitCode == 0, $"prometheus_client's OpenMetrics parser rejected the exposition:\n{stderr}");

        using var json = JsonDocument.Parse(await stdout);
        return [.. json.RootElement.EnumerateArray().Select(f => new Family(
            f.GetProperty("name").GetString()!,
            f.GetProperty("type").GetString()!,
            [.. f.GetProperty("samples").EnumerateArray().Select(s => new Sample(
                s.GetProperty("name").GetString()!,
                s.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                ParseFloat(s.GetProperty("value").GetString()!)))]))];
    }

    private static double ParseFloat(string repr) => repr switch
    {
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        "nan" => double.NaN,
        _ => double.Parse(repr, System.Globalization.CultureInfo.InvariantCulture),
    };
}
