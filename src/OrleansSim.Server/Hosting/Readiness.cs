using Microsoft.AspNetCore.Hosting.Server;

namespace OrleansSim.Server.Hosting;

/// <summary>
/// The process's serving state behind <c>GET /ready</c>: Starting until every rank listens, Ready,
/// then Draining from the first shutdown signal (the listeners close while in-flight requests finish).
/// It also counts the <c>/v1</c> requests in flight, which <see cref="DrainService"/> logs.
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
/// The first step of shutdown, as vLLM's API server (uvicorn) does it: <see cref="IHostedLifecycleService.StoppingAsync"/>
/// runs before any hosted service (Kestrel, the silo) stops, whatever the registration order. It marks the process
/// draining (readiness 503, and a <c>/v1</c> request that still arrives on a connection opened before gets 503), then
/// stops Kestrel at once: every rank listener closes (new connections are refused), idle keep-alive connections
/// close, and requests in flight, streams included, run to their end, for at most <c>--shutdown-timeout</c>; then
/// the connections left are cut. Only then does the silo stop. Kubernetes has taken the pod out of the Service
/// endpoints by then (the preStop pause), so refused connections reach no client that still routes here.
/// </summary>
public sealed class DrainService(Readiness readiness, IServer server, OrleansSim.Core.Configuration.SimulatorOptions options, TimeProvider time, ILogger<DrainService> logger) : IHostedLifecycleService
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
        logger.LogInformation("Shutting down: listeners closed; waiting for {Count} in-flight requests (at most {Timeout})", readiness.InFlight, options.ShutdownTimeout);

        // Kestrel's stop unbinds every listener first, then waits for the open connections to finish their
        // requests until the token fires, and then aborts the rest. Its own StopAsync later (the web host's
        // hosted service) finds it stopped and returns.
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(options.ShutdownTimeout);
        await server.StopAsync(grace.Token);
        logger.LogInformation("Drained in {Elapsed:F1} s; {Left} requests still in flight", time.GetElapsedTime(started).TotalSeconds, readiness.InFlight);
    }
}
