using System.Net;
using OrleansSim.Core.Chaos;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Generation;
using OrleansSim.Core.KvCache;
using OrleansSim.Core.Engine;
using OrleansSim.Core.Scheduling;
using OrleansSim.Core.Timing;
using OrleansSim.Core.Tokenization;
using OrleansSim.Server.Admin;
using OrleansSim.Server.Api;
using OrleansSim.Server.Chaos;
using OrleansSim.Grains.Chaos;
using OrleansSim.Server.Cluster;
using OrleansSim.Server.Inference;
using OrleansSim.Server.Surfaces.Anthropic;
using OrleansSim.Server.KvEvents;
using OrleansSim.Server.Lora;
using OrleansSim.Server.Sleep;
using OrleansSim.Server.Metrics;
using OrleansSim.Server.Observability;

namespace OrleansSim.Server.Hosting;

/// <summary>
/// Builds the whole simulator for one configuration: a co-hosted Orleans silo holding the rank
/// grains and one Kestrel listener per data-parallel rank on consecutive ports. Program.cs and the
/// tests both start it through here.
/// </summary>
public static class SimulatorHost
{
    public static WebApplication Build(SimulatorOptions options, ISimTokenizer tokenizer, Action<ILoggingBuilder>? logging = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "OrleansSim.Server" });

        builder.Logging.AddSimulatorLogging(options);
        logging?.Invoke(builder.Logging);

        // Read (or generated) before anything starts, so a bad certificate or key fails the start with one line.
        var certificate = ServerCertificate.Load(options);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            var address = ListenAddress(options.Host);
            for (var rank = 0; rank < options.DataParallelSize; rank++)
            {
                kestrel.Listen(address, options.Port + rank, listen =>
                {
                    if (certificate is not null)
                    {
                        // HTTP/2 is negotiated through ALPN; plain-text ports stay HTTP/1.1 as before.
                        listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1AndHttp2;
                        listen.UseHttps(certificate);
                    }
                });
            }
        });

        builder.Services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = options.ShutdownTimeout + TimeSpan.FromSeconds(5);
        });

        builder.UseOrleans(silo => silo.ConfigureSimulatorSilo(options));

        builder.Services.AddSingleton(options);
        // The settings POST /admin/config may change, owned once for every rank of the process.
        builder.Services.AddSingleton(new RuntimeSettings(options));
        builder.Services.AddSingleton(tokenizer);
        builder.Services.AddSingleton(TimeProvider.System);
        // Token pacing: one deadline-timer thread on the system clock (Task.Delay wakes 0–4 ms late here);
        // any other clock (a fake one in tests) paces with Task.Delay on that clock.
        builder.Services.AddSingleton<IPacer>(sp => sp.GetRequiredService<TimeProvider>() is var time && time == TimeProvider.System
            ? new DeadlineTimer()
            : new TimeProviderPacer(time));
        if (options.DatasetPath is null)
        {
            builder.Services.AddSingleton(GeneratorFactory.Create(options.Mode, tokenizer, options.MaxModelLen));
        }
        else
        {
            // Random mode from a SQLite dataset: opened (downloaded first with --dataset-url) in the background while
            // the listeners already answer /ready with 503.
            builder.Services.AddSingleton<DatasetLoader>();
            builder.Services.AddSingleton<ITextGenerator>(sp => sp.GetRequiredService<DatasetLoader>());
            builder.Services.AddHostedService(sp => sp.GetRequiredService<DatasetLoader>());
        }

        // Built on first use (the first request reaches InferenceRunner): decodes a sample of the vocabulary once.
        builder.Services.AddSingleton(_ => LogprobGenerator.FromTokenizer(tokenizer));
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton(sp => new FailureInjector(sp.GetRequiredService<RuntimeSettings>()));
        builder.Services.AddSingleton<OutputPlanner>();
        builder.Services.AddSingleton<InferenceRunner>();
        builder.Services.AddApiSurfaces();
        builder.Services.AddSingleton<RankDirectory>();
        builder.Services.AddSingleton<RankMetricsSet>();
        if (options.ServesSleepEndpoints)
        {
            // /sleep?mode=abort: the rank grains signal the run loops of the requests they hold (README, "Sleep mode").
            builder.Services.AddSingleton<SleepAborts>();
        }

        if (options.EngineClock)
        {
            // --latency-calculator step: the rank grains publish each step's stream deadlines on the board and its
            // counts to the metrics (docs/architecture.md, "engine clock").
            builder.Services.AddSingleton<EngineBoard>();
            builder.Services.AddSingleton<IEngineStepSink>(sp => sp.GetRequiredService<RankMetricsSet>());
        }
        builder.Services.AddSimulatorTracing(options);
        builder.Services.AddSingleton<Readiness>();
        // This pod's chaos faults (pushed by the cluster's chaos grain through PodChaosGrain).
        builder.Services.AddSingleton<PodChaos>();
        builder.Services.AddSingleton<IPodChaosSink>(sp => sp.GetRequiredService<PodChaos>());
        builder.Services.AddSingleton<IEngineChaos>(sp => sp.GetRequiredService<PodChaos>());
        builder.Services.AddHostedService<ChaosStartup>();
        // Its StoppingAsync runs before the web server and the silo stop.
        builder.Services.AddHostedService<DrainService>();
        builder.Services.AddOpenApi(o => o.AddJsonRequestExamples());
        if (options.EnableKvCache)
        {
            builder.Services.AddSingleton<KvEventPublisher>();
            builder.Services.AddSingleton<IKvEventSink>(sp => sp.GetRequiredService<KvEventPublisher>());
            builder.Services.AddHostedService(sp => sp.GetRequiredService<KvEventPublisher>());
        }


        var app = builder.Build();
        app.UseMiddleware<SimulatorMiddleware>();
        app.MapApiSurfaces();
        app.MapAnthropicCountTokens();
        app.MapServerApi();
        app.MapClusterApi();
        app.MapMetricsApi();
        app.MapLoraApi();
        app.MapSleepApi(options);
        app.MapAdminGroup().MapChaosApi();
        app.MapOpenApi();
        // Swagger UI only on its own path, so inference requests do not pass through its middleware.
        app.UseWhen(
            c => c.Request.Path.StartsWithSegments("/swagger"),
            swagger => swagger.UseSwaggerUI(o => o.SwaggerEndpoint("/openapi/v1.json", "OrleansSim v1")));

        var readiness = app.Services.GetRequiredService<Readiness>();
        if (options.DatasetPath is not null)
        {
            readiness.HoldForDataset();
        }

        var lifetime = app.Lifetime;
        lifetime.ApplicationStarted.Register(() =>
        {
            var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("OrleansSim.Ranks");
            for (var rank = 0; rank < options.DataParallelSize; rank++)
            {
                log.LogInformation("rank {Rank} listening: protocol={Protocol} host={Host} port={Port}", rank, certificate is null ? "http" : "https", options.Host, options.Port + rank);
            }

            if (certificate is not null)
            {
                log.LogInformation("TLS certificate {Subject} (SHA-256 {Thumbprint}), valid until {NotAfter:O}{Generated}",
                    certificate.Subject, certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256), certificate.NotAfter.ToUniversalTime(),
                    options.SelfSignedCerts ? ", generated at startup" : "");
            }

            // The metrics exist from the start (their _created times, and t = 0 of the --fake-metrics functions).
            app.Services.GetRequiredService<RankMetricsSet>();
            readiness.MarkReady();
        });
        lifetime.ApplicationStopping.Register(readiness.MarkDraining);
        return app;
    }

    private static IPAddress ListenAddress(string host) => host switch
    {
        "" or "0.0.0.0" or "*" => IPAddress.Any,
        "localhost" => IPAddress.Loopback,
        "::" => IPAddress.IPv6Any,
        _ => IPAddress.Parse(host),
    };
}
