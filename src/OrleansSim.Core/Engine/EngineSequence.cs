namespace OrleansSim.Core.Engine;

/// <summary>Where a sequence is in the engine.</summary>
public enum SequenceState
{
    /// <summary>In the waiting queue (new, or preempted and waiting to recompute).</summary>
    Waiting,
    /// <summary>In the running batch.</summary>
    Running,
    /// <summary>Produced its last token, or was cancelled; holds nothing.</summary>
    Finished,
}

/// <summary>
/// One request in a <see cref="BatchEngine"/>: its prompt, how many tokens it will produce, and its progress
/// (tokens whose KV is computed, tokens produced, KV blocks held). Mutated only by its engine.
/// </summary>
public sealed class EngineSequence(long id, int promptTokens, int outputTokens, string? adapter = null, object? tag = null)
{
    public long Id { get; } = id;

    public int PromptTokens { get; } = Math.Max(1, promptTokens);

    /// <summary>Tokens the request produces (0: prefill only, e.g. echo with max_tokens 0).</summary>
    public int OutputTokens { get; } = Math.Max(0, outputTokens);

    /// <summary>The LoRA adapter it uses (null: the base model).</summary>
    public string? Adapter { get; } = adapter;

    /// <summary>The owner's object (the grain's per-request state).</summary>
    public object? Tag { get; } = tag;

    public SequenceState State { get; internal set; } = SequenceState.Waiting;

    /// <summary>Tokens whose KV is computed (prompt prefix, then the fed-back output tokens).</summary>
    public int ComputedTokens { get; internal set; }

    /// <summary>Tokens produced so far (delivered to the client; kept across a preemption).</summary>
    public int Generated { get; internal set; }

    /// <summary>KV blocks held.</summary>
    public int Blocks { get; internal set; }

    /// <summary>Prompt tokens that hit the prefix cache when it (last) started.</summary>
    public int CachedTokens { get; internal set; }

    /// <summary>Prompt tokens that hit the prefix cache the first time it started (what the response reports).</summary>
    public int FirstCachedTokens { get; internal set; } = -1;

    /// <summary>Times it was preempted.</summary>
    public int Preemptions { get; internal set; }

    /// <summary>Steps this sequence reports to its client: one per produced token, at least one.</summary>
    public int Events => Math.Max(1, OutputTokens);

    /// <summary>Tokens still to compute before the next token is sampled.</summary>
    internal int Pending => PromptTokens + Generated - ComputedTokens;

    /// <summary>True while it runs one token per step (prefill done, not recomputing).</summary>
    internal bool IsDecoding => Generated > 0 && Pending == 1;
}
