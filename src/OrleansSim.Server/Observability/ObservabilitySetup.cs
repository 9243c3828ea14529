using System.Text.Json;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using OrleansSim.Core.Configuration;

namespace OrleansSim.Server.Observability;

/// <summary>Logging (<c>--log-format</c>, <c>--log-level</c>) and tracing (<c>--otlp-traces-endpoint</c>) of one simulator host.</summary>
public static class ObservabilitySetup
{
    public static void AddSimulatorLogging(this ILoggingBuilder logging, SimulatorOptions options)
    {
        logging.ClearProviders();
        if (options.LogFormat == LogFormat.Json)
        {
            logging.AddConsole(o => o.FormatterName = JsonLineFormatter.Name);
            logging.AddConsoleFormatter<JsonLineFormatter, JsonLineFormatterOptions>(o => o.Pod = options.PodName);
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
                o.IncludeScopes = true;
            });
        }

        var level = JsonLineFormatter.ParseLevel(options.LogLevel);
        LogLevel AtLeast(LogLevel floor) => (LogLevel)Math.Max((int)floor, (int)level);
        logging.SetMinimumLevel(level);
        // "Orleans." with the dot: a bare "Orleans" prefix would also match this project's "OrleansSim.*" categories.
        logging.AddFilter("Orleans.", AtLeast(LogLevel.Warning));
        logging.AddFilter("Orleans.Runtime.Silo", AtLeast(LogLevel.Error)); // the ServerGC notes at every start
        logging.AddFilter("Orleans.Runtime.Watchdog", AtLeast(LogLevel.Error)); // a bogus "participant check" stall at every start
        logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.Critical); // start failures are reported in one line by SimulatorApp
        logging.AddFilter("Microsoft", AtLeast(LogLevel.Warning));
        // ASP.NET Core's per-request "Request starting/finished" lines are Information; while this category is enabled
        // at any level, hosting still opens a log scope and an Activity for every request (measured: 1.5 % of a
        // zero-latency request's CPU). Request logging is RequestTelemetry's job (--log-level debug).
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        logging.AddFilter("Polly", AtLeast(LogLevel.Warning)); // Orleans placement logs every resilience pipeline run at Information
        logging.AddFilter("Microsoft.Hosting.Lifetime", AtLeast(LogLevel.Warning));
        logging.AddFilter("OpenTelemetry", AtLeast(LogLevel.Warning));
    }

    /// <summary>
    /// With <c>--otlp-traces-endpoint</c>: an OpenTelemetry tracer provider for <see cref="RequestTelemetry.SourceName"/>
    /// exporting over OTLP/HTTP protobuf (batched; <c>OTEL_BSP_*</c> and <c>OTEL_SERVICE_NAME</c> /
    /// <c>OTEL_RESOURCE_ATTRIBUTES</c> apply). Without it nothing is registered.
    /// </summary>
    public static void AddSimulatorTracing(this IServiceCollection services, SimulatorOptions options)
    {
        services.AddSingleton<RequestTelemetry>();
        if (options.OtlpTracesEndpoint.Length == 0)
        {
            return;
        }

        var endpoint = TracesUri(options.OtlpTracesEndpoint);
        services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME")))
                {
                    resource.AddService("orleanssim");
                }

                resource.AddAttributes([new("k8s.pod.name", options.PodName), new("k8s.namespace.name", options.PodNamespace)]);
            })
            .WithTracing(tracing => tracing
                .AddSource(RequestTelemetry.SourceName)
                .AddOtlpExporter(otlp =>
                {
                    otlp.Protocol = OtlpExportProtocol.HttpProtobuf;
                    otlp.Endpoint = endpoint;
                }));
    }

    /// <summary>The URL spans are posted to: as given, or with <c>/v1/traces</c> when it has no path (a collector's base URL).</summary>
    public static Uri TracesUri(string endpoint)
    {
        var uri = new Uri(endpoint, UriKind.Absolute);
        return uri.AbsolutePath is "" or "/" ? new Uri(uri, "/v1/traces") : uri;
    }

    /// <summary>The startup configuration as one <c>--log-format json</c> record (its <c>config</c> field is the JSON dump).</summary>
    public static string ConfigurationRecord(SimulatorOptions options)
    {
        using var config = JsonDocument.Parse(OptionsJson.Serialize(options));
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("level", "info");
            json.WriteString("logger", "OrleansSim.Configuration");
            json.WriteString("message", "configuration");
            json.WriteString("pod", options.PodName);
            json.WritePropertyName("config");
            config.RootElement.WriteTo(json);
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
