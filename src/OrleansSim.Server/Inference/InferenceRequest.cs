namespace OrleansSim.Server.Inference;

/// <summary>One prompt of a request: what echo mode repeats and its token ids (encoded once, by the parser).</summary>
public sealed record PromptInput(string EchoText, int[] TokenIds)
{
    public int PromptTokens => TokenIds.Length;

    /// <summary>
    /// With completions <c>echo</c> and logprobs: the prompt text cut into token pieces, whose logprobs lead
    /// the choice's (vLLM's prompt logprobs; the first token has none). Null otherwise.
    /// </summary>
    public IReadOnlyList<string>? EchoPieces { get; init; }
}

/// <summary>
/// A validated request of any API surface, reduced to what the shared run loop (<see cref="InferenceRunner"/>)
/// acts on. Built by its surface's parser (<see cref="ApiSurface.Parse"/>); everything a client may send but a
/// simulator cannot honour (temperature, top_p, …) is validated and dropped there. A surface that needs more
/// per-request data derives from this record.
/// </summary>
public record InferenceRequest
{
    /// <summary>The API surface that parsed the request; its writer answers it.</summary>
    public required ApiSurface Surface { get; init; }

    /// <summary>The request id: x-request-id when given, else generated. Response ids derive from it.</summary>
    public required string RequestId { get; init; }

    /// <summary>The model name responses carry (the first served name for the base model, the adapter name for a LoRA).</summary>
    public required string ResponseModel { get; init; }

    /// <summary>The LoRA adapter named by <c>model</c>, or null for the base model.</summary>
    public string? Lora { get; init; }

    /// <summary>One entry per prompt (chat: one; completions and embeddings: one per input of a list).</summary>
    public required IReadOnlyList<PromptInput> Prompts { get; init; }

    public int N { get; init; } = 1;

    /// <summary>max_completion_tokens ?? max_tokens (completions default 16, as vLLM); null = up to the context window.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>
    /// False for surfaces that produce no tokens (embeddings): every choice is planned empty and the answer goes out
    /// once the prompt is processed (the time to first token).
    /// </summary>
    public bool GeneratesTokens { get; init; } = true;

    public bool IgnoreEos { get; init; }

    public IReadOnlyList<string> Stop { get; init; } = [];

    public long? Seed { get; init; }

    public bool Stream { get; init; }

    public bool IncludeUsage { get; init; }

    public bool ContinuousUsageStats { get; init; }

    /// <summary>
    /// Null when the request asked for no logprobs. Otherwise the number of top logprobs per token: chat's
    /// <c>top_logprobs</c> (0..20, with <c>logprobs: true</c>), completions' <c>logprobs</c> (0..20).
    /// </summary>
    public int? TopLogprobs { get; init; }

    /// <summary>Completions <c>echo</c>: each choice's text starts with its prompt (vLLM's CompletionRequest.echo).</summary>
    public bool Echo { get; init; }

    /// <summary>The function tools the model may call and how (chat <c>tools</c> + <c>tool_choice</c>); null = no tools.</summary>
    public Core.Generation.Tools.ToolCallRequest? Tools { get; init; }

    /// <summary>The structured-output constraint on text answers (<c>response_format</c>, <c>structured_outputs</c>); null = free text.</summary>
    public Core.Generation.Tools.StructuredOutput? StructuredOutput { get; init; }

    /// <summary>vLLM's <c>kv_transfer_params</c> (P/D disaggregation); null when absent.</summary>
    public KvTransferParams? KvTransfer { get; init; }

    public int PromptTokens => Prompts.Sum(p => p.PromptTokens);

    /// <summary>Choices in the response: n per prompt, indexed prompt-major as vLLM does.</summary>
    public int ChoiceCount => Prompts.Count * N;
}
