using System.Collections.Concurrent;
using System.Threading.Channels;

namespace OrleansSim.Core.Engine;

/// <summary>
/// One request's view of its rank's engine clock: when it left the waiting queue, and the absolute time
/// (a <see cref="TimeProvider"/> timestamp) each of its tokens is due — posted at the start of the step that
/// produces the token, so the reader can wait for that deadline on the pacer exactly as constant-mode streams do.
/// Written by the engine loop (one writer at a time), read by the request's runner.
/// </summary>
public sealed class EngineStream
{
    private readonly Channel<long> _due = Channel.CreateUnbounded<long>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private long _startedAt;
    private int _cachedTokens;

    /// <summary>The start of the first step that scheduled the request (0 until then).</summary>
    public long StartedAt => Volatile.Read(ref _startedAt);

    /// <summary>Prompt tokens that hit the prefix cache when the request started.</summary>
    public int CachedTokens => Volatile.Read(ref _cachedTokens);

    /// <summary>
    /// The deadline of the request's next token (its first: the end of the step that completes its prefill).
    /// Throws <see cref="ChannelClosedException"/> once every token was read, or with the engine's failure.
    /// </summary>
    public ValueTask<long> NextDueAsync(CancellationToken cancellationToken) => _due.Reader.ReadAsync(cancellationToken);

    internal void OnStarted(long at, int cachedTokens)
    {
        Volatile.Write(ref _cachedTokens, cachedTokens);
        Volatile.Write(ref _startedAt, at);
    }

    internal void OnToken(long dueAt, bool last)
    {
        _due.Writer.TryWrite(dueAt);
        if (last)
        {
            _due.Writer.TryComplete();
        }
    }

    internal void Fail(Exception error) => _due.Writer.TryComplete(error);
}

/// <summary>
/// The in-process meeting point of a rank's engine and the front-end requests it serves: a request's runner
/// opens its <see cref="EngineStream"/> under (rank key, ticket) before it joins the engine; the rank grain,
/// activated in the same process (local placement, pod-scoped keys), takes it when the request joins.
/// A grain that finds no stream is not in its front-end's process and says so instead of hanging the request.
/// Thread-safe.
/// </summary>
public sealed class EngineBoard
{
    private readonly ConcurrentDictionary<(string Rank, long Ticket), EngineStream> _open = new();

    /// <summary>Opens the stream of request <paramref name="ticket"/> of rank <paramref name="rank"/>.</summary>
    public EngineStream Open(string rank, long ticket)
    {
        var stream = new EngineStream();
        _open[(rank, ticket)] = stream;
        return stream;
    }

    /// <summary>The engine side: takes the opened stream (null when no runner in this process opened it).</summary>
    public EngineStream? Take(string rank, long ticket) => _open.TryRemove((rank, ticket), out var stream) ? stream : null;

    /// <summary>The runner side: forgets a stream the engine never took (the join failed).</summary>
    public void Forget(string rank, long ticket) => _open.TryRemove((rank, ticket), out _);
}
