using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Surfaces.Chat;

/// <summary>POST /v1/chat/completions (vLLM's ChatCompletionRequest).</summary>
public sealed class ChatSurface(SimulatorOptions options, PromptReader prompts) : ApiSurface
{
    public override string Route => "/v1/chat/completions";

    public override string OperationName => "CreateChatCompletion";

    public override string Summary => "OpenAI chat completion (SSE stream with \"stream\": true)";

    public override string ExampleJson => """{"messages":[{"role":"user","content":"Hello!"}],"max_tokens":20,"stream":false}""";

    public override IReadOnlyList<(string Name, string Summary, string Json)> MoreExamples =>
    [
        ("tools", "tool calls (tool_choice auto, required, none or {\"type\":\"function\",\"function\":{\"name\":...}})",
            """{"messages":[{"role":"user","content":"What is the weather in Boston?"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}}],"tool_choice":"required"}"""),
        ("json_schema", "structured output: content validates against the schema",
            """{"messages":[{"role":"user","content":"Describe a movie"}],"response_format":{"type":"json_schema","json_schema":{"name":"movie","strict":true,"schema":{"type":"object","properties":{"title":{"type":"string"},"year":{"type":"integer","minimum":1900,"maximum":2030},"genres":{"type":"array","items":{"type":"string","enum":["drama","comedy","horror"]}}},"required":["title","year"]}}}}"""),
        ("json_object", "structured output: content is one JSON object",
            """{"messages":[{"role":"user","content":"Answer in JSON"}],"response_format":{"type":"json_object"}}"""),
    ];

    public override InferenceRequest Parse(JsonElement body, string requestId)
    {
        var model = prompts.ResolveModel(body);
        var prompt = prompts.ChatPrompt(PromptReader.ReadMessages(body));
        var n = SamplingParameters.ReadN(body);
        SamplingParameters.Validate(body);
        var topLogprobs = ReadLogprobs(body);
        var tools = ChatToolsReader.Read(body, options.SkipToolValidation);
        var structured = StructuredOutputReader.Read(body);

        var maxTokensField = "max_tokens";
        var maxTokens = JsonFields.GetInt(body, "max_tokens");
        if (JsonFields.GetInt(body, "max_completion_tokens") is { } completionTokens)
        {
            maxTokensField = "max_completion_tokens";
            maxTokens = completionTokens;
        }

        SamplingParameters.CheckMaxTokens(maxTokens, maxTokensField);
        SamplingParameters.CheckMinTokens(body, maxTokens);
        prompts.CheckContextWindow(prompt.PromptTokens, maxTokens, maxTokensField, "messages");

        var stream = JsonFields.GetBool(body, "stream") ?? false;
        var (includeUsage, continuous) = SamplingParameters.ReadStreamOptions(body, stream, options.EnableForceIncludeUsage);
        return new InferenceRequest
        {
            Surface = this,
            RequestId = requestId,
            ResponseModel = model.ResponseModel,
            Lora = model.Lora,
            Prompts = [prompt],
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
            Tools = tools,
            StructuredOutput = structured,
        };
    }

    /// <summary>vLLM's system_fingerprint for this configuration, computed once.</summary>
    private readonly string _fingerprint = VllmRelease.Fingerprint(options);

    public override ResponseWriter CreateWriter(InferenceRun run) => new ChatWriter(run, _fingerprint);

    /// <summary>
    /// <c>logprobs</c> (bool) and <c>top_logprobs</c>, checked as vLLM's ChatCompletionRequest.check_logprobs and its
    /// engine's max-logprobs check do. Null when logprobs are off.
    /// </summary>
    private static int? ReadLogprobs(JsonElement body)
    {
        var logprobs = JsonFields.GetBool(body, "logprobs") ?? false;
        var top = SamplingParameters.ReadLogprobCount(body, "top_logprobs");
        if (top is { } requested && requested != 0 && !logprobs)
        {
            throw ApiException.BadRequest("when using `top_logprobs`, `logprobs` must be set to true.", "top_logprobs");
        }

        return logprobs ? SamplingParameters.CheckMaxLogprobs(top ?? 0) : null;
    }
}
