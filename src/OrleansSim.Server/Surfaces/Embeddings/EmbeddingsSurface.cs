using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Surfaces.Embeddings;

/// <summary>An embeddings request: the shared fields plus the vector size and its encoding.</summary>
public sealed record EmbeddingRequest : InferenceRequest
{
    public required int Dimensions { get; init; }

    /// <summary><c>encoding_format: "base64"</c>: little-endian float32 bytes, base64 (the OpenAI SDKs' default).</summary>
    public bool Base64 { get; init; }
}

/// <summary>
/// POST /v1/embeddings (vLLM's EmbeddingCompletionRequest / EmbeddingChatRequest): <c>input</c> as a string, strings,
/// token ids or lists of them (or chat <c>messages</c>); one deterministic unit-length vector per input. Runs through
/// the rank's slots like any request and generates no tokens: the answer goes out once the prompts are processed.
/// </summary>
public sealed class EmbeddingsSurface(SimulatorOptions options, PromptReader prompts) : ApiSurface
{
    public override string Route => "/v1/embeddings";

    public override string OperationName => "CreateEmbedding";

    public override string Summary => "OpenAI embeddings; input may be a string, strings, token ids or lists of token ids; encoding_format float or base64";

    public override string ExampleJson => """{"input":["The food was delicious","The waiter was friendly"],"encoding_format":"float","dimensions":8}""";

    public override InferenceRequest Parse(JsonElement body, string requestId)
    {
        var model = prompts.ResolveModel(body);
        IReadOnlyList<PromptInput> inputs = JsonFields.Get(body, "input") is null && JsonFields.Get(body, "messages") is not null
            ? [prompts.ChatPrompt(PromptReader.ReadMessages(body))]
            : prompts.ReadPrompts(body, "input");

        var format = JsonFields.GetString(body, "encoding_format") ?? "float";
        if (format is not ("float" or "base64"))
        {
            throw ApiException.BadRequest($"'encoding_format' must be 'float' or 'base64', got '{format}'.", "encoding_format");
        }

        var dimensions = JsonFields.GetInt(body, "dimensions") ?? options.DefaultEmbeddingDimensions;
        if (dimensions < 1)
        {
            throw ApiException.BadRequest("Dimensions must be greater than 0", "dimensions");
        }

        foreach (var input in inputs)
        {
            // A pooling request generates nothing: the prompt may fill the whole context window.
            if (input.PromptTokens > options.MaxModelLen)
            {
                throw ApiException.BadRequest(
                    $"This model's maximum context length is {options.MaxModelLen} tokens. However, you requested {input.PromptTokens} tokens in the input for embedding generation. Please reduce the length of the input.",
                    "input");
            }
        }

        return new EmbeddingRequest
        {
            Surface = this,
            RequestId = requestId,
            ResponseModel = model.ResponseModel,
            Lora = model.Lora,
            Prompts = inputs,
            GeneratesTokens = false,
            MaxTokens = 0,
            Dimensions = dimensions,
            Base64 = format == "base64",
        };
    }

    public override ResponseWriter CreateWriter(InferenceRun run) => new EmbeddingsWriter(run);
}
