using System.Text.Json;
using Microsoft.Data.Sqlite;
using OrleansSim.Core.Tokenization;

namespace OrleansSim.Core.Generation.Dataset;

/// <summary>One recorded conversation: messages in order (roles <c>system</c>, <c>user</c>, <c>assistant</c>).</summary>
public sealed record Conversation(IReadOnlyList<PromptMessage> Messages);

/// <summary>
/// Writes a dataset (<c>orleanssim-ctl dataset build</c>) with the server's own tokenizer and chat template, so a
/// recorded conversation replayed against a server with the same <c>--tokenizer</c> is a hit. As llm-d's dataset tool
/// does, every assistant turn gives two rows: one keyed by the user turn alone as a text-completion prompt, one keyed
/// by the rendered chat (the conversation up to and including that user turn).
/// </summary>
public static class DatasetBuilder
{
    /// <summary>Reads JSON Lines (or one JSON array) of ShareGPT records (<c>{"conversations":[{"from":"human"|"gpt","value"}]}</c>)
    /// or OpenAI-style records (<c>{"messages":[{"role","content"}]}</c>).</summary>
    public static IReadOnlyList<Conversation> ReadConversations(string text)
    {
        var trimmed = text.TrimStart();
        var records = new List<(JsonElement Element, int Line)>();
        var documents = new List<JsonDocument>();
        try
        {
            if (trimmed.StartsWith('['))
            {
                var doc = JsonDocument.Parse(trimmed);
                documents.Add(doc);
                var i = 0;
                foreach (var item in doc.RootElement.EnumerateArray())
                {
                    records.Add((item, ++i));
                }
            }
            else
            {
                var line = 0;
                foreach (var raw in text.Split('\n'))
                {
                    line++;
                    if (raw.Trim().Length == 0)
                    {
                        continue;
                    }

                    try
                    {
                        var doc = JsonDocument.Parse(raw);
                        documents.Add(doc);
                        records.Add((doc.RootElement, line));
                    }
                    catch (JsonException ex)
                    {
                        throw new DatasetException($"line {line}: not JSON: {ex.Message}");
                    }
                }
            }

            return [.. records.Select(r => ToConversation(r.Element, r.Line))];
        }
        catch (JsonException ex)
        {
            throw new DatasetException($"input is not JSON: {ex.Message}");
        }
        finally
        {
            documents.ForEach(d => d.Dispose());
        }
    }

    private static Conversation ToConversation(JsonElement record, int line)
    {
        if (record.ValueKind != JsonValueKind.Object)
        {
            throw new DatasetException($"record {line}: expected an object with 'conversations' or 'messages'");
        }

        var messages = new List<PromptMessage>();
        if (record.TryGetProperty("conversations", out var turns) && turns.ValueKind == JsonValueKind.Array)
        {
            foreach (var turn in turns.EnumerateArray())
            {
                var from = Text(turn, "from", line);
                var role = from switch
                {
                    "human" or "user" => "user",
                    "gpt" or "assistant" => "assistant",
                    "system" => "system",
                    _ => throw new DatasetException($"record {line}: unknown speaker '{from}' (expected human, gpt or system)"),
                };
                messages.Add(new PromptMessage(role, Text(turn, "value", line)));
            }
        }
        else if (record.TryGetProperty("messages", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var message in list.EnumerateArray())
            {
                var role = Text(message, "role", line);
                if (role is not ("system" or "user" or "assistant"))
                {
                    throw new DatasetException($"record {line}: unknown role '{role}' (expected system, user or assistant)");
                }

                messages.Add(new PromptMessage(role, Text(message, "content", line)));
            }
        }
        else
        {
            throw new DatasetException($"record {line}: expected 'conversations' (ShareGPT) or 'messages' (OpenAI) as a list");
        }

        return new Conversation(messages);
    }

    private static string Text(JsonElement element, string field, int line) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new DatasetException($"record {line}: every turn needs a string '{field}'");

    /// <summary>One row to store: the prompt's token ids and the response.</summary>
    public sealed record Row(IReadOnlyList<int> PromptTokenIds, IReadOnlyList<int> Tokens, IReadOnlyList<string> Strings);

    /// <summary>The rows of <paramref name="conversations"/>: for each assistant turn that follows a user turn, the text
    /// prompt row and the chat row.</summary>
    public static IReadOnlyList<Row> ToRows(IReadOnlyList<Conversation> conversations, ISimTokenizer tokenizer)
    {
        var rows = new List<Row>();
        foreach (var conversation in conversations)
        {
            var history = new List<PromptMessage>();
            foreach (var message in conversation.Messages)
            {
                if (message.Role == "assistant" && history.Count > 0 && history[^1].Role == "user")
                {
                    var tokens = tokenizer.Encode(message.Content);
                    var strings = tokenizer.SplitTokens(message.Content);
                    rows.Add(new Row(tokenizer.Encode(history[^1].Content), tokens, strings));
                    rows.Add(new Row(tokenizer.Encode(tokenizer.RenderChat(history)), tokens, strings));
                }

                history.Add(message);
            }
        }

        return rows;
    }

    /// <summary>The <c>gen_tokens</c> column: <c>{"Tokens":[…],"Strings":[…]}</c> (Go's field names, as llm-d stores it).</summary>
    public static string GenTokensJson(Row row)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteStartArray("Tokens");
            foreach (var t in row.Tokens)
            {
                w.WriteNumberValue(unchecked((uint)t));
            }

            w.WriteEndArray();
            w.WriteStartArray("Strings");
            foreach (var s in row.Strings)
            {
                w.WriteStringValue(s);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Writes <paramref name="rows"/> into a new SQLite file (refuses to overwrite one).</summary>
    public static void Write(string output, IReadOnlyList<Row> rows, string table = DatasetSchema.DefaultTableName)
    {
        if (!DatasetSchema.IsValidTableName(table))
        {
            throw new DatasetException($"invalid table name '{table}'");
        }

        if (File.Exists(output))
        {
            throw new DatasetException($"output file already exists: {output}");
        }

        if (Path.GetDirectoryName(Path.GetFullPath(output)) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
        }

        using (var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = output, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString()))
        {
            db.Open();
            using (var create = db.CreateCommand())
            {
                create.CommandText = DatasetSchema.CreateTable(table);
                create.ExecuteNonQuery();
            }

            using var transaction = db.BeginTransaction();
            using var insert = db.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = DatasetSchema.Insert(table);
            var hash = insert.Parameters.Add("$hash", SqliteType.Blob);
            var tokens = insert.Parameters.Add("$tokens", SqliteType.Text);
            var count = insert.Parameters.Add("$count", SqliteType.Integer);
            foreach (var row in rows)
            {
                hash.Value = PromptHash.Compute(row.PromptTokenIds);
                tokens.Value = GenTokensJson(row);
                count.Value = row.Strings.Count;
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }
    }
}
