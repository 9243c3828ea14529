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
        var pacer = new HandPacer(time);
        var loop = new EngineLoop(engine, time, pacer, steps.Enqueue);
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

        // Each step the loop waits for is handed to the test, which moves the clock exactly to the step's end and lets the
        // loop go on: never past it (a clock moved on behind a slow loop is a late wake-up, which the loop answers by
        // restarting its clock at "now" instead of chaining the steps), and never before the loop waits (a timer armed
        // after the clock moved would be due a whole step later, and nothing would move the clock again). Three steps: the
        // prefill that yields the first token, then two decode steps; each is reported before the loop waits for it.
        await pacer.ReleaseAsync(3);

        var due = await reader.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        var stepList = steps.ToArray();
        Assert.Equal(3, stepList.Length);
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
        var pacer = new HandPacer(time);
        var loop = new EngineLoop(engine, time, pacer, steps.Add, chaos.StepTime);
        var stream = new EngineStream();
        var t0 = time.GetTimestamp();
        engine.Add(new EngineSequence(1, 100, 3, tag: stream));
        loop.Kick();
        await pacer.ReleaseAsync(planned.Count); // every step at its exact end (see the test above)
        var due = new List<long>();
        for (var k = 0; k < 3; k++)
        {
            due.Add(await stream.NextDueAsync(TestContext.Current.CancellationToken));
        }

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

    /// <summary>
    /// A pacer the test drives: every wait is queued for the test, which moves the fake clock to its deadline and then
    /// lets it end (<see cref="ReleaseAsync"/>).
    /// </summary>
    private sealed class HandPacer(FakeTimeProvider time) : IPacer
    {
        private readonly System.Threading.Channels.Channel<(long Deadline, TaskCompletionSource Done)> _waits =
            System.Threading.Channels.Channel.CreateUnbounded<(long, TaskCompletionSource)>();

        public ValueTask WaitUntilAsync(long deadline, CancellationToken cancellationToken)
        {
            if (time.GetTimestamp() >= deadline)
            {
                return ValueTask.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waits.Writer.TryWrite((deadline, done));
            return new ValueTask(done.Task.WaitAsync(cancellationToken));
        }

        /// <summary>
        /// Lets the loop through its next <paramref name="count"/> waits: for each, once the loop waits, moves the clock
        /// exactly to its deadline and ends it. Fails when the loop does not wait within 30 s.
        /// </summary>
        public async Task ReleaseAsync(int count)
        {
            for (var released = 0; released < count; released++)
            {
                var next = _waits.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask();
                await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
                Assert.True(next.IsCompletedSuccessfully, $"the loop is stuck after {released} steps");
                var (deadline, done) = await next;
                time.Advance(time.GetElapsedTime(time.GetTimestamp(), deadline));
                done.SetResult();
            }
        }
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
