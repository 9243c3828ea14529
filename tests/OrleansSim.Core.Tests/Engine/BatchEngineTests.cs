using Xunit;
using OrleansSim.Core.Engine;

namespace OrleansSim.Core.Tests.Engine;

public class BatchEngineTests
{
    private static readonly StepProfile Profile = StepProfile.Default;

    private static BatchEngine Engine(int seqs = 8, int budget = 2048, int threshold = 0, int blocks = int.MaxValue, int blockSize = 16,
        Func<EngineSequence, int?>? tryPin = null, Action<EngineSequence>? unpin = null) =>
        new(new EngineLimits(seqs, budget, threshold, blocks, blockSize), Profile, tryPin, unpin);

    [Fact]
    public void OneRequestPrefillThenOneTokenPerStepWithTheProfilesStepTimes()
    {
        var engine = Engine();
        var seq = new EngineSequence(1, promptTokens: 100, outputTokens: 3);
        engine.Add(seq);

        var prefill = engine.Step();
        Assert.Equal(100, prefill.PrefillTokens);
        Assert.Equal(0, prefill.DecodeSequences);
        Assert.Equal(100, prefill.KvTokensRead);
        Assert.Equal(Profile.StepTime(100, 0, 100), prefill.Duration);
        Assert.Equal([seq], prefill.Started);
        Assert.Equal([new StepEvent(seq, 0, false)], prefill.Events);

        var decode = engine.Step();
        Assert.Equal(0, decode.PrefillTokens);
        Assert.Equal(1, decode.DecodeSequences);
        Assert.Equal(101, decode.KvTokensRead);
        Assert.Equal(Profile.StepTime(0, 1, 101), decode.Duration);
        Assert.Equal([new StepEvent(seq, 1, false)], decode.Events);

        var last = engine.Step();
        Assert.Equal([new StepEvent(seq, 2, true)], last.Events);
        Assert.Equal(SequenceState.Finished, seq.State);
        Assert.False(engine.HasWork);
        Assert.True(engine.Step().IsEmpty);
        Assert.Equal(0, engine.UsedBlocks);
    }

    [Fact]
    public void LongPromptIsChunkedIntoTheTokenBudgetAndRunningDecodesGoFirst()
    {
        var engine = Engine(budget: 64);
        var decoder = new EngineSequence(1, promptTokens: 10, outputTokens: 100);
        engine.Add(decoder);
        engine.Step(); // decoder's prefill → token 0

        var longPrompt = new EngineSequence(2, promptTokens: 200, outputTokens: 1);
        engine.Add(longPrompt);
        var chunks = new List<int>();
        EngineStep step;
        do
        {
            step = engine.Step();
            Assert.Equal(1, step.DecodeSequences); // the running stream gets its token every step
            Assert.Contains(step.Events, e => e.Sequence == decoder);
            chunks.Add(step.PrefillTokens);
        }
        while (!step.Events.Any(e => e.Sequence == longPrompt));

        // 63 tokens of budget left per step after the decode: 63 + 63 + 63 + 11 = 200.
        Assert.Equal([63, 63, 63, 11], chunks);
    }

    [Fact]
    public void LongPrefillThresholdCapsOneSequencesChunk()
    {
        var engine = Engine(budget: 1000, threshold: 128);
        var seq = new EngineSequence(1, promptTokens: 300, outputTokens: 1);
        engine.Add(seq);
        Assert.Equal(128, engine.Step().PrefillTokens);
        Assert.Equal(128, engine.Step().PrefillTokens);
        var last = engine.Step();
        Assert.Equal(44, last.PrefillTokens);
        Assert.Single(last.Events);
    }

    [Fact]
    public void NewRequestsJoinAtStepBoundariesWhileSlotsAllow()
    {
        var engine = Engine(seqs: 2);
        var a = new EngineSequence(1, 10, 2);
        var b = new EngineSequence(2, 10, 5);
        var c = new EngineSequence(3, 10, 1);
        engine.Add(a);
        engine.Add(b);
        engine.Add(c);

        var first = engine.Step();
        Assert.Equal([a, b], first.Started);
        Assert.Equal(1, engine.Waiting);
        engine.Step(); // a produces its last token and leaves
        Assert.Equal(SequenceState.Finished, a.State);
        var third = engine.Step();
        Assert.Equal([c], third.Started); // c joins at the next boundary
        Assert.Equal(10, third.PrefillTokens);
        Assert.Equal(1, third.DecodeSequences);
    }

    [Fact]
    public void DecodeStepTakesLongerWith32StreamsThanWith1()
    {
        static TimeSpan DecodeStepWith(int streams)
        {
            var engine = Engine(seqs: 64, budget: 8192);
            for (var i = 0; i < streams; i++)
            {
                engine.Add(new EngineSequence(i, 100, 10));
            }

            engine.Step(); // every prefill
            var decode = engine.Step();
            Assert.Equal(streams, decode.DecodeSequences);
            return decode.Duration;
        }

        var one = DecodeStepWith(1);
        var many = DecodeStepWith(32);
        Assert.Equal(Profile.StepTime(0, 32, 32 * 101) - Profile.StepTime(0, 1, 101), many - one);
        Assert.True(many > one);
    }

    [Fact]
    public void ALongPromptArrivingSlowsTheRunningStreamsNextToken()
    {
        var engine = Engine(budget: 8192);
        var stream = new EngineSequence(1, 20, 50);
        engine.Add(stream);
        engine.Step();
        var plain = engine.Step().Duration;

        engine.Add(new EngineSequence(2, 4000, 1));
        var shared = engine.Step();
        Assert.Equal(4000, shared.PrefillTokens);
        Assert.Contains(shared.Events, e => e.Sequence == stream);
        Assert.True(shared.Duration > plain + TimeSpan.FromMilliseconds(100), $"{shared.Duration} vs {plain}");
    }

    [Fact]
    public void TinyCachePreemptsTheNewestRunningRequestWhichRecomputesAndFinishes()
    {
        var pinned = new Dictionary<long, int>();
        // 6 blocks of 4 tokens: two requests of 8 prompt tokens (2 blocks each) fit, their outputs do not.
        var engine = Engine(blocks: 6, blockSize: 4,
            tryPin: s => { pinned[s.Id] = pinned.GetValueOrDefault(s.Id) + 1; return 0; },
            unpin: s => pinned[s.Id]--);
        var older = new EngineSequence(1, 8, 12);
        var newer = new EngineSequence(2, 8, 12);
        engine.Add(older);
        engine.Add(newer);

        var tokens = new Dictionary<long, List<int>> { [1] = [], [2] = [] };
        var steps = 0;
        while (engine.HasWork && steps++ < 200)
        {
            var step = engine.Step();
            Assert.True(engine.UsedBlocks <= 6);
            foreach (var e in step.Events)
            {
                tokens[e.Sequence.Id].Add(e.Index);
            }
        }

        Assert.True(engine.Preemptions > 0);
        Assert.True(newer.Preemptions > 0);
        Assert.Equal(0, older.Preemptions); // the newest is always the victim
        Assert.Equal(Enumerable.Range(0, 12), tokens[1]);
        Assert.Equal(Enumerable.Range(0, 12), tokens[2]); // no token lost or repeated across the preemption
        Assert.Equal(0, engine.UsedBlocks);
        Assert.All(pinned.Values, count => Assert.Equal(0, count)); // every pin given back exactly once
    }

    [Fact]
    public void PrefixHitShortensThePrefill()
    {
        var engine = Engine(tryPin: _ => 64);
        var seq = new EngineSequence(1, 100, 1);
        engine.Add(seq);
        var step = engine.Step();
        Assert.Equal(36, step.PrefillTokens);
        Assert.Equal(100, step.KvTokensRead);
        Assert.Equal(64, seq.FirstCachedTokens);

        // A full hit still computes the last prompt token (a token must be sampled).
        var full = Engine(tryPin: _ => 1000);
        full.Add(new EngineSequence(2, 100, 1));
        Assert.Equal(1, full.Step().PrefillTokens);
    }

    [Fact]
    public void CancelGivesEverythingBack()
    {
        var unpins = 0;
        var engine = Engine(blocks: 100, tryPin: _ => 0, unpin: _ => unpins++);
        var running = new EngineSequence(1, 50, 10);
        var waiting = new EngineSequence(2, 50, 10);
        engine.Add(running);
        engine.Step();
        engine.Add(waiting);

        Assert.True(engine.Cancel(running));
        Assert.True(engine.Cancel(waiting));
        Assert.False(engine.Cancel(running));
        Assert.Equal(0, engine.UsedBlocks);
        Assert.Equal(1, unpins);
        Assert.False(engine.HasWork);
    }

    [Fact]
    public void ZeroOutputTokensReportsOnceWhenThePrefillEnds()
    {
        var engine = Engine();
        var seq = new EngineSequence(1, 30, 0);
        engine.Add(seq);
        var step = engine.Step();
        Assert.Equal([new StepEvent(seq, 0, true)], step.Events);
        Assert.False(engine.HasWork);
    }

    [Fact]
    public void MaxLorasKeepsARequestOfAThirdAdapterWaitingWhileLaterOnesRun()
    {
        var engine = new BatchEngine(new EngineLimits(8, 2048, MaxLoras: 1), Profile);
        engine.Add(new EngineSequence(1, 10, 5, adapter: "a"));
        engine.Add(new EngineSequence(2, 10, 5, adapter: "b"));
        engine.Add(new EngineSequence(3, 10, 5, adapter: "a"));
        var step = engine.Step();
        Assert.Equal([1L, 3L], step.Started.Select(s => s.Id));
        Assert.Equal(["b"], engine.WaitingAdapters);
    }
}
