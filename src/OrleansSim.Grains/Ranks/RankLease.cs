using System.Buffers.Binary;

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
    // A key is this process's random 64-bit prefix and a counter: unique among the pods of a cluster (each draws
    // its own prefix) without Guid.NewGuid's call into the OS random source on every request.
    private static readonly long ProcessPrefix = Random.Shared.NextInt64(long.MinValue, long.MaxValue);
    private static long s_issued;

    private int _released;

    /// <summary>The key the rank files this request's holdings under.</summary>
    public Guid Key { get; } = NewKey();

    /// <summary>
    /// Asks the rank for a slot (see <see cref="IRankGrain.Admit"/>). Cancelling <paramref name="cancellationToken"/>
    /// ends the wait; whatever the outcome, the holdings are freed by <see cref="ReleaseAsync"/>.
    /// </summary>
    public async Task<AdmitResult> AdmitAsync(AdmitRequest request, CancellationToken cancellationToken)
    {
        var result = await rank.Admit(Key, request, cancellationToken);
        if (result.Finished)
        {
            Interlocked.Exchange(ref _released, 1); // the rank freed it as it started it: nothing left to release
        }

        return result;
    }

    /// <summary>Frees whatever the rank holds for this request; only the first call reaches the rank.</summary>
    public Task ReleaseAsync() =>
        Interlocked.Exchange(ref _released, 1) == 0 ? rank.Release(Key) : Task.CompletedTask;

    public ValueTask DisposeAsync() => new(ReleaseAsync());

    private static Guid NewKey()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, ProcessPrefix);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[8..], Interlocked.Increment(ref s_issued));
        return new Guid(bytes);
    }
}
