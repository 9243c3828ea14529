using System.Diagnostics.Metrics;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>
/// The requests one in-process host took, as ASP.NET Core's own hosting meter counts them (not the simulator's code):
/// <c>http.server.active_requests</c> and one <c>http.server.request.duration</c> measurement per request that
/// reached the application, whatever became of it; and Kestrel's <c>kestrel.connection.duration</c>, measured once a
/// connection's processing has ended (after everything Kestrel does once the application returned). Only the given host's meters are listened to (its
/// <see cref="IMeterFactory"/>), so hosts of other tests in the same process do not count.
/// </summary>
public sealed class ServerRequests : IDisposable
{
    private const string HostingMeter = "Microsoft.AspNetCore.Hosting";
    private const string KestrelMeter = "Microsoft.AspNetCore.Server.Kestrel";

    private readonly MeterListener _listener = new();
    private readonly string? _path;
    private long _active;
    private long _ended;
    private long _connectionsEnded;

    /// <param name="meters">The host's meter factory.</param>
    /// <param name="route">Only requests of this route count (null: every route).</param>
    public ServerRequests(IMeterFactory meters, string? route = "/v1/completions")
    {
        _path = route;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, meters)
                && ((instrument.Meter.Name == HostingMeter && instrument.Name is "http.server.active_requests" or "http.server.request.duration")
                    || (instrument.Meter.Name == KestrelMeter && instrument.Name == "kestrel.connection.duration")))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "http.server.active_requests")
            {
                Interlocked.Add(ref _active, value);
            }
        });
        _listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
        {
            if (instrument.Name == "http.server.request.duration" && Matches(tags))
            {
                Interlocked.Increment(ref _ended);
            }
            else if (instrument.Name == "kestrel.connection.duration")
            {
                Interlocked.Increment(ref _connectionsEnded);
            }
        });
        _listener.Start();
    }

    /// <summary>Requests in the application right now (every route).</summary>
    public long Active => Interlocked.Read(ref _active);

    /// <summary>Requests of the route that reached the application and ended.</summary>
    public long Ended => Interlocked.Read(ref _ended);

    /// <summary>Connections whose processing Kestrel has finished (closed, reset or aborted).</summary>
    public long ConnectionsEnded => Interlocked.Read(ref _connectionsEnded);

    public void Dispose() => _listener.Dispose();

    private bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_path is null)
        {
            return true;
        }

        foreach (var tag in tags)
        {
            if (tag.Key == "http.route")
            {
                return tag.Value as string == _path;
            }
        }

        return false;
    }
}
