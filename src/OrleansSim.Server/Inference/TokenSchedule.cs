using OrleansSim.Core.Engine;

namespace OrleansSim.Server.Inference;

/// <summary>
/// When each token step of a request is due (a <see cref="TimeProvider"/> timestamp): planned up front by the
/// constant/per-token calculators, or posted by the rank's engine clock at the start of the step that produces it
/// (<c>--latency-calculator step</c>). Either way the runner waits for the deadline on the pacer.
/// </summary>
internal sealed class TokenSchedule
{
    private readonly long[]? _planned;
    private readonly EngineStream? _stream;
    private readonly long _first;

    private TokenSchedule(long[]? planned, EngineStream? stream, long first)
    {
        _planned = planned;
        _stream = stream;
        _first = first;
    }

    public static TokenSchedule Planned(long[] deadlines) => new(deadlines, null, 0);

    /// <summary>The engine's schedule; <paramref name="firstDue"/> is the first deadline, already read from the stream.</summary>
    public static TokenSchedule FromEngine(EngineStream stream, long firstDue) => new(null, stream, firstDue);

    /// <summary>When step <paramref name="k"/> is due; called for k = 0, 1, … in order, once each.</summary>
    public ValueTask<long> DueAsync(int k, CancellationToken cancellationToken) =>
        _planned is not null ? new(_planned[k])
        : k == 0 ? new(_first)
        : _stream!.NextDueAsync(cancellationToken);
}
