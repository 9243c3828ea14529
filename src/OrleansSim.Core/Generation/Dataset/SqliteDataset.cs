using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace OrleansSim.Core.Generation.Dataset;

/// <summary>
/// A read-only llm-d-inference-sim dataset (SQLite). The file is opened read-only and, as llm-d does, an exclusive
/// transaction is begun at once, so a file another process is still writing is refused; with
/// <c>--dataset-in-memory</c> the table is copied into an in-memory database (and indexed by prompt hash) instead.
/// One connection serves every request under a lock: each lookup is one short query.
/// </summary>
public sealed class SqliteDataset : IDisposable
{
    private readonly SqliteConnection _db;
    private readonly string _table;
    private readonly Lock _gate = new();

    private SqliteDataset(SqliteConnection db, string table, long count)
    {
        _db = db;
        _table = table;
        Count = count;
    }

    /// <summary>Rows in the table.</summary>
    public long Count { get; }

    /// <summary>Opens and verifies <paramref name="path"/>; throws <see cref="DatasetException"/> with llm-d's messages.</summary>
    public static SqliteDataset Open(string path, string table = DatasetSchema.DefaultTableName, bool inMemory = false)
    {
        if (!DatasetSchema.IsValidTableName(table))
        {
            throw new DatasetException($"invalid dataset table name '{table}'");
        }

        if (!File.Exists(path))
        {
            throw new DatasetException($"database file does not exist: {path}");
        }

        SqliteConnection db;
        try
        {
            db = inMemory ? CopyIntoMemory(path, table) : OpenReadOnly(path);
        }
        catch (SqliteException ex)
        {
            throw new DatasetException($"failed to open database: {ex.Message}", ex);
        }

        try
        {
            Verify(db, table);
            using var count = db.CreateCommand();
            count.CommandText = $"SELECT COUNT(prompt_hash) FROM {table}";
            return new SqliteDataset(db, table, (long)count.ExecuteScalar()!);
        }
        catch (Exception ex)
        {
            db.Dispose();
            throw ex switch
            {
                DatasetException => ex,
                SqliteException sql => new DatasetException($"failed to query database: {sql.Message}", sql),
                _ => ex,
            };
        }
    }

    private static SqliteConnection OpenReadOnly(string path)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        db.Open();
        try
        {
            using var begin = db.CreateCommand();
            begin.CommandText = "BEGIN EXCLUSIVE";
            begin.ExecuteNonQuery();
        }
        catch (SqliteException ex)
        {
            db.Dispose();
            throw new DatasetException($"database is locked or has other active connections: {ex.Message}", ex);
        }

        return db;
    }

    private static SqliteConnection CopyIntoMemory(string path, string table)
    {
        var db = new SqliteConnection("Data Source=:memory:;Pooling=False");
        db.Open();
        try
        {
            using var attach = db.CreateCommand();
            attach.CommandText = "ATTACH DATABASE $path AS source";
            attach.Parameters.AddWithValue("$path", path);
            attach.ExecuteNonQuery();
            Verify(db, table, "source.");
            Execute(db, DatasetSchema.CreateTable(table));
            Execute(db, $"INSERT INTO {table} SELECT id, prompt_hash, gen_tokens, n_gen_tokens FROM source.{table}");
            Execute(db, $"CREATE INDEX {table}_prompt_hash ON {table}(prompt_hash)");
            Execute(db, "DETACH DATABASE source");
            return db;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    private static void Execute(SqliteConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>llm-d's verifyDB: every expected column present with its declared type.</summary>
    private static void Verify(SqliteConnection db, string table, string schema = "")
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var info = db.CreateCommand())
        {
            info.CommandText = $"PRAGMA {schema}table_info({table})";
            using var rows = info.ExecuteReader();
            while (rows.Read())
            {
                found[rows.GetString(1)] = rows.GetString(2);
            }
        }

        foreach (var (name, type) in DatasetSchema.Columns)
        {
            if (found.TryGetValue(name, out var actual) && actual != type)
            {
                throw new DatasetException($"failed to verify database: column {name} has incorrect type: expected {type}, got {actual}");
            }
        }

        foreach (var (name, _) in DatasetSchema.Columns)
        {
            if (!found.ContainsKey(name))
            {
                throw new DatasetException($"failed to verify database: missing expected column in {table} table: {name}");
            }
        }
    }

    /// <summary>Every response recorded for the prompt with this hash.</summary>
    public IReadOnlyList<DatasetEntry> ResponsesFor(byte[] promptHash)
    {
        lock (_gate)
        {
            using var query = _db.CreateCommand();
            query.CommandText = $"SELECT gen_tokens FROM {_table} WHERE prompt_hash = $hash ORDER BY id";
            query.Parameters.AddWithValue("$hash", promptHash);
            return ReadAll(query);
        }
    }

    /// <summary>
    /// A random response with at most (or, when <paramref name="exact"/>, exactly) <paramref name="maxLen"/> tokens, else
    /// null. The pick is drawn from <paramref name="random"/> (llm-d uses SQLite's RANDOM(); this keeps <c>--seed</c>).
    /// </summary>
    public DatasetEntry? RandomWithLength(int maxLen, bool exact, SimRandom random) =>
        Pick($"WHERE n_gen_tokens {(exact ? "=" : "<=")} {maxLen}", random);

    /// <summary>A random response of any length; null only when the table is empty.</summary>
    public DatasetEntry? RandomAny(SimRandom random) => Pick("", random);

    private DatasetEntry? Pick(string where, SimRandom random)
    {
        lock (_gate)
        {
            using var count = _db.CreateCommand();
            count.CommandText = $"SELECT COUNT(*) FROM {_table} {where}";
            var n = (long)count.ExecuteScalar()!;
            if (n == 0)
            {
                return null;
            }

            using var query = _db.CreateCommand();
            query.CommandText = $"SELECT gen_tokens FROM {_table} {where} ORDER BY id LIMIT 1 OFFSET $offset";
            query.Parameters.AddWithValue("$offset", random.NextInt64(n));
            return ReadAll(query).FirstOrDefault();
        }
    }

    private static List<DatasetEntry> ReadAll(SqliteCommand query)
    {
        var result = new List<DatasetEntry>();
        using var rows = query.ExecuteReader();
        while (rows.Read())
        {
            result.Add(ParseTokens(rows.GetString(0)));
        }

        return result;
    }

    /// <summary>Parses <c>{"Tokens":[…],"Strings":[…]}</c>.</summary>
    public static DatasetEntry ParseTokens(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            List<int> tokens = root.TryGetProperty("Tokens", out var t) && t.ValueKind == JsonValueKind.Array
                ? [.. t.EnumerateArray().Select(e => unchecked((int)e.GetUInt32()))]
                : [];
            List<string> strings = root.TryGetProperty("Strings", out var s) && s.ValueKind == JsonValueKind.Array
                ? [.. s.EnumerateArray().Select(e => e.GetString() ?? "")]
                : [];
            return new DatasetEntry(tokens, strings);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new DatasetException($"failed to unmarshal tokens JSON: {ex.Message}", ex);
        }
    }

    public void Dispose() => _db.Dispose();
}
