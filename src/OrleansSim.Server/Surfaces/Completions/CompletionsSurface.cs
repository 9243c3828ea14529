using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Surfaces.Completions;

/// <summary>POST /v1/completions (vLLM's CompletionRequest).</summary>
public sealed class CompletionsSurface(SimulatorOptions options, PromptReader prompts) : ApiSurface
{
    /// <summary>vLLM's default max_tokens for /v1/completions (CompletionRequest.max_tokens = 16).</summary>
    public const int DefaultMaxTokens = 16;

    public override string Route => "/v1/completions";

    public override string OperationName => "CreateCompletion";

    public override string Summary => "OpenAI text completion; prompt may be a string, strings, token ids or lists of token ids";

    public override string ExampleJson => """{"prompt":"Once upon a time","max_tokens":16}""";

    public override InferenceRequest Parse(JsonElement body, string requestId)
    {
        var model = prompts.ResolveModel(body);
        IReadOnlyList<PromptInput> inputs = prompts.ReadPrompts(body, "prompt");
        var n = SamplingParameters.ReadN(body);
        SamplingParameters.Validate(body);
        var topLogprobs = SamplingParameters.ReadLogprobCount(body, "logprobs") is { } requested ? SamplingParameters.CheckMaxLogprobs(requested) : (int?)null;

        // echo: the prompt is returned before the output; with max_tokens 0 it is all there is (vLLM's
        // echo_without_generation, what loglikelihood evaluations send).
        var echo = JsonFields.GetBool(body, "echo") ?? false;
        var maxTokens = JsonFields.GetInt(body, "max_tokens");
        SamplingParameters.CheckMaxTokens(maxTokens, "max_tokens", allowZero: echo);
        maxTokens ??= DefaultMaxTokens;
        SamplingParameters.CheckMinTokens(body, maxTokens);
        foreach (var prompt in inputs)
        {
            prompts.CheckContextWindow(prompt.PromptTokens, maxTokens, "max_tokens", "prompt");
        }

        var stream = JsonFields.GetBool(body, "stream") ?? false;
        if (echo && topLogprobs is not null)
        {
            inputs = [.. inputs.Select(prompts.WithEchoPieces)];
        }

        var (includeUsage, continuous) = SamplingParameters.ReadStreamOptions(body, stream, options.EnableForceIncludeUsage);
        return new InferenceRequest
        {
            Surface = this,
            RequestId = requestId,
            ResponseModel = model.ResponseModel,
            Lora = model.Lora,
            Prompts = inputs,
            N = n,
            MaxTokens = maxTokens,
            IgnoreEos = JsonFields.GetBool(body, "ignore_eos") ?? false,
            Stop = JsonFields.GetStringOrList(body, "stop"),
            Seed = JsonFields.GetLong(body, "seed"),
            Stream = stream,
            KvTransfer = KvTransferParams.Read(body, stream),
            IncludeUsage = includeUsage,
            ContinuousUsageStats = continuous,
            TopLogprobs = topLogprobs,
            Echo = echo,
            StructuredOutput = StructuredOutputReader.Read(body),
        };
    }

    /// <summary>vLLM's system_fingerprint for this configuration, computed once.</summary>
    private readonly string _fingerprint = VllmRelease.Fingerprint(options);

    public override ResponseWriter CreateWriter(InferenceRun run) => new CompletionsWriter(run, _fingerprint);
}
