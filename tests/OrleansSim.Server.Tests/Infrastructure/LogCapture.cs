using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>
/// Every record an in-process host logs at its minimum level or above (the host's own filters apply, as for its
/// console), kept so a test can assert what the server reported: e.g. that a client leaving is never an error.
/// </summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<Entry> _entries = new();

    public sealed record Entry(LogLevel Level, string Category, EventId EventId, string Message, Exception? Exception)
    {
        public override string ToString() => $"{Level} {Category}: {Message}{(Exception is null ? "" : " " + Exception)}";
    }

    public IReadOnlyList<Entry> Entries => [.. _entries];

    /// <summary>
    /// The records a server must not write when nothing went wrong on its side: anything at error or above, and warnings
    /// of the web server (Kestrel, hosting) and of the simulator itself — except Kestrel's slow-heartbeat warning, which
    /// a loaded machine's thread pool causes, not the server.
    /// </summary>
    public IReadOnlyList<Entry> Failures => [.. _entries.Where(e => e.Level >= LogLevel.Error
        || (e.Level == LogLevel.Warning && e.EventId.Name != "HeartbeatSlow"
            && (e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || e.Category.StartsWith("OrleansSim", StringComparison.Ordinal))))];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            capture._entries.Enqueue(new Entry(logLevel, category, eventId, formatter(state, exception), exception));
    }
}
