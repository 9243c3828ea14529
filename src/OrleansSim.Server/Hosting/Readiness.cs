namespace OrleansSim.Server.Hosting;

/// <summary>
/// The process's serving state behind <c>GET /ready</c>: Starting until every rank listens, Ready,
/// then Draining from the first shutdown signal (new inference requests get 503 while in-flight ones finish).
/// </summary>
public sealed class Readiness
{
    private volatile int _state;

    public bool IsReady => _state == 1;

    public bool IsDraining => _state == 2;

    public void MarkReady() => Interlocked.CompareExchange(ref _state, 1, 0);

    public void MarkDraining() => _state = 2;
}
