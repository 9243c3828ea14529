using OrleansSim.Core.Chaos;
using OrleansSim.Core.Configuration;
using Xunit;

namespace OrleansSim.Core.Tests.Chaos;

public sealed class FailureInjectorTests
{
    private static SimulatorOptions Options(double rate, params string[] types) =>
        new() { Model = "m", FailureInjectionRate = rate, FailureTypes = types, Seed = 5 };

    [Fact]
    public void RateZeroNeverFails()
    {
        var injector = new FailureInjector(Options(0));
        Assert.False(injector.Enabled);
        Assert.All(Enumerable.Range(0, 1000), _ => Assert.Null(injector.Next("m")));
    }

    [Fact]
    public void RateHundredAlwaysFailsWithAConfiguredType()
    {
        var injector = new FailureInjector(Options(100, "rate_limit", "server_error"));
        var kinds = Enumerable.Range(0, 200).Select(_ => injector.Next("m")!.Type).ToHashSet();
        Assert.Equal(["rate_limit", "server_error"], kinds.Order());
    }

    [Fact]
    public void RateIsAPercentage()
    {
        var injector = new FailureInjector(Options(30));
        var failed = Enumerable.Range(0, 10_000).Count(_ => injector.Next("m") is not null);
        Assert.InRange(failed, 2700, 3300);
    }

    [Fact]
    public void SameSeedSameSequence()
    {
        var a = new FailureInjector(Options(50));
        var b = new FailureInjector(Options(50));
        Assert.Equal(Enumerable.Range(0, 100).Select(_ => a.Next("m")?.Type), Enumerable.Range(0, 100).Select(_ => b.Next("m")?.Type));
    }

    [Theory]
    [InlineData("rate_limit", 429, null)]
    [InlineData("invalid_api_key", 401, null)]
    [InlineData("context_length", 400, "messages")]
    [InlineData("server_error", 503, null)]
    [InlineData("invalid_request", 400, "model")]
    [InlineData("model_not_found", 404, "model")]
    public void EveryKindHasItsStatusAndParam(string type, int status, string? param)
    {
        var failure = FailureInjector.Describe(type, "my-model", 1024);
        Assert.Equal((status, param), (failure.Status, failure.Param));
        Assert.False(string.IsNullOrEmpty(failure.Message));
    }

    [Fact]
    public void RateLimitAndModelNotFoundNameTheModel()
    {
        Assert.Contains("my-model", FailureInjector.Describe("rate_limit", "my-model", 1024).Message, StringComparison.Ordinal);
        Assert.Equal("The model 'my-model-nonexistent' does not exist", FailureInjector.Describe("model_not_found", "my-model", 1024).Message);
    }
}
