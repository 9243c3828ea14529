namespace OrleansSim.Core.Engine;

/// <summary>Limits of a <see cref="BatchEngine"/> (vLLM's scheduler flags).</summary>
/// <param name="MaxNumSeqs">Sequences in the running batch (<c>--max-num-seqs</c>).</param>
/// <param name="MaxNumBatchedTokens">Tokens computed per step (<c>--max-num-batched-tokens</c>).</param>
/// <param name="LongPrefillTokenThreshold">Largest prefill chunk of one sequence per step; 0: no limit (<c>--long-prefill-token-threshold</c>).</param>
/// <param name="KvBlocks">KV blocks of the rank; <see cref="int.MaxValue"/>: unlimited (no <c>--enable-kvcache</c>).</param>
/// <param name="BlockSize">Tokens per KV block.</param>
/// <param name="MaxLoras">Distinct LoRA adapters in the running batch (<c>--max-loras</c>).</param>
public sealed record EngineLimits(
    int MaxNumSeqs,
    int MaxNumBatchedTokens,
    int LongPrefillTokenThreshold = 0,
    int KvBlocks = int.MaxValue,
    int BlockSize = 16,
    int MaxLoras = int.MaxValue);

/// <summary>A sequence's event in a step: it produced token <see cref="Index"/> (0-based), or finished its prefill with no output (index 0).</summary>
public readonly record struct StepEvent(EngineSequence Sequence, int Index, bool Last);

/// <summary>What one engine step did and how long it takes.</summary>
public sealed class EngineStep
{
    /// <summary>Sequence number of the step (1, 2, …).</summary>
    public long Number { get; internal set; }

    public TimeSpan Duration { get; internal set; }

    /// <summary>Prompt (and recompute) tokens computed.</summary>
    public int PrefillTokens { get; internal set; }

    /// <summary>Sequences that decoded one token.</summary>
    public int DecodeSequences { get; internal set; }

    /// <summary>Context tokens attention read (KV blocks read × block size).</summary>
    public long KvTokensRead { get; internal set; }

    /// <summary>Tokens computed in the step (vLLM's iteration tokens): prefill tokens + decoding sequences.</summary>
    public int Tokens => PrefillTokens + DecodeSequences;

    /// <summary>Sequences preempted while scheduling this step.</summary>
    public int Preempted { get; internal set; }

    /// <summary>Sequences scheduled for the first time (they leave the waiting queue at this step's start).</summary>
    public List<EngineSequence> Started { get; } = [];

    /// <summary>Tokens produced at the end of the step, in batch order.</summary>
    public List<StepEvent> Events { get; } = [];

    /// <summary>True when the step computed nothing (the engine is idle or blocked).</summary>
    public bool IsEmpty => Tokens == 0;
}

/// <summary>
/// A vLLM-V1-like continuous-batching scheduler for one rank, as pure bookkeeping (no clock, no threads:
/// the caller runs <see cref="Step"/> back to back and adds the durations; see <see cref="EngineLoop"/>).
/// Each step: running sequences first, in the order they started, each takes what it still has to compute
/// (one token when decoding, a chunk of its prompt when prefilling, capped by the long-prefill threshold)
/// out of the step's token budget; KV blocks for those tokens are allocated, and when none are left the
/// newest running sequence is preempted (its blocks freed, recomputed later from scratch, as vLLM V1's
/// recompute preemption). Then, if nothing was preempted, waiting sequences join in FIFO order while slots,
/// budget, adapters and blocks allow (a join stops at the first that does not fit, as vLLM's does).
/// A sequence produces a token in the step that completes its prefill and in every decode step after.
/// Single-threaded by contract (the rank grain calls it from its own turns).
/// </summary>
public sealed class BatchEngine
{
    private readonly EngineLimits _limits;
    private readonly StepProfile _profile;
    private readonly Func<EngineSequence, int?>? _tryPin;
    private readonly Action<EngineSequence>? _unpin;
    private readonly List<EngineSequence> _running = [];
    private readonly LinkedList<EngineSequence> _waiting = new();
    private readonly Dictionary<string, int> _runningAdapters = new(StringComparer.Ordinal);
    private long _steps;

    /// <param name="limits">Scheduler limits.</param>
    /// <param name="profile">Step-time coefficients.</param>
    /// <param name="tryPin">
    /// Called when a sequence (re)starts: pins its prompt's prefix-cache blocks and returns the prompt tokens that hit,
    /// or null to refuse (it then waits). Null: no prefix cache.
    /// </param>
    /// <param name="unpin">Called when a started sequence gives its blocks back (finished, preempted or cancelled).</param>
    public BatchEngine(EngineLimits limits, StepProfile profile, Func<EngineSequence, int?>? tryPin = null, Action<EngineSequence>? unpin = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxNumSeqs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxNumBatchedTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.BlockSize, 1);
        _limits = limits;
        _profile = profile;
        _tryPin = tryPin;
        _unpin = unpin;
    }

    public EngineLimits Limits => _limits;

    public int Running => _running.Count;

    public int Waiting => _waiting.Count;

    /// <summary>KV blocks held by running sequences (0..<see cref="EngineLimits.KvBlocks"/>).</summary>
    public int UsedBlocks { get; private set; }

    /// <summary>Preemptions since the engine started (vllm:num_preemptions).</summary>
    public long Preemptions { get; private set; }

    /// <summary>Steps run that computed something.</summary>
    public long Steps => _steps;

    /// <summary>True while any sequence runs or waits.</summary>
    public bool HasWork => _running.Count > 0 || _waiting.Count > 0;

    /// <summary>Adapters of running sequences, in first-use order.</summary>
    public IReadOnlyList<string> RunningAdapters => [.. _runningAdapters.Keys];

    /// <summary>Adapters of waiting sequences, in queue order.</summary>
    public IReadOnlyList<string> WaitingAdapters =>
        [.. _waiting.Select(s => s.Adapter).OfType<string>().Distinct(StringComparer.Ordinal)];

    /// <summary>Blocks that cover <paramref name="tokens"/>.</summary>
    public int BlocksFor(int tokens) => (int)(((long)tokens + _limits.BlockSize - 1) / _limits.BlockSize);

    /// <summary>False when the sequence's prompt alone needs more blocks than the rank has: it could never run.</summary>
    public bool FitsAtAll(int promptTokens) => BlocksFor(promptTokens + 1) <= _limits.KvBlocks;

    /// <summary>Queues a new sequence; it joins the batch at a step boundary.</summary>
    public void Add(EngineSequence sequence)
    {
        if (sequence.State != SequenceState.Waiting || sequence.ComputedTokens != 0)
        {
            throw new InvalidOperationException("Only a new sequence can be added.");
        }

        _waiting.AddLast(sequence);
    }

    /// <summary>Removes a sequence wherever it is and gives its blocks back. False when it had already finished.</summary>
    public bool Cancel(EngineSequence sequence)
    {
        switch (sequence.State)
        {
            case SequenceState.Waiting:
                _waiting.Remove(sequence);
                sequence.State = SequenceState.Finished;
                return true;
            case SequenceState.Running:
                _running.Remove(sequence);
                Evict(sequence);
                sequence.State = SequenceState.Finished;
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Schedules and runs one step: returns what it computed, how long it takes and the tokens it produces
    /// (they are due at the step's end). The state already reflects the step's end.
    /// </summary>
    public EngineStep Step()
    {
        var step = new EngineStep();
        var budget = _limits.MaxNumBatchedTokens;
        var scheduled = new List<(EngineSequence Seq, int Tokens)>();

        // 1. The running batch, oldest first.
        for (var i = 0; i < _running.Count && budget > 0; i++)
        {
            var seq = _running[i];
            var tokens = ChunkOf(seq, budget);
            var need = BlocksFor(seq.ComputedTokens + tokens) - seq.Blocks;
            var selfPreempted = false;
            while (need > FreeBlocks)
            {
                var victim = _running[^1];
                Preempt(victim);
                step.Preempted++;
                if (ReferenceEquals(victim, seq))
                {
                    selfPreempted = true;
                    break;
                }
            }

            if (selfPreempted)
            {
                break; // it was the newest: nothing after it runs
            }

            seq.Blocks += need;
            UsedBlocks += need;
            scheduled.Add((seq, tokens));
            budget -= tokens;
        }

        // 2. Waiting sequences join while slots, budget, adapters and blocks allow (not in a step that preempted).
        if (step.Preempted == 0)
        {
            var node = _waiting.First;
            while (node is not null && budget > 0 && _running.Count < _limits.MaxNumSeqs)
            {
                var seq = node.Value;
                var next = node.Next;
                if (!AdapterFits(seq.Adapter))
                {
                    node = next; // its adapter cannot load now; later ones may run (vLLM skips them too)
                    continue;
                }

                if (!TryStart(seq, budget, out var tokens))
                {
                    break; // out of blocks: everyone behind waits too
                }

                _waiting.Remove(node);
                _running.Add(seq);
                AddAdapter(seq.Adapter);
                if (seq.FirstCachedTokens < 0)
                {
                    seq.FirstCachedTokens = seq.CachedTokens;
                    step.Started.Add(seq);
                }

                scheduled.Add((seq, tokens));
                budget -= tokens;
                node = next;
            }
        }

        if (scheduled.Count == 0)
        {
            return step;
        }

        // 3. Cost and outcome.
        step.Number = ++_steps;
        foreach (var (seq, tokens) in scheduled)
        {
            if (seq.IsDecoding)
            {
                step.DecodeSequences++;
            }
            else
            {
                step.PrefillTokens += tokens;
            }

            step.KvTokensRead += seq.ComputedTokens + tokens;
            seq.ComputedTokens += tokens;
            if (seq.Pending > 0)
            {
                continue; // a prefill chunk: no token yet
            }

            if (seq.OutputTokens == 0)
            {
                step.Events.Add(new StepEvent(seq, 0, Last: true));
                Finish(seq);
                continue;
            }

            seq.Generated++;
            var last = seq.Generated >= seq.OutputTokens;
            step.Events.Add(new StepEvent(seq, seq.Generated - 1, last));
            if (last)
            {
                Finish(seq);
            }
        }

        step.Duration = _profile.StepTime(step.PrefillTokens, step.DecodeSequences, step.KvTokensRead);
        return step;
    }

    private int FreeBlocks => _limits.KvBlocks == int.MaxValue ? int.MaxValue : _limits.KvBlocks - UsedBlocks;

    /// <summary>Tokens the sequence computes this step: its pending tokens, capped by the budget and the long-prefill threshold.</summary>
    private int ChunkOf(EngineSequence seq, int budget)
    {
        var tokens = Math.Min(seq.Pending, budget);
        if (_limits.LongPrefillTokenThreshold > 0)
        {
            tokens = Math.Min(tokens, _limits.LongPrefillTokenThreshold);
        }

        return tokens;
    }

    private bool TryStart(EngineSequence seq, int budget, out int tokens)
    {
        tokens = 0;
        var cached = 0;
        if (_tryPin is not null)
        {
            if (_tryPin(seq) is not { } hit)
            {
                return false;
            }

            // At least the last token is computed, so a token can be sampled (vLLM does the same on a full hit).
            cached = Math.Clamp(hit, 0, seq.PromptTokens + seq.Generated - 1);
        }

        seq.ComputedTokens = cached;
        tokens = ChunkOf(seq, budget);
        var need = BlocksFor(cached + tokens);
        if (need > FreeBlocks)
        {
            seq.ComputedTokens = 0;
            _unpin?.Invoke(seq);
            return false;
        }

        seq.CachedTokens = cached;
        seq.Blocks = need;
        UsedBlocks += need;
        seq.State = SequenceState.Running;
        return true;
    }

    private void Preempt(EngineSequence seq)
    {
        _running.Remove(seq);
        Evict(seq);
        seq.ComputedTokens = 0;
        seq.Preemptions++;
        seq.State = SequenceState.Waiting;
        _waiting.AddFirst(seq); // it resumes before newer waiters
        Preemptions++;
    }

    private void Finish(EngineSequence seq)
    {
        _running.Remove(seq);
        Evict(seq);
        seq.State = SequenceState.Finished;
    }

    /// <summary>Gives back the blocks and the adapter use of a sequence leaving the batch.</summary>
    private void Evict(EngineSequence seq)
    {
        UsedBlocks -= seq.Blocks;
        seq.Blocks = 0;
        RemoveAdapter(seq.Adapter);
        _unpin?.Invoke(seq);
    }

    private bool AdapterFits(string? adapter) =>
        adapter is null || _runningAdapters.ContainsKey(adapter) || _runningAdapters.Count < _limits.MaxLoras;

    private void AddAdapter(string? adapter)
    {
        if (adapter is not null)
        {
            _runningAdapters[adapter] = _runningAdapters.GetValueOrDefault(adapter) + 1;
        }
    }

    private void RemoveAdapter(string? adapter)
    {
        if (adapter is null || !_runningAdapters.TryGetValue(adapter, out var count))
        {
            return;
        }

        if (count > 1)
        {
            _runningAdapters[adapter] = count - 1;
        }
        else
        {
            _runningAdapters.Remove(adapter);
        }
    }
}
