using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace OrleansSim.Core.Generation.Dataset;

/// <summary>
/// llm-d-inference-sim's dataset table: <c>id INTEGER PRIMARY KEY, prompt_hash BLOB NOT NULL, gen_tokens JSON NOT NULL,
/// n_gen_tokens INTEGER NOT NULL</c>, where <c>gen_tokens</c> is <c>{"Tokens":[…],"Strings":[…]}</c> and <c>prompt_hash</c>
/// the SHA-256 of the prompt's token ids as little-endian uint32 (<see cref="PromptHash"/>).
/// </summary>
public static partial class DatasetSchema
{
    public const string DefaultTableName = "llmd";

    /// <summary>Column names and the declared types <c>PRAGMA table_info</c> must report, in check order.</summary>
    public static readonly IReadOnlyList<(string Name, string Type)> Columns =
    [
        ("id", "INTEGER"),
        ("prompt_hash", "BLOB"),
        ("gen_tokens", "JSON"),
        ("n_gen_tokens", "INTEGER"),
    ];

    /// <summary>True for a plain SQL identifier (the table name is spliced into the queries, as in llm-d).</summary>
    public static bool IsValidTableName(string name) => TableName().IsMatch(name);

    public static string CreateTable(string table) =>
        $"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, prompt_hash BLOB NOT NULL, gen_tokens JSON NOT NULL, n_gen_tokens INTEGER NOT NULL)";

    public static string Insert(string table) =>
        $"INSERT INTO {table} (prompt_hash, gen_tokens, n_gen_tokens) VALUES ($hash, $tokens, $count)";

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex TableName();
}

/// <summary>The dataset key of a prompt: SHA-256 over its token ids, each a little-endian uint32 (llm-d's getInputHash).</summary>
public static class PromptHash
{
    public static byte[] Compute(IReadOnlyList<int> tokenIds)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        var bytes = new byte[tokenIds.Count * 4];
        for (var i = 0; i < tokenIds.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), unchecked((uint)tokenIds[i]));
        }

        return SHA256.HashData(bytes);
    }
}

/// <summary>A dataset that cannot be downloaded, opened or read; the message is llm-d-inference-sim's.</summary>
public sealed class DatasetException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>One stored response: token ids and their text pieces (concatenated = the response text).</summary>
public sealed record DatasetEntry(IReadOnlyList<int> Tokens, IReadOnlyList<string> Strings)
{
    public int Length => Strings.Count;
}
