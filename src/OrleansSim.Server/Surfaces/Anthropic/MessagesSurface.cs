using System.Text;
using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Generation.Tools;
using OrleansSim.Core.Tokenization;
using OrleansSim.Server.Api;
using OrleansSim.Server.Inference;

namespace OrleansSim.Server.Surfaces.Anthropic;

/// <summary>
/// POST /v1/messages: Anthropic's Messages API as vLLM serves it (vllm/entrypoints/anthropic: AnthropicMessagesRequest,
/// converted to a chat request). <c>system</c> (a string or text blocks) and the system-role messages become one
/// system message; <c>messages</c> take string content or text / tool_use / tool_result blocks; <c>max_tokens</c> is
/// required; <c>stop_sequences</c> are stop strings; <c>tools</c> + <c>tool_choice</c> let the answer be tool_use blocks.
/// Errors use Anthropic's envelope.
/// </summary>
public sealed class MessagesSurface(SimulatorOptions options, PromptReader prompts) : ApiSurface
{
    public override string Route => "/v1/messages";

    public override string OperationName => "CreateMessage";

    public override string Summary => "Anthropic Messages (vLLM's /v1/messages; Anthropic SSE events with \"stream\": true)";

    // Anthropic's model field is required: the example names the served model, so it runs as it is.
    public override string ExampleJson =>
        $$"""{"model":{{JsonSerializer.Serialize(options.DisplayModelName)}},"system":"You are terse.","messages":[{"role":"user","content":"Hello!"}],"max_tokens":20,"stream":false}""";

    public override InferenceRequest Parse(JsonElement body, string requestId)
    {
        var (model, tools, prompt) = ReadPrompt(body);
        var maxTokens = JsonFields.GetInt(body, "max_tokens")
            ?? throw ApiException.BadRequest("Field required: 'max_tokens'.", "max_tokens");
        if (maxTokens <= 0)
        {
            throw ApiException.BadRequest("max_tokens must be positive", "max_tokens");
        }

        SamplingParameters.Validate(body);
        prompts.CheckContextWindow(prompt.PromptTokens, maxTokens, "max_tokens", "messages");
        var stop = JsonFields.Get(body, "stop_sequences") is { ValueKind: not JsonValueKind.Array }
            ? throw JsonFields.Invalid("stop_sequences", "a list of strings")
            : JsonFields.GetStringOrList(body, "stop_sequences");

        return new InferenceRequest
        {
            Surface = this,
            RequestId = requestId,
            ResponseModel = model.ResponseModel,
            Lora = model.Lora,
            Prompts = [prompt],
            MaxTokens = maxTokens,
            Stop = stop,
            Stream = JsonFields.GetBool(body, "stream") ?? false,
            Tools = tools,
        };
    }

    public override ResponseWriter CreateWriter(InferenceRun run) => new MessagesWriter(run);

    /// <summary>
    /// What /v1/messages and /v1/messages/count_tokens read alike: the required model, the tools, and the conversation
    /// rendered as the chat prompt (tool definitions counted in), so count_tokens answers the input_tokens a create would.
    /// </summary>
    public (ResolvedModel Model, ToolCallRequest? Tools, PromptInput Prompt) ReadPrompt(JsonElement body)
    {
        // vLLM's AnthropicMessagesRequest / AnthropicCountTokensRequest require model (unlike the OpenAI surfaces).
        if (JsonFields.GetString(body, "model") is not { Length: > 0 })
        {
            throw ApiException.BadRequest("Field required: 'model'.", "model");
        }

        var model = prompts.ResolveModel(body);
        var tools = AnthropicToolsReader.Read(body, options.SkipToolValidation);
        var messages = PromptReader.WithTools(body, ReadConversation(body));
        return (model, tools, prompts.ChatPrompt(messages));
    }

    public override Task WriteErrorAsync(HttpContext context, ApiException error) => AnthropicWire.WriteErrorAsync(context, error);

    /// <summary>
    /// The conversation as chat messages, as vLLM's converter builds it: one system message (the <c>system</c> field and
    /// every system-role message, joined), then user and assistant messages; a user's tool_result becomes a tool message.
    /// </summary>
    private static List<PromptMessage> ReadConversation(JsonElement body)
    {
        if (JsonFields.Get(body, "messages") is not { } messages)
        {
            throw ApiException.BadRequest("Field required: 'messages'.", "messages");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.Invalid("messages", "a list of messages");
        }

        if (messages.GetArrayLength() == 0)
        {
            throw ApiException.BadRequest("messages must contain at least one item", "messages");
        }

        var system = new StringBuilder();
        switch (JsonFields.Get(body, "system"))
        {
            case null:
                break;
            case { ValueKind: JsonValueKind.String } text:
                system.Append(JsonFields.Text(text, "system"));
                break;
            case { ValueKind: JsonValueKind.Array } blocks:
                foreach (var block in blocks.EnumerateArray())
                {
                    AppendSystemText(system, block, "system");
                }

                break;
            default:
                throw JsonFields.Invalid("system", "a string or a list of text blocks");
        }

        var conversation = new List<PromptMessage>(messages.GetArrayLength() + 1);
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var path = $"messages[{i++}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw JsonFields.Invalid(path, "an object");
            }

            var role = JsonFields.GetString(message, "role", $"{path}.role") switch
            {
                null => throw ApiException.BadRequest($"Field required: '{path}.role'.", "messages"),
                "user" or "ctx" or "msg" => "user", // vLLM maps Claude Code's non-standard roles to user
                "assistant" => "assistant",
                "system" => "system",
                var other => throw ApiException.BadRequest($"'{path}.role' must be 'user', 'assistant' or 'system', got '{other}'.", "messages"),
            };

            switch (JsonFields.Get(message, "content"))
            {
                case { ValueKind: JsonValueKind.String } text when role == "system":
                    system.Append(JsonFields.Text(text, $"{path}.content"));
                    break;
                case { ValueKind: JsonValueKind.String } text:
                    conversation.Add(new PromptMessage(role, JsonFields.Text(text, $"{path}.content")));
                    break;
                case { ValueKind: JsonValueKind.Array } blocks when blocks.GetArrayLength() == 0:
                    throw ApiException.BadRequest("message content must not be empty", "messages");
                case { ValueKind: JsonValueKind.Array } blocks when role == "system":
                    foreach (var block in blocks.EnumerateArray())
                    {
                        AppendSystemText(system, block, $"{path}.content");
                    }

                    break;
                case { ValueKind: JsonValueKind.Array } blocks:
                    ReadBlocks(blocks, role, $"{path}.content", conversation);
                    break;
                case null:
                    throw ApiException.BadRequest($"Field required: '{path}.content'.", "messages");
                default:
                    throw JsonFields.Invalid($"{path}.content", "a string or a list of content blocks");
            }
        }

        if (system.Length > 0)
        {
            conversation.Insert(0, new PromptMessage("system", system.ToString()));
        }

        if (conversation.Count == 0)
        {
            throw ApiException.BadRequest("messages must contain at least one item", "messages");
        }

        return conversation;
    }

    /// <summary>The block types vLLM's AnthropicContentBlock accepts.</summary>
    private static readonly HashSet<string> BlockTypes = ["text", "image", "tool_use", "tool_result", "tool_reference", "thinking", "redacted_thinking"];

    private static string BlockType(JsonElement block, string path)
    {
        if (block.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.Invalid(path, "a list of content blocks");
        }

        var type = JsonFields.GetString(block, "type", $"{path}.type")
            ?? throw ApiException.BadRequest($"Field required: '{path}.type'.", "messages");
        return BlockTypes.Contains(type)
            ? type
            : throw ApiException.BadRequest($"'{path}.type' must be one of {string.Join(", ", BlockTypes.Select(t => $"'{t}'"))}, got '{type}'.", "messages");
    }

    private static void AppendSystemText(StringBuilder system, JsonElement block, string path)
    {
        if (BlockType(block, path) == "text" && JsonFields.GetString(block, "text", $"{path}.text") is { } text
            && !text.StartsWith("x-anthropic-billing-header", StringComparison.Ordinal)) // vLLM drops Claude Code's per-request header
        {
            system.Append(text);
        }
    }

    /// <summary>
    /// One message's blocks: text (and thinking) joins the message's content, tool_use blocks are the assistant's
    /// calls (rendered as chat templates render tool calls), a user's tool_result is a tool message of its own, sent before the message.
    /// </summary>
    private static void ReadBlocks(JsonElement blocks, string role, string path, List<PromptMessage> conversation)
    {
        var content = new StringBuilder();
        var any = false;
        foreach (var block in blocks.EnumerateArray())
        {
            switch (BlockType(block, path))
            {
                case "text":
                    content.Append(JsonFields.GetString(block, "text", $"{path}.text"));
                    any = true;
                    break;
                case "thinking":
                    content.Append(JsonFields.GetString(block, "thinking", $"{path}.thinking"));
                    any = true;
                    break;
                case "tool_use":
                    var name = JsonFields.GetString(block, "name", $"{path}.name") ?? "";
                    var input = JsonFields.Get(block, "input") is { } value
                        ? value.ValueKind == JsonValueKind.Object ? value.GetRawText() : throw JsonFields.Invalid($"{path}.input", "an object")
                        : "{}";
                    content.Append(content.Length > 0 ? "\n" : "").Append(PromptReader.ToolCallText(name, input));
                    any = true;
                    break;
                case "tool_result" when role == "user":
                    conversation.Add(new PromptMessage("tool", ToolResultText(block, path)));
                    break;
                case "tool_result":
                    content.Append("Tool result: ").Append(ToolResultText(block, path));
                    any = true;
                    break;
            }
        }

        if (any)
        {
            conversation.Add(new PromptMessage(role, content.ToString()));
        }
    }

    /// <summary>A tool_result's content: a string, or its text items joined by newlines.</summary>
    private static string ToolResultText(JsonElement block, string path)
    {
        switch (JsonFields.Get(block, "content"))
        {
            case null:
                return "";
            case { ValueKind: JsonValueKind.String } text:
                return JsonFields.Text(text, $"{path}.content");
            case { ValueKind: JsonValueKind.Array } items:
                var texts = new List<string>();
                foreach (var item in items.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object && JsonFields.GetString(item, "type", $"{path}.content.type") == "text")
                    {
                        texts.Add(JsonFields.GetString(item, "text", $"{path}.content.text") ?? "");
                    }
                }

                return string.Join('\n', texts);
            default:
                throw JsonFields.Invalid($"{path}.content", "a string or a list of content blocks");
        }
    }
}
