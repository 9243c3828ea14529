using System.Diagnostics.Metrics;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>
/// The requests one in-process host took, as ASP.NET Core's own hosting meter counts them (not the simulator's code):
/// <c>http.server.active_requests</c> and one <c>http.server.request.duration</c> measurement per request that
/// reached the application, whatever became of it. Only the given host's meters are listened to (its
/// <see cref="IMeterFactory"/>), so hosts of other tests in the same process do not count.
/// </summary>
public sealed class ServerRequests : IDisposable
{
    private const string HostingMeter = "Microsoft.AspNetCore.Hosting";

    private readonly MeterListener _listener = new();
    private readonly string? _path;
    private long _active;
    private long _ended;

    /// <param name="meters">The host's meter factory.</param>
    /// <param name="route">Only requests of this route count (null: every route).</param>
    public ServerRequests(IMeterFactory meters, string? route = "/v1/completions")
    {
        _path = route;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == HostingMeter && ReferenceEquals(instrument.Meter.Scope, meters)
                && instrument.Name is "http.server.active_requests" or "http.server.request.duration")
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
        });
        _listener.Start();
    }

    /// <summary>Requests in the application right now (every route).</summary>
    public long Active => Interlocked.Read(ref _active);

    /// <summary>Requests of the route that reached the application and ended.</summary>
    public long Ended => Interlocked.Read(ref _ended);

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
