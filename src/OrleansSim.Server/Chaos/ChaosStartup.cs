using OrleansSim.Core.Chaos;
using OrleansSim.Core.Configuration;
using OrleansSim.Grains.Chaos;

namespace OrleansSim.Server.Chaos;

/// <summary>
/// Once the pod is ready: takes the cluster's faults that already concern it (a pod that joins late gets the
/// <c>"*"</c> faults), then plays <c>--chaos-scenario</c> if one is given, logging each step.
/// </summary>
public sealed class ChaosStartup(SimulatorOptions options, IGrainFactory grains, PodChaos chaos, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<ChaosStartup> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _run = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => _run = Task.Run(() => RunAsync(_stopping.Token)));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        try
        {
            await _run.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            var existing = await grains.GetGrain<IChaosGrain>(IChaosGrain.Key).FaultsFor(options.PodName).WaitAsync(cancellationToken);
            if (existing.Count > 0)
            {
                chaos.Apply(existing);
            }

            if (options.ChaosScenario is { } path)
            {
                var scenario = ChaosScenario.Load(path);
                logger.LogInformation("chaos scenario {Path}: {Steps} steps", path, scenario.Steps.Count);
                await ChaosScenarioPlayer.PlayAsync(scenario, new GrainChaosControl(grains, options.PodName, time), time,
                    line => logger.LogInformation("chaos scenario {Path} {Step}", path, line), cancellationToken);
                logger.LogInformation("chaos scenario {Path} finished", path);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the pod is stopping
        }
        catch (Exception ex)
        {
            logger.LogError("chaos startup failed: {Error}", ex.Message);
        }
    }
}
