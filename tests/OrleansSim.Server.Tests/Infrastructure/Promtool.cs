using System.Diagnostics;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>Runs <c>promtool check metrics</c> (Debian package <c>prometheus</c>) over a scrape.</summary>
public static class Promtool
{
    /// <summary>promtool's complaints, minus the naming lint that vLLM's own names trip as well.</summary>
    public static async Task<(List<string> Problems, string Output)> CheckAsync(string exposition)
    {
        var start = new ProcessStartInfo("promtool", "check metrics")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var promtool = Process.Start(start)!;
        await promtool.StandardInput.WriteAsync(exposition);
        promtool.StandardInput.Close();
        var output = await promtool.StandardOutput.ReadToEndAsync() + await promtool.StandardError.ReadToEndAsync();
        await promtool.WaitForExitAsync();

        var problems = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.EndsWith("metric names should not contain ':'", StringComparison.Ordinal)
                // vLLM's own histogram name ends in _total; the same lint fires on vLLM.
                && line != "vllm:iteration_tokens_total non-counter metrics should not have \"_total\" suffix")
            .ToList();
        return (problems, output);
    }
}
