namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>Waits for observable state with a deadline instead of sleeping.</summary>
public static class Poll
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan? timeout = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what ?? "condition"}; last value: {value}");
            }

            await Task.Delay(25);
        }
    }
}
