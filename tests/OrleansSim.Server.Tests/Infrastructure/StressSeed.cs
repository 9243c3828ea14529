using Xunit.Sdk;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>
/// The seed of a randomized stress test: <c>ORLEANSSIM_STRESS_SEED</c> when set (to replay a failure), else a fresh
/// one. It is always written to the test output, and every failure inside <see cref="RunAsync"/> names it.
/// </summary>
public static class StressSeed
{
    public const string Variable = "ORLEANSSIM_STRESS_SEED";

    public static int Next()
    {
        var given = Environment.GetEnvironmentVariable(Variable);
        var seed = int.TryParse(given, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var s)
            ? s
            : Random.Shared.Next();
        TestContext.Current.TestOutputHelper?.WriteLine($"stress seed {seed} (replay with {Variable}={seed})");
        return seed;
    }

    /// <summary>Runs <paramref name="test"/> with a seed; a failure is re-thrown with the seed in its message.</summary>
    public static async Task RunAsync(Func<int, Task> test)
    {
        var seed = Next();
        try
        {
            await test(seed);
        }
        catch (Exception e)
        {
            throw new XunitException($"[stress seed {seed}; replay with {Variable}={seed}] {e.Message}", e);
        }
    }
}
