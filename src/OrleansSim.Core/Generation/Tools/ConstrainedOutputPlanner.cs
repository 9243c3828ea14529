using System.Text.Encodings.Web;
using System.Text.Json;
using OrleansSim.Core.Tokenization;

namespace OrleansSim.Core.Generation.Tools;

/// <summary>
/// The output of one choice of a request with tools or a structured-output constraint, for any API surface: tool calls
/// (<see cref="ToolCallPlanner"/>, then tokenized into a header step plus argument pieces per call), JSON text that
/// validates against the request's schema, or one of its choices. Null when neither applies (the text generator answers).
/// Cut to <c>limit</c> tokens with finish reason <c>length</c> as vLLM cuts at <c>max_tokens</c>: the JSON (or the
/// last call's arguments) is then incomplete.
/// </summary>
public sealed class ConstrainedOutputPlanner(ToolCallKnobs knobs, ISimTokenizer tokenizer)
{
    public const string ToolCallsFinishReason = "tool_calls";

    /// <summary>The object <c>json_object</c> answers follow: an answer, sometimes with a score, tags and a flag.</summary>
    private static readonly JsonElement JsonObjectShape = JsonDocument.Parse("""
        {"type":"object","properties":{"answer":{"type":"string"},"score":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}},"ok":{"type":"boolean"}},"required":["answer"]}
        """).RootElement.Clone();

    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ToolCallPlanner _tools = new(knobs);
    private readonly JsonValueGenerator _values = new(knobs);

    /// <param name="tools">The request's tools, or null.</param>
    /// <param name="structured">The request's structured-output constraint, or null.</param>
    /// <param name="limit">The most tokens the choice may have (max_tokens, or the room left in the context window).</param>
    /// <param name="random">The choice's seeded random stream.</param>
    public GeneratedText? Plan(ToolCallRequest? tools, StructuredOutput? structured, int limit, SimRandom random)
    {
        if (tools is not null && _tools.Plan(tools.Tools, tools.Choice, tools.Named, random) is { Count: > 0 } calls)
        {
            if (tools.MaxCalls is { } most && calls.Count > most)
            {
                calls = [.. calls.Take(Math.Max(most, 1))];
            }

            // vLLM (as OpenAI): "tool_calls" for auto and required, "stop" for a named function.
            return ToolCallText(calls, limit, tools.Choice == ToolChoiceKind.Named ? GenerationHelpers.Stop : ToolCallsFinishReason);
        }

        if (structured is null)
        {
            return null;
        }

        var text = structured.Kind switch
        {
            StructuredOutputKind.Choice => structured.Choices[random.Next(structured.Choices.Count)],
            StructuredOutputKind.JsonSchema => Json(structured.Schema, random),
            _ => Json(JsonObjectShape, random),
        };
        var pieces = tokenizer.SplitTokens(text);
        return pieces.Count > limit
            ? new GeneratedText(pieces.Take(Math.Max(limit, 0)).ToArray(), GenerationHelpers.Length)
            : new GeneratedText(pieces, GenerationHelpers.Stop);
    }

    private string Json(JsonElement schema, SimRandom random) =>
        _values.Generate(schema, random, topLevel: false)?.ToJsonString(Compact) ?? "null";

    /// <summary>
    /// Lays the calls out as token steps: per call one header step (id, type and name go out together, as the name's
    /// tokens would in a real model's output) and one step per argument piece. Past <paramref name="limit"/> steps the
    /// rest is cut: calls not started are dropped, the cut call keeps the arguments sent so far, finish reason length.
    /// </summary>
    public GeneratedText ToolCallText(IReadOnlyList<GeneratedToolCall> calls, int limit, string finishReason)
    {
        ArgumentNullException.ThrowIfNull(calls);
        var pieces = new List<string>();
        var owners = new List<int>();
        var kept = new List<GeneratedToolCall>(calls.Count);
        var finish = finishReason;
        for (var i = 0; i < calls.Count && finish == finishReason; i++)
        {
            if (pieces.Count >= limit)
            {
                finish = GenerationHelpers.Length;
                break;
            }

            pieces.Add("");
            owners.Add(i);
            var arguments = tokenizer.SplitTokens(calls[i].Arguments);
            var room = Math.Min(arguments.Count, limit - pieces.Count);
            for (var a = 0; a < room; a++)
            {
                pieces.Add(arguments[a]);
                owners.Add(i);
            }

            if (room < arguments.Count)
            {
                finish = GenerationHelpers.Length;
                kept.Add(calls[i] with { Arguments = string.Concat(arguments.Take(room)) });
            }
            else
            {
                kept.Add(calls[i]);
            }
        }

        return new GeneratedText(pieces, finish) { ToolCalls = kept, ToolCallOfStep = [.. owners] };
    }
}
