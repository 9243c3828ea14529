namespace OrleansSim.Grains.Ranks;

/// <summary>
/// One data-parallel rank of one pod: the single owner of its wait queue and slots. Keyed by
/// <see cref="RankKey"/>. The request path makes exactly two calls per request: <see cref="Admit"/>
/// and <see cref="Release"/>.
/// </summary>
public interface IRankGrain : IGrainWithStringKey
{
    /// <summary>
    /// Returns when the request holds a slot (with its plan), or at once with
    /// <see cref="AdmitStatus.QueueFull"/>. Cancelling <paramref name="cancellationToken"/> while the
    /// request waits removes it from the queue.
    /// </summary>
    [ResponseTimeout("1.00:00:00")]
    Task<AdmitResult> Admit(AdmitRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// <c>--latency-calculator step</c> only: the admitted request (by its ticket) produces <paramref name="outputTokens"/>
    /// tokens and joins the rank's engine; its token deadlines arrive on the stream its runner opened on this
    /// process's <see cref="Core.Engine.EngineBoard"/>. False when the ticket is unknown or the grain is not in the
    /// runner's process. One call per request.
    /// </summary>
    Task<bool> Join(long ticket, int outputTokens);

    /// <summary>Frees the slot of an admitted request (by its ticket) and starts the next waiting one.</summary>
    Task Release(long ticket);

    Task<RankStatus> GetStatus();
}

/// <summary>The grain key of a rank: pod name and rank, so two pods never share a rank grain.</summary>
public static class RankKey
{
    public static string For(string pod, int rank) => $"{pod}/{rank}";

    public static (string Pod, int Rank) Parse(string key)
    {
        var slash = key.LastIndexOf('/');
        return (key[..slash], int.Parse(key.AsSpan(slash + 1), System.Globalization.CultureInfo.InvariantCulture));
    }
}
