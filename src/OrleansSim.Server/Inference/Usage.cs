namespace OrleansSim.Server.Inference;

/// <summary>Token counts of one response (vLLM UsageInfo; every surface reports these, in its own shape).</summary>
public readonly record struct Usage(int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;

    /// <summary>Prompt tokens served from the prefix cache; null (no details) without <c>--enable-kvcache</c>.</summary>
    public int? CachedTokens { get; init; }
}
