using System.Text;
using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Tokenization;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Surfaces.Responses;

/// <summary>A Responses API request: the shared fields plus what the response object echoes back.</summary>
public sealed record ResponsesRequest : InferenceRequest
{
    public string? Instructions { get; init; }

    /// <summary>The request's <c>metadata</c> object (a detached copy), echoed in the response.</summary>
    public JsonElement? Metadata { get; init; }

    /// <summary>The sampling temperature the response reports (vLLM's default 1.0 when not given).</summary>
    public double Temperature { get; init; } = 1.0;

    public double TopP { get; init; } = 1.0;

    /// <summary>The request's <c>tools</c> list as given (a detached copy), echoed in the response; null = none.</summary>
    public JsonElement? ToolsJson { get; init; }

    /// <summary>The request's <c>tool_choice</c> as given (a detached copy); null = <c>"auto"</c>.</summary>
    public JsonElement? ToolChoiceJson { get; init; }

    public bool ParallelToolCalls { get; init; } = true;

    /// <summary>The request's <c>text</c> object as given (a detached copy), echoed in the response; null = none.</summary>
    public JsonElement? TextJson { get; init; }
}

/// <summary>
/// POST /v1/responses: OpenAI's Responses API as vLLM serves it without a tool or reasoning parser
/// (vllm/entrypoints/openai/responses: ResponsesRequest, OpenAIServingResponses). <c>input</c> is a string or a list
/// of items (messages with string or input_text/output_text content, function_call and function_call_output items);
/// <c>instructions</c> is a leading system message; <c>max_output_tokens</c> is capped by the room the context window
/// leaves, as vLLM's to_sampling_params does; function <c>tools</c> with <c>tool_choice</c> may make the answer one
/// function_call item; <c>text.format</c> json_schema constrains the text to the schema (vLLM's structured outputs), so
/// the SDKs' <c>responses.parse</c> gets JSON it can parse. The response is not stored (vLLM's default without
/// VLLM_ENABLE_RESPONSES_API_STORE).
/// </summary>
public sealed class ResponsesSurface(SimulatorOptions options, PromptReader prompts) : ApiSurface
{
    public override string Route => "/v1/responses";

    public override string OperationName => "CreateResponse";

    public override string Summary => "OpenAI Responses (vLLM's /v1/responses; SSE events with \"stream\": true)";

    public override string ExampleJson => """{"input":"Hello!","instructions":"You are terse.","max_output_tokens":20,"stream":false}""";

    public override InferenceRequest Parse(JsonElement body, string requestId)
    {
        var model = prompts.ResolveModel(body);
        var instructions = JsonFields.GetString(body, "instructions");
        var messages = new List<PromptMessage>();
        if (!string.IsNullOrEmpty(instructions))
        {
            messages.Add(new PromptMessage("system", instructions));
        }

        ReadInput(body, messages);
        var tools = ResponsesToolsReader.Read(body, options.SkipToolValidation);
        var structured = StructuredOutputReader.ReadTextFormat(body);
        var prompt = prompts.ChatPrompt(PromptReader.WithTools(body, messages));
        if (prompt.PromptTokens >= options.MaxModelLen)
        {
            throw new ApiException(StatusCodes.Status400BadRequest,
                $"The engine prompt length {prompt.PromptTokens} exceeds the max_model_len {options.MaxModelLen}. Please reduce prompt.", "input", "invalid_request_error");
        }

        SamplingParameters.Validate(body);
        var requested = JsonFields.GetInt(body, "max_output_tokens");
        SamplingParameters.CheckMaxTokens(requested, "max_output_tokens");
        var room = options.MaxModelLen - prompt.PromptTokens;
        var maxTokens = requested is { } r ? Math.Min(r, room) : room;

        return new ResponsesRequest
        {
            Surface = this,
            RequestId = requestId,
            ResponseModel = model.ResponseModel,
            Lora = model.Lora,
            Prompts = [prompt],
            MaxTokens = maxTokens,
            IgnoreEos = JsonFields.GetBool(body, "ignore_eos") ?? false,
            Stop = JsonFields.GetStringOrList(body, "stop"),
            Seed = JsonFields.GetLong(body, "seed"),
            Stream = JsonFields.GetBool(body, "stream") ?? false,
            Instructions = instructions,
            Metadata = JsonFields.GetObject(body, "metadata")?.Clone(),
            Temperature = JsonFields.GetNumber(body, "temperature") ?? 1.0,
            TopP = JsonFields.GetNumber(body, "top_p") ?? 1.0,
            Tools = tools,
            StructuredOutput = structured,
            TextJson = JsonFields.Get(body, "text")?.Clone(),
            ToolsJson = JsonFields.Get(body, "tools")?.Clone(),
            ToolChoiceJson = JsonFields.Get(body, "tool_choice")?.Clone(),
            ParallelToolCalls = JsonFields.GetBool(body, "parallel_tool_calls") ?? true,
        };
    }

    public override ResponseWriter CreateWriter(InferenceRun run) => new ResponsesWriter(run);

    /// <summary>
    /// <c>input</c> as chat messages (vLLM's construct_input_messages): a string is one user message; items are
    /// messages (role and content), an assistant's function_call and the function_call_output that answers it.
    /// </summary>
    private static void ReadInput(JsonElement body, List<PromptMessage> messages)
    {
        switch (JsonFields.Get(body, "input"))
        {
            case null:
                throw ApiException.BadRequest("Field required: 'input'.", "input");
            case { ValueKind: JsonValueKind.String } text:
                messages.Add(new PromptMessage("user", JsonFields.Text(text, "input")));
                return;
            case { ValueKind: JsonValueKind.Array } items when items.GetArrayLength() == 0:
                throw ApiException.BadRequest("'input' must not be empty.", "input");
            case { ValueKind: JsonValueKind.Array } items:
                var i = 0;
                foreach (var item in items.EnumerateArray())
                {
                    messages.Add(ReadItem(item, $"input[{i++}]"));
                }

                return;
            default:
                throw JsonFields.Invalid("input", "a string or a list of input items");
        }
    }

    private static PromptMessage ReadItem(JsonElement item, string path)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.Invalid(path, "an input item object");
        }

        switch (JsonFields.GetString(item, "type", $"{path}.type"))
        {
            case null or "message":
                var role = JsonFields.GetString(item, "role", $"{path}.role") switch
                {
                    null => throw ApiException.BadRequest($"Field required: '{path}.role'.", "input"),
                    var r when r is "user" or "system" or "developer" or "assistant" => r,
                    var other => throw ApiException.BadRequest($"'{path}.role' must be 'user', 'system', 'developer' or 'assistant', got '{other}'.", "input"),
                };
                return new PromptMessage(role, ReadContent(item, path));
            case "function_call":
                var name = JsonFields.GetString(item, "name", $"{path}.name") ?? throw ApiException.BadRequest($"Field required: '{path}.name'.", "input");
                var arguments = JsonFields.GetString(item, "arguments", $"{path}.arguments") ?? throw ApiException.BadRequest($"Field required: '{path}.arguments'.", "input");
                return new PromptMessage("assistant", PromptReader.ToolCallText(name, arguments));
            case "function_call_output":
                var output = JsonFields.GetString(item, "output", $"{path}.output") ?? throw ApiException.BadRequest($"Field required: '{path}.output'.", "input");
                return new PromptMessage("tool", output);
            case var other:
                throw ApiException.BadRequest($"'{path}.type' must be 'message', 'function_call' or 'function_call_output', got '{other}'.", "input");
        }
    }

    /// <summary>A message item's content: a string, or its input_text / output_text parts joined.</summary>
    private static string ReadContent(JsonElement item, string path)
    {
        switch (JsonFields.Get(item, "content"))
        {
            case null:
                throw ApiException.BadRequest($"Field required: '{path}.content'.", "input");
            case { ValueKind: JsonValueKind.String } text:
                return JsonFields.Text(text, $"{path}.content");
            case { ValueKind: JsonValueKind.Array } parts:
                var content = new StringBuilder();
                foreach (var part in parts.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object)
                    {
                        throw JsonFields.Invalid($"{path}.content", "a string or a list of content parts");
                    }

                    var type = JsonFields.GetString(part, "type", $"{path}.content.type");
                    if (type is "input_text" or "output_text")
                    {
                        content.Append(JsonFields.GetString(part, "text", $"{path}.content.text")
                            ?? throw ApiException.BadRequest($"Field required: '{path}.content.text'.", "input"));
                    }
                }

                return content.ToString();
            default:
                throw JsonFields.Invalid($"{path}.content", "a string or a list of content parts");
        }
    }
}
