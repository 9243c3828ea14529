using OrleansSim.Core.Scheduling;
using Xunit;

namespace OrleansSim.Core.Tests.Scheduling;

public sealed class SlotSchedulerTests
{
    private sealed record Req(string Name);

    [Fact]
    public void AdmitsUpToSlotsThenQueuesThenRefuses()
    {
        var scheduler = new SlotScheduler<Req>(slots: 2, maxWaiting: 1);
        Assert.Equal(AdmitOutcome.Running, scheduler.TryAdmit(new Req("a")));
        Assert.Equal(AdmitOutcome.Running, scheduler.TryAdmit(new Req("b")));
        Assert.Equal(AdmitOutcome.Queued, scheduler.TryAdmit(new Req("c")));
        Assert.Equal(AdmitOutcome.QueueFull, scheduler.TryAdmit(new Req("d")));
        Assert.Equal(2, scheduler.Running);
        Assert.Equal(1, scheduler.Waiting);
    }

    [Fact]
    public void ReleasePromotesWaitersInFifoOrder()
    {
        var scheduler = new SlotScheduler<Req>(slots: 1, maxWaiting: 10);
        scheduler.TryAdmit(new Req("running"));
        var waiters = Enumerable.Range(0, 5).Select(i => new Req($"w{i}")).ToList();
        waiters.ForEach(w => Assert.Equal(AdmitOutcome.Queued, scheduler.TryAdmit(w)));

        var order = new List<Req>();
        for (var i = 0; i < waiters.Count; i++)
        {
            order.Add(scheduler.Release()!);
            Assert.Equal(1, scheduler.Running);
        }

        Assert.Equal(waiters, order);
        Assert.Null(scheduler.Release());
        Assert.Equal(0, scheduler.Running);
        Assert.Equal(0, scheduler.Waiting);
    }

    [Fact]
    public void NewArrivalsDoNotOvertakeTheQueue()
    {
        var scheduler = new SlotScheduler<Req>(slots: 1, maxWaiting: 10);
        scheduler.TryAdmit(new Req("running"));
        var first = new Req("first");
        scheduler.TryAdmit(first);
        Assert.Same(first, scheduler.Release());
        // A slot is free only after the promoted waiter finishes; the newcomer queues behind nobody.
        Assert.Equal(AdmitOutcome.Queued, scheduler.TryAdmit(new Req("late")));
    }

    [Fact]
    public void CancelledWaiterLeavesTheQueue()
    {
        var scheduler = new SlotScheduler<Req>(slots: 1, maxWaiting: 2);
        scheduler.TryAdmit(new Req("running"));
        var gone = new Req("gone");
        var stays = new Req("stays");
        scheduler.TryAdmit(gone);
        scheduler.TryAdmit(stays);
        Assert.True(scheduler.CancelWaiting(gone));
        Assert.False(scheduler.CancelWaiting(gone));
        Assert.Equal(1, scheduler.Waiting);
        Assert.Same(stays, scheduler.Release());
    }

    [Fact]
    public void ReleaseWithoutRunningThrows()
    {
        var scheduler = new SlotScheduler<Req>(slots: 1, maxWaiting: 0);
        Assert.Throws<InvalidOperationException>(() => scheduler.Release());
    }
}
