namespace OrleansSim.Grains.Ranks;

/// <summary>
/// One request's claim on its rank, from the caller's side: a fresh key (never the client's request id, which
/// may repeat), at most one <see cref="AdmitAsync"/>, and exactly one <see cref="IRankGrain.Release"/> when it is
/// released or disposed, whatever happened in between (admission cancelled, timed out or failed, stream cut,
/// write failed). The grain files everything it holds for the request under the key, so that one release
/// frees it all. Use with <c>await using</c>.
/// </summary>
public sealed class RankLease(IRankGrain rank) : IAsyncDisposable
{
    private int _released;

    /// <summary>The key the rank files this request's holdings under.</summary>
    public Guid Key { get; } = Guid.NewGuid();

    /// <summary>
    /// Asks the rank for a slot (see <see cref="IRankGrain.Admit"/>). Cancelling <paramref name="cancellationToken"/>
    /// ends the wait; whatever the outcome, the holdings are freed by <see cref="ReleaseAsync"/>.
    /// </summary>
    public Task<AdmitResult> AdmitAsync(AdmitRequest request, CancellationToken cancellationToken) =>
        rank.Admit(Key, request, cancellationToken);

    /// <summary>Frees whatever the rank holds for this request; only the first call reaches the rank.</summary>
    public Task ReleaseAsync() =>
        Interlocked.Exchange(ref _released, 1) == 0 ? rank.Release(Key) : Task.CompletedTask;

    public async ValueTask DisposeAsync() => await ReleaseAsync();
}
