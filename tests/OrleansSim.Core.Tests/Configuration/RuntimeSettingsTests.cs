using System.Text.Json.Nodes;
using OrleansSim.Core.Configuration;
using Xunit;

namespace OrleansSim.Core.Tests.Configuration;

public sealed class RuntimeSettingsTests
{
    [Fact]
    public void TheStepEngineClockCannotBeSwitchedWhileRunning()
    {
        var constant = new RuntimeSettings(new SimulatorOptions { Model = "m", LatencyCalculator = "constant" });
        var error = Assert.Throws<OptionsException>(() => constant.Update(new JsonObject { ["latency-calculator"] = "step" }));
        Assert.Contains("'latency-calculator'", error.Message, StringComparison.Ordinal);
        Assert.Equal("constant", constant.Options.LatencyCalculator); // nothing changed

        var step = new RuntimeSettings(new SimulatorOptions { Model = "m", LatencyCalculator = "step" });
        Assert.Throws<OptionsException>(() => step.Update(new JsonObject { ["latency-calculator"] = "per-token" }));
        Assert.Equal("per-token", constant.Update(new JsonObject { ["latency-calculator"] = "per-token" }).LatencyCalculator);
    }
}
