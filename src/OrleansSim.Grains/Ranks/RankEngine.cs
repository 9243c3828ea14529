using OrleansSim.Core.Configuration;
using OrleansSim.Core.Engine;
using OrleansSim.Core.KvCache;
using OrleansSim.Core.Timing;
using OrleansSim.Grains.KvCache;

namespace OrleansSim.Grains.Ranks;

/// <summary>
/// The rank grain's engine clock (<c>--latency-calculator step</c>): a <see cref="BatchEngine"/> run by an
/// <see cref="EngineLoop"/> whose steps are turns of the grain. A request is admitted at once (seed and ticket;
/// 429 when the waiting queue is full), joins the engine with its output length once the front-end generated it,
/// and leaves when it produced its last token or is released. With <c>--enable-kvcache</c> a request pins its
/// prompt's blocks in the rank's <see cref="RankKvCache"/> when it (re)starts (prefix hits shorten its prefill) and
/// unpins them when it finishes, is preempted or is released. Used only from the grain's turns.
/// </summary>
internal sealed class RankEngine
{
    private readonly SimulatorOptions _options;
    private readonly string _key;
    private readonly RankKvCache? _kv;
    private readonly EngineBoard _board;
    private readonly BatchEngine _engine;
    private readonly EngineLoop _loop;
    private readonly Dictionary<long, Entry> _entries = [];
    private int _notJoined;

    public RankEngine(SimulatorOptions options, string key, int rank, RankKvCache? kv, EngineBoard board, IEngineStepSink? sink, TimeProvider time, IPacer pacer, IEngineChaos? chaos = null)
    {
        _options = options;
        _key = key;
        _kv = kv;
        _board = board;
        var limits = new EngineLimits(
            options.MaxNumSeqs, options.MaxNumBatchedTokens, options.LongPrefillTokenThreshold,
            options.EnableKvCache ? options.KvCacheSize : int.MaxValue, options.BlockSize, options.MaxLoras);
        _engine = new BatchEngine(limits, options.StepProfile, kv is null ? null : Pin, kv is null ? null : Unpin);
        _loop = new EngineLoop(
            _engine, time, pacer, sink is null ? null : step => sink.OnStep(rank, step, _engine),
            chaos is null ? null : planned => chaos.StepTime(rank, planned));
    }

    public int Running => _engine.Running;

    /// <summary>Requests waiting to run: admitted and not yet joined, queued, or preempted.</summary>
    public int Waiting => _engine.Waiting + _notJoined;

    public int UsedBlocks => _kv is null ? 0 : _engine.UsedBlocks;

    public long Preemptions => _engine.Preemptions;

    public IReadOnlyList<string> RunningAdapters => _engine.RunningAdapters;

    public IReadOnlyList<string> WaitingAdapters => _engine.WaitingAdapters;

    /// <summary>Checks a new request and takes it in under <paramref name="ticket"/>; null when it is taken, else why not.</summary>
    public AdmitStatus? TryAdmit(AdmitRequest request, long ticket)
    {
        var blocks = _kv?.BlocksOf(request.PromptTokenIds ?? []);
        if (blocks is not null && (!_kv!.FitsAtAll(blocks) || !_engine.FitsAtAll(request.PromptTokens)))
        {
            return AdmitStatus.KvCacheTooSmall;
        }

        if (Waiting >= _options.MaxWaitingQueueLength && _engine.Running >= _options.MaxNumSeqs)
        {
            return AdmitStatus.QueueFull;
        }

        _entries.Add(ticket, new Entry(request, blocks));
        _notJoined++;
        return null;
    }

    /// <summary>
    /// The request's output is known: it joins the engine's waiting queue and its tokens will be posted to the stream
    /// its runner opened on this process's <see cref="EngineBoard"/>. False when the ticket is unknown (released) or
    /// no such stream exists here (the grain is not in its front-end's process).
    /// </summary>
    public bool Join(long ticket, int outputTokens)
    {
        if (!_entries.TryGetValue(ticket, out var entry) || entry.Sequence is not null)
        {
            return false;
        }

        if (_board.Take(_key, ticket) is not { } stream)
        {
            return false;
        }

        _notJoined--;
        entry.Sequence = new EngineSequence(ticket, entry.Request.PromptTokens, outputTokens, entry.Request.Lora, stream);
        _engine.Add(entry.Sequence);
        _loop.Kick();
        return true;
    }

    /// <summary>Forgets a request (finished, aborted or failed) and gives back whatever it still holds; idempotent.</summary>
    public bool Release(long ticket)
    {
        if (!_entries.TryGetValue(ticket, out var entry))
        {
            return false;
        }

        if (entry.Sequence is null)
        {
            _notJoined--;
        }
        else if (_engine.Cancel(entry.Sequence)) // unpins through the entry, so it goes after
        {
            _loop.Kick(); // its slot and blocks may let a waiting request start
        }

        _entries.Remove(ticket);
        return true;
    }

    private int? Pin(EngineSequence seq)
    {
        var entry = _entries[seq.Id];
        entry.Lease = _kv!.TryAcquire(entry.Blocks!);
        return entry.Lease?.CachedTokens;
    }

    private void Unpin(EngineSequence seq)
    {
        if (_entries.TryGetValue(seq.Id, out var entry) && entry.Lease is { } lease)
        {
            entry.Lease = null;
            _kv!.Release(lease);
        }
    }

    private sealed class Entry(AdmitRequest request, PromptBlocks[]? blocks)
    {
        public AdmitRequest Request { get; } = request;

        public PromptBlocks[]? Blocks { get; } = blocks;

        public EngineSequence? Sequence { get; set; }

        public KvLease? Lease { get; set; }
    }
}
