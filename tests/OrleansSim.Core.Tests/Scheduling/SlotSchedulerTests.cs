using OrleansSim.Core.Scheduling;
using Xunit;

namespace OrleansSim.Core.Tests.Scheduling;

public sealed class SlotSchedulerTests
{
    private sealed record Req(string Name, string? Lora = null);

    private static SlotScheduler<Req> Scheduler(int slots, int maxWaiting = 100, int maxLoras = 1) =>
        new(slots, maxWaiting, maxLoras, r => r.Lora);

    [Fact]
    public void WithoutAdaptersItIsFifoWithABoundedQueue()
    {
        var s = Scheduler(slots: 1, maxWaiting: 2);
        var a = new Req("a");
        var b = new Req("b");
        var c = new Req("c");
        Assert.Equal(AdmitOutcome.Running, s.TryAdmit(a));
        Assert.Equal(AdmitOutcome.Queued, s.TryAdmit(b));
        Assert.Equal(AdmitOutcome.Queued, s.TryAdmit(c));
        Assert.Equal(AdmitOutcome.QueueFull, s.TryAdmit(new Req("d")));
        Assert.Equal([b], s.Release(a));
        Assert.Equal([c], s.Release(b));
        Assert.Empty(s.Release(c));
        Assert.Equal(0, s.Running);
        Assert.Equal(0, s.Waiting);
    }

    [Fact]
    public void AnAdapterThatDoesNotFitWaitsWhileSlotsAreFree()
    {
        var s = Scheduler(slots: 4, maxLoras: 1);
        var a1 = new Req("a1", "A");
        var b1 = new Req("b1", "B");
        var a2 = new Req("a2", "A");
        var base1 = new Req("base1");
        Assert.Equal(AdmitOutcome.Running, s.TryAdmit(a1));
        Assert.Equal(AdmitOutcome.Queued, s.TryAdmit(b1));          // B cannot be loaded: A holds the only adapter slot
        Assert.Equal(AdmitOutcome.Running, s.TryAdmit(a2));         // A is resident: runs past the blocked B
        Assert.Equal(AdmitOutcome.Running, s.TryAdmit(base1));      // the base model needs no adapter
        Assert.Equal(["A"], s.RunningAdapters);
        Assert.Equal(["B"], s.WaitingAdapters);
        Assert.Equal(3, s.Running);

        Assert.Empty(s.Release(a1));                                  // A still used by a2
        Assert.Equal([b1], s.Release(a2));                            // A unloads, B loads
        Assert.Equal(["B"], s.RunningAdapters);
        Assert.Empty(s.WaitingAdapters);
    }

    [Fact]
    public void ReleasingTheLastUserOfAnAdapterStartsEveryWaiterThatNowFits()
    {
        var s = Scheduler(slots: 3, maxLoras: 1);
        var a = new Req("a", "A");
        var b1 = new Req("b1", "B");
        var c = new Req("c", "C");
        var b2 = new Req("b2", "B");
        var b3 = new Req("b3", "B");
        s.TryAdmit(a);
        s.TryAdmit(b1);
        s.TryAdmit(c);
        s.TryAdmit(b2);
        s.TryAdmit(b3);
        Assert.Equal(["B", "C"], s.WaitingAdapters);

        // FIFO scan: b1 loads B, c cannot (one adapter), b2 and b3 share B; three slots in all.
        Assert.Equal([b1, b2, b3], s.Release(a));
        Assert.Equal(["B"], s.RunningAdapters);
        Assert.Equal(["C"], s.WaitingAdapters);
        Assert.Empty(s.Release(b1));
        Assert.Empty(s.Release(b2));
        Assert.Equal([c], s.Release(b3));
        Assert.Equal(["C"], s.RunningAdapters);
    }

    [Fact]
    public void SeveralAdaptersFitUpToMaxLoras()
    {
        var s = Scheduler(slots: 5, maxLoras: 2);
        Assert.Equal(AdmitOutcome.Running, s.TryAdmit(new Req("a", "A")));
        Assert.Equal(AdmitOutcome.Running, s.TryAdmit(new Req("b", "B")));
        Assert.Equal(AdmitOutcome.Queued, s.TryAdmit(new Req("c", "C")));
        Assert.Equal(["A", "B"], s.RunningAdapters);
    }

    [Fact]
    public void FreeSlotsStillLimitPromotion()
    {
        var s = Scheduler(slots: 1, maxLoras: 2);
        var a = new Req("a", "A");
        var b = new Req("b", "B");
        var a2 = new Req("a2", "A");
        s.TryAdmit(a);
        Assert.Equal(AdmitOutcome.Queued, s.TryAdmit(b));   // adapter fits, slot does not
        Assert.Equal(AdmitOutcome.Queued, s.TryAdmit(a2));  // FIFO: waits behind b
        Assert.Equal([b], s.Release(a));
        Assert.Equal([a2], s.Release(b));
    }

    [Fact]
    public void CancellingAWaiterDropsItsAdapterFromTheWaitingList()
    {
        var s = Scheduler(slots: 2, maxLoras: 1);
        var a = new Req("a", "A");
        var b = new Req("b", "B");
        s.TryAdmit(a);
        s.TryAdmit(b);
        var version = s.AdapterVersion;
        Assert.True(s.CancelWaiting(b));
        Assert.False(s.CancelWaiting(b));
        Assert.Empty(s.WaitingAdapters);
        Assert.True(s.AdapterVersion > version);
        Assert.Empty(s.Release(a));
        Assert.Empty(s.RunningAdapters);
    }

    [Fact]
    public void AdapterVersionMovesOnlyWhenTheSetsChange()
    {
        var s = Scheduler(slots: 3, maxLoras: 1);
        var a1 = new Req("a1", "A");
        s.TryAdmit(a1);
        var v = s.AdapterVersion;
        var a2 = new Req("a2", "A");
        s.TryAdmit(a2);
        s.TryAdmit(new Req("base"));
        Assert.Equal(v, s.AdapterVersion);
        s.Release(a1);
        Assert.Equal(v, s.AdapterVersion);
        s.Release(a2);
        Assert.NotEqual(v, s.AdapterVersion);
    }

    [Fact]
    public void ReleaseWithoutARunningRequestThrows() =>
        Assert.Throws<InvalidOperationException>(() => Scheduler(1).Release(new Req("x")));
}
