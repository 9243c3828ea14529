using System.Buffers;
using System.Diagnostics;
using System.Text.Json;

namespace OrleansSim.Bench.Baseline;

/// <summary>
/// The whole baseline request path: read the body, pick out the few fields that shape the answer
/// (max tokens, stream, include_usage), then write what the simulator writes — the same fields in the
/// same order — with the least work Kestrel allows. Token text cycles through fixed pieces of the
/// same length as the simulator's preset sentences.
/// </summary>
public sealed class CompletionHandler(BaselineSettings settings)
{
    private static readonly string[] Pieces = ["The", " quick", " answer", " depends", " on", " how", " much", " detail", " you", " need", ",", " so", " let", " me", " start", "."];
    private static readonly byte[] Prefix = "data: "u8.ToArray();
    private static readonly byte[] Suffix = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();
    private readonly DeadlineTimer? _timer = settings.PreciseTimer ? new DeadlineTimer() : null;

    public async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value;
        var chat = path == "/v1/chat/completions";
        if (context.Request.Method != "POST" || (!chat && path != "/v1/completions"))
        {
            context.Response.StatusCode = path is "/ready" or "/health" ? 200 : 404;
            return;
        }

        var start = Stopwatch.GetTimestamp();
        var aborted = context.RequestAborted;
        var request = await ReadRequestAsync(context.Request.BodyReader, aborted);
        var id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var tokens = Math.Max(1, request.MaxTokens);
        try
        {
            if (request.Stream)
            {
                await StreamAsync(context.Response, chat, id, created, tokens, request.IncludeUsage, start, aborted);
            }
            else
            {
                await WaitUntilAsync(start, settings.TimeToFirstToken + (settings.InterTokenLatency * (tokens - 1)), aborted);
                var buffer = new ArrayBufferWriter<byte>(1024);
                using (var w = new Utf8JsonWriter(buffer))
                {
                    WriteResponse(w, chat, id, created, tokens, request.PromptTokens);
                }

                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/json";
                context.Response.ContentLength = buffer.WrittenCount;
                await context.Response.Body.WriteAsync(buffer.WrittenMemory, aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
        }
    }

    private async Task StreamAsync(HttpResponse response, bool chat, string id, long created, int tokens, bool includeUsage, long start, CancellationToken aborted)
    {
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        await response.StartAsync(aborted);
        await response.BodyWriter.FlushAsync(aborted);
        var buffer = new ArrayBufferWriter<byte>(512);
        using var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        var pipe = response.BodyWriter;

        void Event(Action<Utf8JsonWriter> write)
        {
            buffer.ResetWrittenCount();
            w.Reset(buffer);
            write(w);
            w.Flush();
            pipe.Write(Prefix);
            pipe.Write(buffer.WrittenSpan);
            pipe.Write(Suffix);
        }

        var at = settings.TimeToFirstToken;
        for (var k = 0; k < tokens; k++)
        {
            await WaitUntilAsync(start, at, aborted);
            at += settings.InterTokenLatency;
            if (k == 0 && chat)
            {
                Event(x => WriteChunk(x, chat, id, created, null, role: true, null));
            }

            var piece = Pieces[k % Pieces.Length];
            Event(x => WriteChunk(x, chat, id, created, piece, role: false, null));
            if (k == tokens - 1)
            {
                Event(x => WriteChunk(x, chat, id, created, chat ? null : "", role: false, "length"));
            }

            await pipe.FlushAsync(aborted);
        }

        if (includeUsage)
        {
            Event(x =>
            {
                x.WriteStartObject();
                x.WriteString("id", id);
                x.WriteString("object", chat ? "chat.completion.chunk" : "text_completion");
                x.WriteNumber("created", created);
                x.WriteString("model", settings.Model);
                x.WriteStartArray("choices");
                x.WriteEndArray();
                WriteUsage(x, 0, tokens);
                x.WriteEndObject();
            });
        }

        pipe.Write(Done);
        await pipe.FlushAsync(aborted);
    }

    private void WriteChunk(Utf8JsonWriter w, bool chat, string id, long created, string? content, bool role, string? finish)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", chat ? "chat.completion.chunk" : "text_completion");
        w.WriteNumber("created", created);
        w.WriteString("model", settings.Model);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        if (chat)
        {
            w.WriteStartObject("delta");
            if (role)
            {
                w.WriteString("role", "assistant");
                w.WriteString("content", "");
            }
            else if (content is not null)
            {
                w.WriteString("content", content);
            }

            w.WriteEndObject();
        }
        else
        {
            w.WriteString("text", content ?? "");
        }

        w.WriteNull("logprobs");
        if (finish is null)
        {
            w.WriteNull("finish_reason");
        }
        else
        {
            w.WriteString("finish_reason", finish);
        }

        if (!chat || finish is not null)
        {
            w.WriteNull("stop_reason");
        }

        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteNull("usage");
        w.WriteEndObject();
    }

    private void WriteResponse(Utf8JsonWriter w, bool chat, string id, long created, int tokens, int promptTokens)
    {
        var text = new System.Text.StringBuilder();
        for (var k = 0; k < tokens; k++)
        {
            text.Append(Pieces[k % Pieces.Length]);
        }

        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", chat ? "chat.completion" : "text_completion");
        w.WriteNumber("created", created);
        w.WriteString("model", settings.Model);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        if (chat)
        {
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", text.ToString());
            w.WriteStartArray("tool_calls");
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("text", text.ToString());
        }

        w.WriteNull("logprobs");
        w.WriteString("finish_reason", "length");
        w.WriteNull("stop_reason");
        w.WriteEndObject();
        w.WriteEndArray();
        WriteUsage(w, promptTokens, tokens);
        w.WriteEndObject();
    }

    private static void WriteUsage(Utf8JsonWriter w, int prompt, int completion)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", prompt);
        w.WriteNumber("total_tokens", prompt + completion);
        w.WriteNumber("completion_tokens", completion);
        w.WriteNull("prompt_tokens_details");
        w.WriteEndObject();
    }

    private Task WaitUntilAsync(long start, TimeSpan offset, CancellationToken aborted)
    {
        if (_timer is not null)
        {
            return _timer.WaitUntilAsync(start + (long)(offset.TotalSeconds * Stopwatch.Frequency), aborted);
        }

        var remaining = offset - Stopwatch.GetElapsedTime(start);
        return remaining > TimeSpan.Zero ? Task.Delay(remaining, aborted) : Task.CompletedTask;
    }

    private readonly record struct Fields(int MaxTokens, bool Stream, bool IncludeUsage, int PromptTokens);

    /// <summary>Reads the body and scans it once with <see cref="Utf8JsonReader"/> for the fields that shape the answer.</summary>
    private static async Task<Fields> ReadRequestAsync(System.IO.Pipelines.PipeReader reader, CancellationToken aborted)
    {
        while (true)
        {
            var result = await reader.ReadAsync(aborted);
            if (result.IsCompleted || result.IsCanceled)
            {
                var fields = Scan(result.Buffer);
                reader.AdvanceTo(result.Buffer.End);
                return fields;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static Fields Scan(ReadOnlySequence<byte> body)
    {
        var json = new Utf8JsonReader(body);
        int maxTokens = 16, words = 0;
        bool stream = false, usage = false;
        while (json.Read())
        {
            if (json.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (json.ValueTextEquals("max_tokens"u8) || json.ValueTextEquals("max_completion_tokens"u8))
            {
                json.Read();
                maxTokens = json.GetInt32();
            }
            else if (json.ValueTextEquals("stream"u8))
            {
                json.Read();
                stream = json.TokenType == JsonTokenType.True;
            }
            else if (json.ValueTextEquals("include_usage"u8))
            {
                json.Read();
                usage = json.TokenType == JsonTokenType.True;
            }
            else if (json.ValueTextEquals("content"u8) || json.ValueTextEquals("prompt"u8))
            {
                json.Read();
                if (json.TokenType == JsonTokenType.String)
                {
                    // A stand-in for the prompt token count: one token per space-separated word.
                    var span = json.HasValueSequence ? json.ValueSequence.ToArray() : json.ValueSpan.ToArray();
                    words += span.AsSpan().Count((byte)' ') + 1;
                }
            }
        }

        return new Fields(maxTokens, stream, usage, words);
    }
}
