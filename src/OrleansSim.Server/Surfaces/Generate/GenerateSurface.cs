using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Surfaces.Generate;

/// <summary>A generate request: the shared fields plus the id its responses carry.</summary>
public sealed record GenerateRequest : InferenceRequest
{
    /// <summary><c>generate-tokens-</c> + X-Request-Id, else the body's <c>request_id</c>, else a new id (vLLM's _base_request_id).</summary>
    public required string ResponseId { get; init; }
}

/// <summary>
/// POST /inference/v1/generate, vLLM's tokens-in/tokens-out API (GenerateRequest: <c>token_ids</c>,
/// <c>sampling_params</c>, <c>stream</c>, <c>stream_options</c>, <c>request_id</c>, <c>model</c>): the answer is token ids,
/// no text. Runs through the rank's slots and the shared run loop like the OpenAI surfaces.
/// </summary>
public sealed class GenerateSurface(SimulatorOptions options, PromptReader prompts) : ApiSurface
{
    public const string IdPrefix = "generate-tokens-";

    public override string Route => "/inference/v1/generate";

    public override string OperationName => "Generate";

    public override string Summary => "vLLM tokens-in/tokens-out generate: token_ids + sampling_params → choices[].token_ids; stream: true for SSE";

    public override string ExampleJson => """{"token_ids":[9906,1917],"sampling_params":{"max_tokens":8}}""";

    public override IReadOnlyList<(string Name, string Summary, string Json)> MoreExamples =>
    [
        ("stream", "Streamed, with the final usage chunk", """{"token_ids":[9906,1917],"sampling_params":{"max_tokens":8},"stream":true,"stream_options":{"include_usage":true}}"""),
        ("logprobs", "Two choices with logprobs of the sampled token and one alternative", """{"token_ids":[9906,1917],"sampling_params":{"max_tokens":4,"n":2,"logprobs":2,"seed":7}}"""),
    ];

    public override InferenceRequest Parse(JsonElement body, string requestId)
    {
        var model = prompts.ResolveModel(body);
        var prompt = ReadTokenIds(body);
        if (JsonFields.Get(body, "sampling_params") is not { } sampling)
        {
            throw ApiException.BadRequest("Field required: 'sampling_params'.", "sampling_params");
        }

        if (sampling.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.Invalid("sampling_params", "an object");
        }

        // SamplingParams: the same checks as the OpenAI surfaces' sampling fields, then the server's n limit.
        SamplingParameters.Validate(sampling);
        var n = SamplingParameters.ReadN(sampling);
        if (n > options.MaxNumSeqs)
        {
            throw ApiException.BadRequest($"sampling_params.n must be at most the server's max_num_seqs ({options.MaxNumSeqs}), got {n}.", "sampling_params");
        }

        var maxTokens = JsonFields.GetInt(sampling, "max_tokens");
        SamplingParameters.CheckMaxTokens(maxTokens, "max_tokens");
        SamplingParameters.CheckMinTokens(sampling, maxTokens);
        prompts.CheckContextWindow(prompt.PromptTokens, maxTokens, "max_tokens", "token_ids");
        var topLogprobs = SamplingParameters.ReadLogprobCount(sampling, "logprobs") is { } requested ? SamplingParameters.CheckMaxLogprobs(requested) : (int?)null;

        // vLLM's generate reads stream_options only when streaming (no --enable-force-include-usage here).
        var stream = JsonFields.GetBool(body, "stream") ?? false;
        var (includeUsage, continuous) = stream ? SamplingParameters.ReadStreamOptions(body, true, false) : (false, false);

        var bodyId = JsonFields.GetString(body, "request_id");
        var baseId = bodyId is not null && RequestIdentity.IsGenerated(requestId) ? bodyId : requestId;
        return new GenerateRequest
        {
            Surface = this,
            RequestId = requestId,
            ResponseId = IdPrefix + baseId,
            ResponseModel = model.ResponseModel,
            Lora = model.Lora,
            Prompts = [prompt],
            N = n,
            MaxTokens = maxTokens,
            IgnoreEos = JsonFields.GetBool(sampling, "ignore_eos") ?? false,
            Stop = JsonFields.GetStringOrList(sampling, "stop"),
            Seed = JsonFields.GetLong(sampling, "seed"),
            Stream = stream,
            IncludeUsage = includeUsage,
            ContinuousUsageStats = continuous,
            TopLogprobs = topLogprobs,
        };
    }

    public override ResponseWriter CreateWriter(InferenceRun run) => new GenerateWriter(run, prompts.Tokenizer);

    /// <summary><c>token_ids</c>: a non-empty list of non-negative token ids of the vocabulary (vLLM's GenerateRequest.token_ids).</summary>
    private PromptInput ReadTokenIds(JsonElement body)
    {
        if (JsonFields.Get(body, "token_ids") is not { } ids)
        {
            throw ApiException.BadRequest("Field required: 'token_ids'.", "token_ids");
        }

        if (ids.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.Invalid("token_ids", "a list of token ids");
        }

        if (ids.GetArrayLength() == 0)
        {
            throw ApiException.BadRequest("'token_ids' must not be empty.", "token_ids");
        }

        foreach (var id in ids.EnumerateArray())
        {
            if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out var value))
            {
                throw JsonFields.Invalid("token_ids", "a list of token ids");
            }

            if (value < 0)
            {
                throw ApiException.BadRequest("token_ids must not contain negative values", "token_ids");
            }
        }

        return prompts.ReadPrompts(body, "token_ids")[0];
    }
}
