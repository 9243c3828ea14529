namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>One echo-mode host (two served names, no latency) shared by a test class.</summary>
public sealed class EchoHostFixture : IAsyncLifetime
{
    public SimHost Host { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Host = await SimHost.StartAsync();

    public async ValueTask DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>One random-mode host with a fixed seed.</summary>
public sealed class RandomHostFixture : IAsyncLifetime
{
    public SimHost Host { get; private set; } = null!;

    public async ValueTask InitializeAsync() =>
        Host = await SimHost.StartAsync(o => o with { Mode = OrleansSim.Core.Configuration.SimulationMode.Random, MaxModelLen = 2048 });

    public async ValueTask DisposeAsync() => await Host.DisposeAsync();
}
