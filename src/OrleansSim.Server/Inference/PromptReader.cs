using System.Text;
using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Tokenization;
using OrleansSim.Server.Api;

namespace OrleansSim.Server.Inference;

/// <summary>
/// The prompt-side pieces every surface shares: the model name, chat messages (rendered and tokenized once),
/// prompts given as text or token ids, and the context-window check, with vLLM's status codes and messages.
/// </summary>
public sealed class PromptReader(SimulatorOptions options, ISimTokenizer tokenizer, ModelCatalog models)
{
    // Repeated prompts (benchmarks, router tests) skip the regex pre-tokenizer.
    private readonly PromptTokenCache _prompts = new(tokenizer);

    public ISimTokenizer Tokenizer => tokenizer;

    public ResolvedModel ResolveModel(JsonElement body)
    {
        var requested = JsonFields.GetString(body, "model");
        if (requested is null)
        {
            return new ResolvedModel(options.DisplayModelName, null);
        }

        return models.Resolve(requested)
            ?? throw new ApiException(StatusCodes.Status404NotFound, $"The model `{requested}` does not exist.", "model");
    }

    /// <summary>
    /// A conversation as one prompt: the chat template rendered over <paramref name="messages"/> and tokenized; echo
    /// and the echo generator repeat the last user message.
    /// </summary>
    public PromptInput ChatPrompt(IReadOnlyList<PromptMessage> messages)
    {
        var lastUser = messages.LastOrDefault(m => m.Role == "user") ?? messages[^1];
        return new PromptInput(lastUser.Content, _prompts.Encode(tokenizer.RenderChat(messages)));
    }

    /// <summary>Reads and validates OpenAI <c>messages</c> (content as a string or a list of text parts).</summary>
    public static IReadOnlyList<PromptMessage> ReadMessages(JsonElement body)
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
            throw ApiException.BadRequest("'messages' must contain at least one message.", "messages");
        }

        var result = new List<PromptMessage>(messages.GetArrayLength());
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var path = $"messages[{i}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw JsonFields.Invalid(path, "an object");
            }

            var role = JsonFields.GetString(message, "role", $"{path}.role")
                ?? throw ApiException.BadRequest($"Field required: '{path}.role'.", "messages");
            var content = ReadContent(message, path);
            if (JsonFields.Get(message, "tool_calls") is { } calls)
            {
                content = WithToolCalls(content, calls, $"{path}.tool_calls");
            }

            if (JsonFields.Get(message, "tool_call_id") is { } callId && callId.ValueKind != JsonValueKind.String)
            {
                throw JsonFields.Invalid($"{path}.tool_call_id", "a string");
            }

            result.Add(new PromptMessage(role, content));
            i++;
        }

        return WithTools(body, result);
    }

    /// <summary>
    /// An assistant turn's earlier tool calls, rendered after its text the way tool-calling chat templates write them
    /// (one <c>&lt;tool_call&gt;</c> block of name and arguments per call), so they count as prompt tokens.
    /// </summary>
    private static string WithToolCalls(string content, JsonElement calls, string path)
    {
        if (calls.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.Invalid(path, "a list of tool calls");
        }

        var text = new StringBuilder(content);
        var i = 0;
        foreach (var call in calls.EnumerateArray())
        {
            var callPath = $"{path}[{i++}]";
            if (call.ValueKind != JsonValueKind.Object || JsonFields.Get(call, "function") is not { ValueKind: JsonValueKind.Object } function)
            {
                throw ApiException.BadRequest($"Field required: '{callPath}.function'.", "messages");
            }

            var name = JsonFields.GetString(function, "name", $"{callPath}.function.name")
                ?? throw ApiException.BadRequest($"Field required: '{callPath}.function.name'.", "messages");
            var arguments = JsonFields.GetString(function, "arguments", $"{callPath}.function.arguments") ?? "{}";
            if (text.Length > 0)
            {
                text.Append('\n');
            }

            text.Append(ToolCallText(name, arguments));
        }

        return text.ToString();
    }

    /// <summary>
    /// One earlier tool call as tool-calling chat templates write it into the conversation (any surface's history:
    /// chat <c>tool_calls</c>, Anthropic <c>tool_use</c>, Responses <c>function_call</c>).
    /// </summary>
    public static string ToolCallText(string name, string arguments) =>
        "<tool_call>\n{\"name\": " + JsonSerializer.Serialize(name) + ", \"arguments\": " + arguments + "}\n</tool_call>";

    /// <summary>
    /// A request's tool definitions are part of the prompt a tool-calling model sees: listed in the system turn (one
    /// JSON definition per line in a <c>&lt;tools&gt;</c> block), added to the first system message or as a new one.
    /// The body's <c>tools</c> list is rendered as given, whatever surface's shape its entries have.
    /// </summary>
    public static List<PromptMessage> WithTools(JsonElement body, List<PromptMessage> messages)
    {
        if (JsonFields.Get(body, "tools") is not { ValueKind: JsonValueKind.Array } tools || tools.GetArrayLength() == 0)
        {
            return messages;
        }

        var block = new StringBuilder("# Tools\n\nFunctions you may call, as JSON signatures:\n<tools>\n");
        foreach (var tool in tools.EnumerateArray())
        {
            block.Append(tool.GetRawText()).Append('\n');
        }

        block.Append("</tools>");
        if (messages[0].Role == "system")
        {
            messages[0] = messages[0] with { Content = messages[0].Content + "\n\n" + block };
        }
        else
        {
            messages.Insert(0, new PromptMessage("system", block.ToString()));
        }

        return messages;
    }

    /// <summary>A message's <c>content</c>: a string, or a list of parts whose <c>text</c> parts are joined.</summary>
    public static string ReadContent(JsonElement message, string path)
    {
        switch (JsonFields.Get(message, "content"))
        {
            case null:
                return "";
            case { ValueKind: JsonValueKind.String } s:
                return JsonFields.Text(s, $"{path}.content");
            case { ValueKind: JsonValueKind.Array } parts:
                var text = new StringBuilder();
                foreach (var part in parts.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object)
                    {
                        throw JsonFields.Invalid($"{path}.content", "a string or a list of content parts");
                    }

                    if (JsonFields.GetString(part, "type", $"{path}.content.type") == "text")
                    {
                        text.Append(JsonFields.GetString(part, "text", $"{path}.content.text"));
                    }
                }

                return text.ToString();
            default:
                throw JsonFields.Invalid($"{path}.content", "a string or a list of content parts");
        }
    }

    /// <summary>
    /// A prompt field given as a string, a list of strings, a list of token ids or a list of such lists (completions'
    /// <c>prompt</c>, embeddings' <c>input</c>): one <see cref="PromptInput"/> per prompt.
    /// </summary>
    public List<PromptInput> ReadPrompts(JsonElement body, string field)
    {
        if (JsonFields.Get(body, field) is not { } prompt)
        {
            throw ApiException.BadRequest($"Field required: '{field}'.", field);
        }

        const string expected = "a string, a list of strings, a list of token ids or a list of token-id lists";
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return [TextPrompt(JsonFields.Text(prompt, field), field)];
            case JsonValueKind.Array when prompt.GetArrayLength() == 0:
                throw ApiException.BadRequest($"'{field}' must not be empty.", field);
            case JsonValueKind.Array:
                var first = prompt[0].ValueKind;
                if (first == JsonValueKind.Number)
                {
                    return [TokenPrompt(prompt, field)];
                }

                var list = new List<PromptInput>(prompt.GetArrayLength());
                foreach (var item in prompt.EnumerateArray())
                {
                    list.Add(item.ValueKind switch
                    {
                        JsonValueKind.String when first == JsonValueKind.String => TextPrompt(JsonFields.Text(item, field), field),
                        JsonValueKind.Array when first == JsonValueKind.Array => TokenPrompt(item, field),
                        _ => throw JsonFields.Invalid(field, expected),
                    });
                }

                return list;
            default:
                throw JsonFields.Invalid(field, expected);
        }
    }

    /// <summary>With completions <c>echo</c> and logprobs: the prompt's token pieces, listed before the output's.</summary>
    public PromptInput WithEchoPieces(PromptInput prompt) => prompt with { EchoPieces = tokenizer.SplitTokens(prompt.EchoText) };

    private PromptInput TextPrompt(string text, string field)
    {
        if (text.Length == 0)
        {
            throw ApiException.BadRequest($"'{field}' must not be an empty string.", field);
        }

        return new PromptInput(text, _prompts.Encode(text));
    }

    private PromptInput TokenPrompt(JsonElement ids, string field)
    {
        if (ids.GetArrayLength() == 0)
        {
            throw ApiException.BadRequest($"'{field}' must not contain an empty token-id list.", field);
        }

        var tokens = new int[ids.GetArrayLength()];
        var i = 0;
        foreach (var id in ids.EnumerateArray())
        {
            if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out var value) || value < 0)
            {
                throw JsonFields.Invalid(field, "a list of non-negative integer token ids");
            }

            if (!tokenizer.IsKnownTokenId(value))
            {
                throw ApiException.BadRequest($"Token id {value} is out of vocabulary", field);
            }

            tokens[i++] = value;
        }

        return new PromptInput(DecodeForEcho(tokens), tokens);
    }

    private string DecodeForEcho(int[] tokens)
    {
        try
        {
            return tokenizer.Decode(tokens);
        }
        catch (ArgumentException)
        {
            // Ids outside the vocabulary: echo them as llm-d-inference-sim does.
            return string.Join(',', tokens);
        }
    }

    /// <summary>
    /// vLLM's OpenAIServing._validate_input messages: the prompt alone must leave room for one token;
    /// prompt + max tokens must fit max-model-len.
    /// </summary>
    public void CheckContextWindow(int promptTokens, int? maxTokens, string maxTokensField, string promptField)
    {
        var limit = options.MaxModelLen;
        // The prompt alone must leave room for one generated token, whatever max_tokens says.
        if (promptTokens >= limit)
        {
            throw ApiException.BadRequest(
                $"This model's maximum context length is {limit} tokens. However, your request has {promptTokens} input tokens. Please reduce the length of the input messages.",
                promptField);
        }

        if (maxTokens is { } requested && promptTokens + requested > limit)
        {
            throw ApiException.BadRequest(
                $"'{maxTokensField}' or 'max_completion_tokens' is too large: {requested}. This model's maximum context length is {limit} tokens and your request has {promptTokens} input tokens ({requested} > {limit} - {promptTokens}).",
                maxTokensField);
        }
    }
}
