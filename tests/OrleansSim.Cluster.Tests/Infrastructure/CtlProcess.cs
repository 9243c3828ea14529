using System.Diagnostics;

namespace OrleansSim.Cluster.Tests.Infrastructure;

/// <summary>Runs the real orleanssim-ctl (copied next to the tests by the project reference).</summary>
public static class CtlProcess
{
    /// <summary>
    /// A generous <c>--connect-timeout</c> for tests that expect to connect: on a loaded machine a fresh ctl process (JIT,
    /// Orleans client start) can take longer than the 10 s default to reach a gateway.
    /// </summary>
    public const string ConnectTimeoutSeconds = "45";

    public static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "orleanssim-ctl.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
