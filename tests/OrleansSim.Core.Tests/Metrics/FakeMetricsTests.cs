using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Metrics;
using Xunit;

namespace OrleansSim.Core.Tests.Metrics;

/// <summary>--fake-metrics: parsing and validation of the object, the time functions on a fake clock, histogram fills, the flags.</summary>
public sealed class FakeMetricsTests : IDisposable
{
    private static readonly Dictionary<string, string?> NoEnv = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("orleanssim-fake-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static FakeMetricsSpec Parse(string json) => FakeMetricsSpec.Parse(JsonNode.Parse(json)!.AsObject());

    private static string Problem(string json) => Assert.Throws<FormatException>(() => Parse(json)).Message;

    private static FakeFunction Fn(string text) => Assert.IsType<FakeFunction>(Parse($$"""{"waiting-requests":"{{text}}"}""").WaitingRequests!.Function);

    // ---------- parsing ----------

    [Fact]
    public void ParsesEveryKey()
    {
        var spec = Parse("""
            {"running-requests":16,"waiting-requests":"oscillate:0:5:1s","kv-cache-usage":"0.3",
             "loras":[{"running":"lora1,lora2","waiting":"lora3","timestamp":1257894567}],
             "ttft-buckets-values":[10,20,30,10],"tpot-buckets-values":[0,0,10],"request-tpot-buckets-values":[1],
             "e2erl-buckets-values":[2],"queue-time-buckets-values":[3],"inf-time-buckets-values":[4],
             "prefill-time-buckets-values":[5],"decode-time-buckets-values":[6],
             "request-prompt-tokens":[10,20],"request-generation-tokens":[50],"request-params-max-tokens":[1,2,3],
             "request-max-generation-tokens":[0,0,10],"request-success-total":{"stop":20,"length":3},
             "total-prompt-tokens":500,"total-generation-tokens":600,"prefix-cache-hits":10,"prefix-cache-queries":40}
            """);
        Assert.Equal(new FakeValue(16, null), spec.RunningRequests);
        Assert.Equal(new FakeFunction(FakeFunctionKind.Oscillate, 0, 5, TimeSpan.FromSeconds(1)), spec.WaitingRequests!.Function);
        Assert.Equal(new FakeValue(0.3, null), spec.KvCacheUsage);
        Assert.Equal([new FakeLoraSeries("lora1,lora2", "lora3", 1257894567)], spec.Loras);
        Assert.Equal([10L, 20, 30, 10], spec.TtftBuckets);
        Assert.Equal([0L, 0, 10], spec.TpotBuckets);
        Assert.Equal([1L], spec.RequestTpotBuckets);
        Assert.Equal([2L], spec.E2eBuckets);
        Assert.Equal([3L], spec.QueueTimeBuckets);
        Assert.Equal([4L], spec.InferenceTimeBuckets);
        Assert.Equal([5L], spec.PrefillTimeBuckets);
        Assert.Equal([6L], spec.DecodeTimeBuckets);
        Assert.Equal([10L, 20], spec.RequestPromptTokens);
        Assert.Equal([50L], spec.RequestGenerationTokens);
        Assert.Equal([1L, 2, 3], spec.RequestParamsMaxTokens);
        Assert.Equal([0L, 0, 10], spec.RequestMaxGenerationTokens);
        Assert.Equal(new Dictionary<string, long> { ["stop"] = 20, ["length"] = 3 }, spec.RequestSuccessTotal);
        Assert.Equal((500L, 600L, 10L, 40L), (spec.TotalPromptTokens, spec.TotalGenerationTokens, spec.PrefixCacheHits, spec.PrefixCacheQueries));
    }

    [Fact]
    public void AbsentKeysAreNotPinned()
    {
        var spec = Parse("""{"kv-cache-usage":0.5}""");
        Assert.Null(spec.RunningRequests);
        Assert.Null(spec.WaitingRequests);
        Assert.Null(spec.Loras);
        Assert.Null(spec.TtftBuckets);
        Assert.Null(spec.RequestSuccessTotal);
        Assert.Null(spec.TotalPromptTokens);
    }

    [Fact]
    public void LorasAcceptJsonStringsAsLlmdYamlWritesThem()
    {
        var spec = Parse("""{"loras":["{\"running\":\"a\",\"waiting\":\"\",\"timestamp\":5}",{"waiting":"b","timestamp":6.5}]}""");
        Assert.Equal([new FakeLoraSeries("a", "", 5), new FakeLoraSeries("", "b", 6.5)], spec.Loras);
    }

    [Theory]
    [InlineData("oscillate:0:10:5s", FakeFunctionKind.Oscillate, 0, 10, 5000)]
    [InlineData("ramp:10:0:500ms", FakeFunctionKind.Ramp, 10, 0, 500)]
    [InlineData("rampreset:1.5:2.5:1m", FakeFunctionKind.RampReset, 1.5, 2.5, 60000)]
    [InlineData("squarewave:0:3:250", FakeFunctionKind.SquareWave, 0, 3, 250)]
    public void ParsesFunctions(string text, FakeFunctionKind kind, double start, double end, int periodMs)
    {
        Assert.Equal(new FakeFunction(kind, start, end, TimeSpan.FromMilliseconds(periodMs)), Fn(text));
    }

    [Fact]
    public void FunctionTextRoundTrips()
    {
        Assert.Equal("ramp:0:10:5s", Fn("ramp:0:10:5s").ToString());
        Assert.Equal("oscillate:0.5:2:1.5s", Fn("oscillate:0.5:2:1.5s").ToString());
    }

    [Theory]
    [InlineData("""{"running-requests":-1}""", "running-requests cannot be negative (got -1)")]
    [InlineData("""{"waiting-requests":"ramp:-1:5:1s"}""", "waiting-requests start and end cannot be negative (got 'ramp:-1:5:1s')")]
    [InlineData("""{"kv-cache-usage":1.5}""", "kv-cache-usage must be between 0 and 1 (got 1.5)")]
    [InlineData("""{"kv-cache-usage":"oscillate:0:2:1s"}""", "kv-cache-usage start and end must be between 0 and 1 (got 'oscillate:0:2:1s')")]
    [InlineData("""{"running-requests":"sine:0:5:1s"}""", "running-requests: unknown function 'sine' (must be one of oscillate, ramp, rampreset, squarewave)")]
    [InlineData("""{"running-requests":"ramp:0:5"}""", "running-requests must be a number or fun:start:end:period, e.g. ramp:0:10:5s (got 'ramp:0:5')")]
    [InlineData("""{"running-requests":"ramp:a:5:1s"}""", "running-requests: start and end must be numbers (got 'ramp:a:5:1s')")]
    [InlineData("""{"running-requests":"ramp:0:5:soon"}""", "running-requests: period must be a duration such as 5s or 500ms (got 'soon')")]
    [InlineData("""{"running-requests":"ramp:0:5:0s"}""", "running-requests: period must be positive (got '0s')")]
    [InlineData("""{"running-requests":true}""", "running-requests must be a number or fun:start:end:period (got true)")]
    [InlineData("""{"ttft-buckets-values":[1,-2]}""", "ttft-buckets-values[1] cannot be negative (got -2)")]
    [InlineData("""{"ttft-buckets-values":[1.5]}""", "ttft-buckets-values[0] must be a whole number (got 1.5)")]
    [InlineData("""{"ttft-buckets-values":5}""", "ttft-buckets-values must be a list of whole numbers (got 5)")]
    [InlineData("""{"tpot-buckets-values":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]}""", "tpot-buckets-values has 21 values but the histogram has only 20 buckets (the last is +Inf)")]
    [InlineData("""{"request-prompt-tokens":[-1]}""", "request-prompt-tokens[0] cannot be negative (got -1)")]
    [InlineData("""{"request-success-total":{"stop":-1}}""", "request-success-total.stop cannot be negative (got -1)")]
    [InlineData("""{"request-success-total":{"tool_calls":1}}""", "request-success-total: unknown finish reason 'tool_calls' (vLLM's are stop, length, abort, error, repetition)")]
    [InlineData("""{"prefix-cache-hits":1}""", "prefix-cache-hits and prefix-cache-queries must be given together")]
    [InlineData("""{"prefix-cache-hits":5,"prefix-cache-queries":4}""", "prefix-cache-hits cannot exceed prefix-cache-queries (got 5 > 4)")]
    [InlineData("""{"total-prompt-tokens":-3}""", "total-prompt-tokens cannot be negative (got -3)")]
    [InlineData("""{"loras":[{"running":"a"}]}""", "loras[0].timestamp must be a number (unix seconds)")]
    [InlineData("""{"loras":[{"running":1,"timestamp":1}]}""", "loras[0].running must be a comma-separated string of adapter names (got 1)")]
    [InlineData("""{"loras":["not json"]}""", "loras[0] is not a JSON object (got 'not json')")]
    [InlineData("""{"loras":[{"runing":"a","timestamp":1}]}""", "loras[0] has an unknown key 'runing' (known keys: running, waiting, timestamp)")]
    public void RejectsBadValuesNamingTheKey(string json, string problem)
    {
        Assert.Equal(problem, Problem(json));
    }

    [Fact]
    public void RejectsUnknownKeys()
    {
        Assert.StartsWith("has an unknown key 'running' (known keys: running-requests, waiting-requests,", Problem("""{"running":1}"""), StringComparison.Ordinal);
    }

    // ---------- time functions on a fake clock ----------

    private static (FakeMetricsClock Clock, FakeTimeProvider Time) Clock(string json, int refreshMs = 100)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        return (new FakeMetricsClock(Parse(json), TimeSpan.FromMilliseconds(refreshMs), time), time);
    }

    private static double[] KvSeries(string function, int steps, int stepMs)
    {
        var (clock, time) = Clock($$"""{"kv-cache-usage":"{{function}}"}""", refreshMs: 1);
        var values = new double[steps];
        for (var i = 0; i < steps; i++)
        {
            values[i] = clock.KvCacheUsage()!.Value;
            time.Advance(TimeSpan.FromMilliseconds(stepMs));
        }

        return values;
    }

    [Fact]
    public void OscillateIsASineAroundTheMidpoint()
    {
        // period 4s, sampled every second: mid, max, mid, min, mid, max
        var values = KvSeries("oscillate:0.2:0.6:4s", 6, 1000);
        double[] expected = [0.4, 0.6, 0.4, 0.2, 0.4, 0.6];
        Assert.Equal(expected.Length, values.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], values[i], 9);
        }
    }

    [Fact]
    public void RampClimbsOnceThenStays()
    {
        var values = KvSeries("ramp:0:1:4s", 7, 1000);
        Assert.Equal([0, 0.25, 0.5, 0.75, 1, 1, 1], values);
        Assert.Equal([1, 0.5, 0, 0], KvSeries("ramp:1:0:2s", 4, 1000)); // downwards too
    }

    [Fact]
    public void RampResetStartsOverEveryPeriod()
    {
        Assert.Equal([0, 0.25, 0.5, 0.75, 0, 0.25, 0.5, 0.75, 0], KvSeries("rampreset:0:1:4s", 9, 1000));
    }

    [Fact]
    public void SquareWaveHoldsEachLevelForHalfAPeriod()
    {
        Assert.Equal([0.1, 0.1, 0.9, 0.9, 0.1, 0.1, 0.9, 0.9], KvSeries("squarewave:0.1:0.9:2s", 8, 500));
    }

    [Fact]
    public void FixedValuesNeverMove()
    {
        var (clock, time) = Clock("""{"running-requests":7,"kv-cache-usage":0.25}""");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal((7d, 0.25), (clock.Running()!.Value, clock.KvCacheUsage()!.Value));
            time.Advance(TimeSpan.FromMinutes(13));
        }

        Assert.Null(clock.Waiting());
    }

    [Fact]
    public void RequestCountsAreWholeNumbers()
    {
        var (clock, time) = Clock("""{"running-requests":"ramp:0:10:10s","waiting-requests":2.9}""");
        time.Advance(TimeSpan.FromMilliseconds(2500)); // ramp at 2.5
        Assert.Equal(2, clock.Running());
        Assert.Equal(2, clock.Waiting());
    }

    [Fact]
    public void ValuesMoveOnlyEveryRefreshInterval()
    {
        var (clock, time) = Clock("""{"kv-cache-usage":"ramp:0:1:10s"}""", refreshMs: 1000);
        time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed);
        Assert.Equal(0.1, clock.KvCacheUsage()!.Value, 9);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(0.2, clock.KvCacheUsage()!.Value, 9);
        Assert.Equal(TimeSpan.Zero, FakeMetricsClock.Quantize(TimeSpan.FromMilliseconds(-5), TimeSpan.FromSeconds(1)));
    }

    // ---------- histogram fills ----------

    [Fact]
    public void HistogramFillCountsEachSampleAtItsBucketBound()
    {
        double[] bounds = [1, 2, 5];
        var fill = FakeHistogramFill.Of(bounds, [3, 0, 2, 4]);
        Assert.Equal([3L, 0, 2, 4], fill.Counts);
        Assert.Equal((3 * 1) + (2 * 5) + (4 * 6), fill.Sum); // +Inf samples count as last bound + 1

        var shortFill = FakeHistogramFill.Of(bounds, [1]);
        Assert.Equal([1L, 0, 0, 0], shortFill.Counts); // missing trailing buckets are 0
        var longFill = FakeHistogramFill.Of(bounds, [0, 0, 0, 1, 2]);
        Assert.Equal([0L, 0, 0, 3], longFill.Counts); // entries past +Inf add to +Inf
    }

    // ---------- flags ----------

    [Fact]
    public void CommandLineFlagSetsTheSpecAndRefreshInterval()
    {
        var o = OptionsLoader.Load(["--model", "m", "--fake-metrics", """{"running-requests":3,"waiting-requests":"ramp:0:4:2s"}""", "--fake-metrics-refresh-interval", "250ms"], NoEnv);
        Assert.Equal(3, o.FakeMetrics!.RunningRequests!.Fixed);
        Assert.Equal(FakeFunctionKind.Ramp, o.FakeMetrics.WaitingRequests!.Function!.Kind);
        Assert.Equal(TimeSpan.FromMilliseconds(250), o.FakeMetricsRefreshInterval);

        var defaults = OptionsLoader.Load(["--model", "m"], NoEnv);
        Assert.Null(defaults.FakeMetrics);
        Assert.Equal(TimeSpan.FromMilliseconds(100), defaults.FakeMetricsRefreshInterval);

        using var dump = JsonDocument.Parse(OptionsJson.Serialize(o));
        Assert.Equal(3, dump.RootElement.GetProperty("fake-metrics").GetProperty("running-requests").GetInt32());
        Assert.Equal("250ms", dump.RootElement.GetProperty("fake-metrics-refresh-interval").GetString());
        using var defaultDump = JsonDocument.Parse(OptionsJson.Serialize(defaults));
        Assert.Equal(JsonValueKind.Null, defaultDump.RootElement.GetProperty("fake-metrics").ValueKind);
    }

    [Fact]
    public void BadObjectIsAFlagError()
    {
        var e = Assert.Throws<OptionsException>(() => OptionsLoader.Load(["--model", "m", "--fake-metrics", """{"kv-cache-usage":2}"""], NoEnv));
        Assert.Equal("--fake-metrics kv-cache-usage must be between 0 and 1 (got 2)", e.Message);
        e = Assert.Throws<OptionsException>(() => OptionsLoader.Load(["--model", "m", "--fake-metrics", "[1]"], NoEnv));
        Assert.StartsWith("--fake-metrics must be a JSON object", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void YamlFormAsLlmdWritesIt()
    {
        // manifests/config_with_fake.yaml of llm-d-inference-sim, plus a refresh interval.
        var path = Path.Combine(_dir, "fake.yaml");
        File.WriteAllText(path, """
            model: m
            fake-metrics-refresh-interval: 50ms
            fake-metrics:
              running-requests: 16
              waiting-requests: oscillate:0:5:1s
              kv-cache-usage: 0.3
              request-success-total:
                stop: 20
              request-prompt-tokens: [ 10, 20, 30, 15 ]
              request-generation-tokens: [ 50, 60, 40 ]
              request-params-max-tokens: [ 128, 256, 512 ]
              request-max-generation-tokens: [0, 0, 10, 20]
              loras:
              - '{"running":"lora1,lora2","waiting":"lora3","timestamp":1257894567}'
              - running: lora1,lora3
                waiting: ""
                timestamp: 1257894569
              ttft-buckets-values: [10, 20, 30, 10]
              tpot-buckets-values: [0, 0, 10, 20, 30]
            """);
        var o = OptionsLoader.Load(["--config", path], NoEnv);
        var spec = o.FakeMetrics!;
        Assert.Equal(TimeSpan.FromMilliseconds(50), o.FakeMetricsRefreshInterval);
        Assert.Equal(16, spec.RunningRequests!.Fixed);
        Assert.Equal(new FakeFunction(FakeFunctionKind.Oscillate, 0, 5, TimeSpan.FromSeconds(1)), spec.WaitingRequests!.Function);
        Assert.Equal(0.3, spec.KvCacheUsage!.Fixed);
        Assert.Equal(20, spec.RequestSuccessTotal!["stop"]);
        Assert.Equal([10L, 20, 30, 15], spec.RequestPromptTokens);
        Assert.Equal([new FakeLoraSeries("lora1,lora2", "lora3", 1257894567), new FakeLoraSeries("lora1,lora3", "", 1257894569)], spec.Loras);
        Assert.Equal([0L, 0, 10, 20, 30], spec.TpotBuckets);

        File.WriteAllText(path, "model: m\nfake-metrics:\n  waiting-requests: ramp:0:5\n");
        var e = Assert.Throws<OptionsException>(() => OptionsLoader.Load(["--config", path], NoEnv));
        Assert.StartsWith("--fake-metrics waiting-requests must be a number or fun:start:end:period", e.Message, StringComparison.Ordinal);
    }
}
