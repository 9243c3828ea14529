using System.Text.Json.Nodes;
using Xunit;
using Microsoft.Extensions.Time.Testing;
using OrleansSim.Core.Chaos;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Engine;
using OrleansSim.Core.Timing;

namespace OrleansSim.Core.Tests.Engine;

public class EngineLoopTests
{
    [Fact]
    public async Task TokensAreDueAtTheEndOfTheirStepsOnAFakeClock()
    {
        var time = new FakeTimeProvider();
        var engine = new BatchEngine(new EngineLimits(8, 2048), StepProfile.Default);
        var steps = new System.Collections.Concurrent.ConcurrentQueue<EngineStep>();
        var loop = new EngineLoop(engine, time, new TimeProviderPacer(time), steps.Enqueue);
        var stream = new EngineStream();
        var t0 = time.GetTimestamp();
        engine.Add(new EngineSequence(1, 100, 3, tag: stream));
        var reader = Task.Run(async () =>
        {
            var read = new List<long>();
            for (var k = 0; k < 3; k++)
            {
                read.Add(await stream.NextDueAsync(TestContext.Current.CancellationToken));
            }

            return read;
        }, TestContext.Current.CancellationToken);
        loop.Kick();

        // The loop reports each step as it starts it, then waits for the step's end. The clock is moved exactly to that end,
        // never past it while the loop has not taken its turn yet: a clock moved on behind a slow loop (a busy machine) is
        // a late wake-up, which the loop answers by restarting its clock at "now" instead of chaining the steps.
        var end = t0;
        var started = 0;
        var patience = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!reader.IsCompleted)
        {
            Assert.True(DateTime.UtcNow < patience, $"the loop is stuck after {started} steps");
            if (steps.Count > started)
            {
                end += (long)(steps.ElementAt(started).Duration.TotalSeconds * time.TimestampFrequency);
                started++;
                time.Advance(time.GetElapsedTime(time.GetTimestamp(), end));
                continue;
            }

            await Task.Delay(1, TestContext.Current.CancellationToken);
        }

        var due = await reader;
        var stepList = steps.ToArray();
        Assert.Equal(t0, stream.StartedAt);
        var expected = t0;
        for (var k = 0; k < 3; k++)
        {
            expected += (long)(stepList[k].Duration.TotalSeconds * time.TimestampFrequency);
            Assert.Equal(expected, due[k]);
        }

        await Assert.ThrowsAsync<System.Threading.Channels.ChannelClosedException>(async () => await stream.NextDueAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AChaosLatencyFaultStretchesEveryStepOfTheRank()
    {
        var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var fault = ChaosRequest.Parse(JsonNode.Parse("""{"kind":"latency","itl_ms":5,"factor":2}""")!.AsObject(), "pod-a", now);
        var chaos = RankChaos.Of([fault], "pod-a", 0, now)!;
        Assert.Null(RankChaos.Of([fault], "pod-b", 0, now)); // another pod's rank keeps its clock

        // The same request on an engine nobody slows: what the profile says each step takes.
        var twin = new BatchEngine(new EngineLimits(8, 64), StepProfile.Default);
        twin.Add(new EngineSequence(1, 100, 3));
        var planned = new List<TimeSpan>();
        while (twin.HasWork)
        {
            planned.Add(twin.Step().Duration);
        }

        var time = new FakeTimeProvider();
        var engine = new BatchEngine(new EngineLimits(8, 64), StepProfile.Default);
        var steps = new List<EngineStep>();
        var loop = new EngineLoop(engine, time, new TimeProviderPacer(time), steps.Add, chaos.StepTime);
        var stream = new EngineStream();
        var t0 = time.GetTimestamp();
        engine.Add(new EngineSequence(1, 100, 3, tag: stream));
        loop.Kick();
        var due = await ReadAllDueAsync(stream, time, 3);

        // 100 prompt tokens in chunks of 64: two prefill steps (the second yields the first token), then two decode steps.
        Assert.Equal(4, planned.Count);
        var expected = t0;
        for (var s = 0; s < planned.Count; s++)
        {
            var stretched = (planned[s] + TimeSpan.FromMilliseconds(5)) * 2;
            Assert.Equal(stretched, steps[s].Duration); // the metrics see the stretched step too
            expected += (long)(stretched.TotalSeconds * time.TimestampFrequency);
            if (s >= 1)
            {
                Assert.Equal(expected, due[s - 1]);
            }
        }
    }

    private static async Task<List<long>> ReadAllDueAsync(EngineStream stream, FakeTimeProvider time, int tokens)
    {
        var t0 = time.GetTimestamp();
        var due = new List<long>();
        for (var k = 0; k < tokens; k++)
        {
            var next = stream.NextDueAsync(TestContext.Current.CancellationToken).AsTask();
            while (!next.IsCompleted)
            {
                await Task.Delay(1, TestContext.Current.CancellationToken);
                if (!next.IsCompleted && time.GetElapsedTime(t0) < TimeSpan.FromSeconds(10))
                {
                    time.Advance(TimeSpan.FromMilliseconds(1));
                }
            }

            due.Add(await next);
        }

        return due;
    }

    [Fact]
    public void StepProfileParsesYamlAndNamesTheBadKey()
    {
        var profile = StepProfile.Parse("name: tiny\noverhead-ms: 2\nprefill-per-token-ms: 0.01\ndecode-per-sequence-ms: 0.5\nkv-read-per-1k-tokens-ms: 0\n");
        Assert.Equal("tiny", profile.Name);
        Assert.Equal(TimeSpan.FromMilliseconds(2), profile.Overhead);
        Assert.Equal(TimeSpan.FromMilliseconds(3.5), profile.StepTime(100, 1, 5000));

        var bad = Assert.Throws<OptionsException>(() => StepProfile.Parse("decode-per-sequence-ms: fast"));
        Assert.Contains("'decode-per-sequence-ms'", bad.Message);
        Assert.Contains("unknown key 'x'", Assert.Throws<OptionsException>(() => StepProfile.Parse("x: 1")).Message);
    }
}
