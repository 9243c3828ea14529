using System.Runtime.InteropServices;
using System.Text.Json;
using OrleansSim.Core.Generation;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;
using OrleansSim.Server.Surfaces.OpenAI;

namespace OrleansSim.Server.Surfaces.Embeddings;

/// <summary>
/// vLLM's EmbeddingResponse: <c>{"id":"embd-…","object":"list","created","model","data":[{"index","object":"embedding",
/// "embedding"}],"usage"}</c>, the vector as floats (float32 values written as vLLM's Python floats) or base64.
/// </summary>
public sealed class EmbeddingsWriter(InferenceRun run) : ResponseWriter(run)
{
    public const string IdPrefix = "embd-";

    private static readonly JsonEncodedText List = JsonEncodedText.Encode("list");
    private static readonly JsonEncodedText Data = JsonEncodedText.Encode("data");
    private static readonly JsonEncodedText Embedding = JsonEncodedText.Encode("embedding");

    public override void WriteBody(Utf8JsonWriter w)
    {
        var request = (EmbeddingRequest)Request;
        var vector = new float[request.Dimensions];
        w.WriteStartObject();
        OpenAiWire.WriteHeader(w, IdPrefix, request, List, Run.Created);
        w.WriteStartArray(Data);
        for (var i = 0; i < request.Prompts.Count; i++)
        {
            EmbeddingGenerator.Embed(request.Prompts[i].TokenIds, vector);
            w.WriteStartObject();
            w.WriteNumber(OpenAiWire.Index, i);
            w.WriteString(OpenAiWire.Object, Embedding);
            if (request.Base64)
            {
                // float32, little-endian (vLLM's default embed_dtype and native order on x86/ARM servers).
                w.WriteBase64String(Embedding, MemoryMarshal.AsBytes(vector.AsSpan()));
            }
            else
            {
                w.WriteStartArray(Embedding);
                foreach (var value in vector)
                {
                    w.WriteNumberValue((double)value);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        // UsageInfo(prompt_tokens, total_tokens): completion_tokens 0, no details.
        OpenAiWire.WriteUsage(w, new Usage(request.PromptTokens, 0));
        w.WriteEndObject();
    }

    /// <summary>Embeddings never stream (the parser never sets <see cref="InferenceRequest.Stream"/>).</summary>
    public override void WriteStep(SseWriter sse, int k) => throw new NotSupportedException("embeddings do not stream");
}
