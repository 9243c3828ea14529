using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace OrleansSim.Server.Observability;

/// <summary>Options of <see cref="JsonLineFormatter"/>: the pod every record names.</summary>
public sealed class JsonLineFormatterOptions : ConsoleFormatterOptions
{
    public string Pod { get; set; } = "";
}

/// <summary>
/// <c>--log-format json</c>: one JSON object per line with <c>timestamp</c> (UTC, ISO 8601), <c>level</c>,
/// <c>logger</c>, <c>message</c> and <c>pod</c>; <c>rank</c> and <c>request_id</c> when the record or one of its
/// scopes carries a <c>Rank</c> / <c>RequestId</c> value; <c>exception</c> when there is one. Log pipelines
/// (Loki, Elasticsearch, Cloud Logging) read it without a parser of their own.
/// </summary>
public sealed class JsonLineFormatter(IOptionsMonitor<JsonLineFormatterOptions> options) : ConsoleFormatter(Name)
{
    public new const string Name = "orleanssim-json";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        object? rank = null;
        object? requestId = null;
        void Pick(object? state)
        {
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    if (key == "Rank")
                    {
                        rank = value;
                    }
                    else if (key == "RequestId")
                    {
                        requestId = value;
                    }
                }
            }
        }

        scopeProvider?.ForEachScope((scope, _) => Pick(scope), (object?)null);
        Pick(logEntry.State);

        using var buffer = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("level", LevelName(logEntry.LogLevel));
            json.WriteString("logger", logEntry.Category);
            json.WriteString("message", message ?? "");
            json.WriteString("pod", options.CurrentValue.Pod);
            if (rank is not null)
            {
                if (rank is int number)
                {
                    json.WriteNumber("rank", number);
                }
                else
                {
                    json.WriteString("rank", Convert.ToString(rank, System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            if (requestId is not null)
            {
                json.WriteString("request_id", Convert.ToString(requestId, System.Globalization.CultureInfo.InvariantCulture));
            }

            if (logEntry.Exception is { } exception)
            {
                json.WriteString("exception", exception.ToString());
            }

            json.WriteEndObject();
        }

        textWriter.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        textWriter.Write('\n');
    }

    /// <summary>The names --log-level takes.</summary>
    public static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warning",
        LogLevel.Error => "error",
        LogLevel.Critical => "critical",
        _ => "none",
    };

    /// <summary>Parses a --log-level value (already validated by the flag table).</summary>
    public static LogLevel ParseLevel(string level) => level switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "critical" => LogLevel.Critical,
        _ => LogLevel.Information,
    };
}
