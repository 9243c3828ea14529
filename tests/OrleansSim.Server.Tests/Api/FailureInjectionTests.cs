using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

public sealed class FailureInjectionTests
{
    private const string Chat = """{"model":"alias-model","messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task RateHundredWithOneTypeAlwaysAnswersThatError()
    {
        await using var host = await SimHost.StartAsync(o => o with { FailureInjectionRate = 100, FailureTypes = ["rate_limit"] });
        for (var i = 0; i < 5; i++)
        {
            var (response, body) = await host.Client.PostJsonAsync("/v1/chat/completions", Chat);
            var message = Http.AssertError(response, body, 429, "RateLimitError");
            Assert.Contains("alias-model", message, StringComparison.Ordinal);
        }

        // Only inference is affected: the rest of the API keeps answering.
        Assert.Equal(200, (int)(await host.Client.GetAsync("/v1/models")).StatusCode);
    }

    [Fact]
    public async Task AllTypesGiveTheirStatusesAndRateZeroServes()
    {
        await using var host = await SimHost.StartAsync(o => o with { FailureInjectionRate = 100 });
        var seen = new HashSet<int>();
        for (var i = 0; i < 40; i++)
        {
            var (response, body) = await host.Client.PostJsonAsync("/v1/completions", """{"model":"test-model","prompt":"x"}""");
            Assert.True(body.GetProperty("error").TryGetProperty("message", out _));
            seen.Add((int)response.StatusCode);
        }

        Assert.Subset(new HashSet<int> { 400, 401, 404, 429, 503 }, seen);
        Assert.True(seen.Count >= 3);

        await using var healthy = await SimHost.StartAsync(o => o with { FailureInjectionRate = 0 });
        var (ok, _) = await healthy.Client.PostJsonAsync("/v1/chat/completions", Chat);
        Assert.Equal(200, (int)ok.StatusCode);
    }
}
