using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using OrleansSim.Core.Chaos;
using Xunit;

namespace OrleansSim.Core.Tests.Chaos;

public sealed class ChaosTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ChaosFault Parse(string json) => ChaosRequest.Parse(JsonNode.Parse(json)!.AsObject(), "pod-a", T0);

    [Fact]
    public void ParsesEveryKindWithItsParameters()
    {
        var error = Parse("""{"kind":"error","target":{"pod":"*","rank":1},"duration":"30s","rate":50,"types":["server_error"]}""");
        Assert.StartsWith("chaos-", error.Id, StringComparison.Ordinal);
        Assert.Equal((null, 1), (error.Target.Pod, error.Target.Rank));
        Assert.Equal((50.0, "server_error"), (error.Parameters.Rate!.Value, Assert.Single(error.Parameters.Types)));
        Assert.Equal(T0.AddSeconds(30), error.ExpiresAt);

        var latency = Parse("""{"kind":"latency","ttft_ms":100,"factor":2}""");
        Assert.Equal(new ChaosTarget("pod-a", null), latency.Target); // target omitted: this pod, every rank
        Assert.Null(latency.ExpiresAt);
        Assert.Equal((100.0, null, 2.0), (latency.Parameters.TtftMs, latency.Parameters.ItlMs, latency.Parameters.Factor));

        Assert.Equal(3, Parse("""{"kind":"drop","after_tokens":3,"target":{"pod":"pod-b"}}""").Parameters.AfterTokens);
        Assert.True(Parse("""{"kind":"unready","health":true}""").Parameters.Health);
        foreach (var kind in new[] { "stall", "queue_full", "kv_flush" })
        {
            Assert.Equal(kind, Parse($$"""{"kind":"{{kind}}","duration":null}""").Kind);
        }
    }

    [Theory]
    [InlineData("""{"target":{}}""", "kind", "Field required: 'kind'.")]
    [InlineData("""{"kind":"meteor"}""", "kind", "Unknown chaos kind 'meteor'; expected one of error, latency, stall, drop, unready, queue_full, kv_flush.")]
    [InlineData("""{"kind":"error"}""", "rate", "Field required: 'rate' (0-100).")]
    [InlineData("""{"kind":"error","rate":101}""", "rate", "'rate' must be between 0 and 100 (got 101).")]
    [InlineData("""{"kind":"error","rate":5,"types":["boom"]}""", "types", "Unknown failure type 'boom' in 'types'; expected among rate_limit, invalid_api_key, context_length, server_error, invalid_request, model_not_found.")]
    [InlineData("""{"kind":"stall","rate":5}""", "rate", "Unknown parameter 'rate' for kind 'stall' (it takes none).")]
    [InlineData("""{"kind":"latency"}""", "ttft_ms", "Kind 'latency' needs 'ttft_ms', 'itl_ms' or 'factor'.")]
    [InlineData("""{"kind":"latency","itl_ms":-1}""", "itl_ms", "'itl_ms' cannot be less than 0 (got -1).")]
    [InlineData("""{"kind":"drop","after_tokens":1.5}""", "after_tokens", "'after_tokens' must be an integer.")]
    [InlineData("""{"kind":"stall","target":{"rank":9}}""", "target.rank", "'target.rank' must be between 0 and 7 (got 9).")]
    [InlineData("""{"kind":"stall","target":{"node":"x"}}""", "target.node", "Unknown field 'target.node'; a target has 'pod' and 'rank'.")]
    [InlineData("""{"kind":"stall","duration":"soon"}""", "duration", "'duration' must be a positive duration such as \"30s\" or \"1m30s\", or null.")]
    public void RejectsBadRequestsNamingTheField(string json, string field, string message)
    {
        var ex = Assert.Throws<ChaosFormatException>(() => Parse(json));
        Assert.Equal((field, message), (ex.Field, ex.Message));
    }

    [Fact]
    public void WireFormRoundTrips()
    {
        var fault = Parse("""{"kind":"error","target":{"pod":"*","rank":0},"duration":"1m","rate":25,"types":["rate_limit"]}""");
        using var buffer = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            fault.WriteTo(w);
        }

        var wire = JsonNode.Parse(buffer.ToArray())!.AsObject();
        Assert.Equal("*", wire["target"]!["pod"]!.GetValue<string>());
        Assert.Equal(25, wire["parameters"]!["rate"]!.GetValue<double>());
        var back = ChaosFault.FromWire(wire);
        Assert.Equal((fault.Id, fault.Kind, fault.Target, fault.StartedAt, fault.ExpiresAt), (back.Id, back.Kind, back.Target, back.StartedAt, back.ExpiresAt));
        Assert.Equal(fault.Parameters.Types, back.Parameters.Types);
    }

    [Fact]
    public void RegistryExpiresFaultsOnItsClock()
    {
        var time = new FakeTimeProvider(T0);
        var registry = new ChaosRegistry(time);
        var shortOne = Parse("""{"kind":"stall","duration":"10s"}""");
        var longOne = Parse("""{"kind":"queue_full","duration":"1m"}""");
        var forever = Parse("""{"kind":"unready"}""");
        registry.Add(shortOne);
        registry.Add(longOne);
        registry.Add(forever);
        Assert.Equal(T0.AddSeconds(10), registry.NextExpiry);

        time.Advance(TimeSpan.FromSeconds(9.999));
        Assert.Equal(3, registry.Active.Count);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal([longOne, forever], registry.Active);
        Assert.Equal(T0.AddMinutes(1), registry.NextExpiry);

        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal([longOne], registry.Prune());
        Assert.Equal([forever], registry.Active);
        Assert.Null(registry.NextExpiry);
        Assert.True(registry.Remove(forever.Id));
        Assert.False(registry.Remove(forever.Id));
        Assert.Empty(registry.Active);
    }

    [Fact]
    public void RankChaosCombinesTheFaultsOfItsRankOnly()
    {
        ChaosFault[] faults =
        [
            Parse("""{"kind":"latency","ttft_ms":100,"itl_ms":10,"factor":2}"""),
            Parse("""{"kind":"latency","ttft_ms":50,"target":{"pod":"*"}}"""),
            Parse("""{"kind":"error","rate":20,"target":{"rank":1}}"""),
            Parse("""{"kind":"error","rate":80}"""),
            Parse("""{"kind":"drop","after_tokens":5}"""),
            Parse("""{"kind":"drop","after_tokens":2,"target":{"pod":"pod-a","rank":0}}"""),
            Parse("""{"kind":"unready","health":true,"target":{"pod":"pod-b"}}"""),
            Parse("""{"kind":"stall","duration":"1s"}"""),
        ];

        var rank0 = RankChaos.Of(faults, "pod-a", 0, T0)!;
        Assert.Equal(TimeSpan.FromMilliseconds(150), rank0.AddedTimeToFirstToken);
        Assert.Equal(2, rank0.LatencyFactor);
        Assert.Equal(TimeSpan.FromMilliseconds(2 * (200 + 150)), rank0.TimeToFirstToken(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(TimeSpan.FromMilliseconds(2 * (20 + 10)), rank0.InterTokenLatency(TimeSpan.FromMilliseconds(20)));
        Assert.Equal(80, rank0.Error!.Parameters.Rate);
        Assert.Equal(2, rank0.DropAfterTokens);
        Assert.True(rank0.Stalled);
        Assert.False(rank0.Unready);
        Assert.Equal(5, RankChaos.Of(faults, "pod-a", 1, T0)!.DropAfterTokens);

        // After the stall's second only the others act; another pod sees only the "*" and its own faults.
        Assert.False(RankChaos.Of(faults, "pod-a", 0, T0.AddSeconds(1))!.Stalled);
        var other = RankChaos.Of(faults, "pod-b", 3, T0)!;
        Assert.Equal((true, true, TimeSpan.FromMilliseconds(50)), (other.Unready, other.Unhealthy, other.AddedTimeToFirstToken));
        Assert.Null(other.Error);
        var podC = RankChaos.Of(faults, "pod-c", 0, T0)!;
        Assert.Equal((null, TimeSpan.FromMilliseconds(50)), (podC.Error, podC.AddedTimeToFirstToken));
        Assert.Null(RankChaos.Of([], "pod-a", 0, T0));
    }

    [Fact]
    public void ScenarioStepsAreValidatedWhenRead()
    {
        var scenario = ChaosScenario.Parse("""
            steps:
              - {at: 0s, kind: latency, target: {pod: "*"}, for: 10s, ttft_ms: 200}
              - at: 5s
                kind: error
                target: {pod: pod-b, rank: 0}
                for: 2s
                rate: 50
              - {at: 1s, kind: unready}
            """);
        Assert.Equal([1, 2, 3], scenario.Steps.Select(s => s.Number));
        Assert.Equal((TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2)), (scenario.Steps[1].At, scenario.Steps[1].For!.Value));
        Assert.Null(scenario.Steps[2].For);
        Assert.Equal("2s", ChaosScenario.RequestBody(scenario.Steps[1])["duration"]!.GetValue<string>());

        var bad = Assert.Throws<ChaosFormatException>(() => ChaosScenario.Parse("steps:\n  - {at: 1s, kind: error, rate: 500}\n", "s.yaml"));
        Assert.Equal("s.yaml: step 1: 'rate' must be between 0 and 100 (got 500).", bad.Message);
        Assert.Contains("'at' is required", Assert.Throws<ChaosFormatException>(() => ChaosScenario.Parse("steps:\n  - {kind: stall}\n")).Message, StringComparison.Ordinal);
        Assert.Contains("'steps", Assert.Throws<ChaosFormatException>(() => ChaosScenario.Parse("faults: []\n")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlayerStartsAndEndsEveryStepInOrderAndNotEarly()
    {
        var scenario = ChaosScenario.Parse("""
            steps:
              - {at: 100ms, kind: stall, for: 200ms}
              - {at: 200ms, kind: queue_full, for: 200ms}
              - {at: 200ms, kind: unready}
            """);
        // A fake clock moved in 5 ms steps: the player can only act once the clock reached an action's time, so "never
        // early" holds exactly (the system clock's timers run on a coarse tick and may fire a little early).
        var clock = new FakeTimeProvider();
        var control = new RecordingControl(clock);
        var lines = new List<string>();
        var play = ChaosScenarioPlayer.PlayAsync(scenario, control, clock, lines.Add, CancellationToken.None);
        for (var step = 0; !play.IsCompleted; step++)
        {
            Assert.True(step < 2000, "the scenario ends within 10 s of its clock");
            clock.Advance(TimeSpan.FromMilliseconds(5));
            await Task.Delay(1, TestContext.Current.CancellationToken);
        }

        await play;

        Assert.Equal(["add stall", "add queue_full", "add unready", "remove 1", "remove 2"], control.Calls.Select(c => c.What));
        // Each action happens at its time or later (never early).
        Assert.All(control.Calls.Zip([100, 200, 200, 300, 400]), c => Assert.True(c.First.At >= TimeSpan.FromMilliseconds(c.Second), $"{c.First.What} at {c.First.At}"));
        Assert.Equal(5, lines.Count);
        Assert.Contains("step 1 start: 1 stall on pod/* for 200ms", lines[0], StringComparison.Ordinal);
        Assert.Contains("until cleared", lines[2], StringComparison.Ordinal);
        Assert.Contains("step 2 end: 2", lines[4], StringComparison.Ordinal);
    }

    /// <summary>Records what the player asks for and when (on <paramref name="time"/>, from its creation).</summary>
    private sealed class RecordingControl(TimeProvider time) : IChaosControl
    {
        private readonly long _created = time.GetTimestamp();
        private int _next;

        public List<(string What, TimeSpan At)> Calls { get; } = [];

        public Task<ChaosFault> AddAsync(JsonObject body, CancellationToken cancellationToken)
        {
            var fault = ChaosRequest.Parse(body, "pod", DateTimeOffset.UtcNow) with { Id = (++_next).ToString(System.Globalization.CultureInfo.InvariantCulture) };
            Calls.Add(($"add {fault.Kind}", time.GetElapsedTime(_created)));
            return Task.FromResult(fault);
        }

        public Task<bool> RemoveAsync(string id, CancellationToken cancellationToken)
        {
            Calls.Add(($"remove {id}", time.GetElapsedTime(_created)));
            return Task.FromResult(true);
        }
    }
}

/// <summary>The example scenarios shipped in k8s/chaos are valid.</summary>
public sealed class ExampleScenarioTests
{
    [Fact]
    public void EveryExampleScenarioLoads()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OrleansSim.sln")))
        {
            dir = dir.Parent;
        }

        var files = Directory.GetFiles(Path.Combine(dir!.FullName, "k8s", "chaos"), "*.yaml");
        Assert.True(files.Length >= 3);
        Assert.All(files, f => Assert.NotEmpty(ChaosScenario.Load(f).Steps));
    }
}
