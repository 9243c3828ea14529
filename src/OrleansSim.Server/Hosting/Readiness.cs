namespace OrleansSim.Server.Hosting;

/// <summary>
/// The process's serving state behind <c>GET /ready</c>: Starting until every rank listens, Ready,
/// then Draining from the first shutdown signal (new <c>/v1</c> requests get 503 while in-flight ones
/// finish). It also counts the <c>/v1</c> requests in flight, which <see cref="DrainService"/> waits for.
/// </summary>
public sealed class Readiness
{
    private volatile int _state;
    private volatile bool _datasetPending;
    private int _inFlight;

    /// <summary>Every rank listens and the dataset (if any) is open.</summary>
    public bool IsReady => _state == 1 && !_datasetPending;

    /// <summary>A <c>--dataset-path</c> is being downloaded or opened: <c>/ready</c> is 503 and completions are refused.</summary>
    public bool IsDatasetPending => _datasetPending;

    /// <summary>Set when startup work after the listeners opened (the dataset) failed; the process then exits non-zero.</summary>
    public string? StartupFailure { get; private set; }

    public void HoldForDataset() => _datasetPending = true;

    public void DatasetOpened() => _datasetPending = false;

    public void FailStartup(string message) => StartupFailure = message;

    public bool IsDraining => _state == 2;

    /// <summary>Requests under <c>/v1</c> being served right now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public void MarkReady() => Interlocked.CompareExchange(ref _state, 1, 0);

    public void MarkDraining() => _state = 2;

    public void Enter() => Interlocked.Increment(ref _inFlight);

    public void Exit() => Interlocked.Decrement(ref _inFlight);
}

/// <summary>
/// The first step of shutdown: <see cref="IHostedLifecycleService.StoppingAsync"/> runs before any hosted
/// service (Kestrel, the silo) stops, whatever the registration order. The process is marked draining
/// (readiness 503, new <c>/v1</c> requests 503) while the listeners still accept, and shutdown waits until
/// the requests in flight have finished (at most <c>--shutdown-timeout</c>). Then Kestrel closes its
/// listeners and the silo stops.
/// </summary>
public sealed class DrainService(Readiness readiness, OrleansSim.Core.Configuration.SimulatorOptions options, TimeProvider time, ILogger<DrainService> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        readiness.MarkDraining();
        var started = time.GetTimestamp();
        if (readiness.InFlight > 0)
        {
            logger.LogInformation("Draining: waiting for {Count} in-flight requests (at most {Timeout})", readiness.InFlight, options.ShutdownTimeout);
        }

        while (readiness.InFlight > 0 && time.GetElapsedTime(started) < options.ShutdownTimeout && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), time, CancellationToken.None);
        }

        logger.LogInformation("Drained in {Elapsed:F1} s; {Left} requests still in flight", time.GetElapsedTime(started).TotalSeconds, readiness.InFlight);
    }
}
