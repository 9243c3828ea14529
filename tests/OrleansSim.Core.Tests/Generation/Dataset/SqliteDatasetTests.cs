using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using OrleansSim.Core.Generation;
using OrleansSim.Core.Generation.Dataset;
using OrleansSim.Core.Tests.Tokenization;
using Xunit;

namespace OrleansSim.Core.Tests.Generation.Dataset;

public sealed class SqliteDatasetTests : IDisposable
{
    private static readonly int[] HitPrompt = [1, 2, 3];
    private static readonly string[] HitAnswers = ["abc", "defghi"];
    private static readonly string[] ShortAnswers = ["abc", "xy", "pqrs"];
    private static readonly string[] TrimmedHits = ["ab", "de"];
    private readonly string _dir = Directory.CreateTempSubdirectory("h12-dataset-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string NewPath() => Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".sqlite");

    private static DatasetBuilder.Row Row(int[] prompt, params string[] strings) =>
        new(prompt, [.. strings.Select((_, i) => 1000 + i)], strings);

    /// <summary>Two answers recorded for <see cref="HitPrompt"/> (3 and 6 tokens) and others of 2, 4 and 8 tokens.</summary>
    private string StandardDataset(string table = "llmd")
    {
        var path = NewPath();
        DatasetBuilder.Write(path,
        [
            Row(HitPrompt, "a", "b", "c"),
            Row(HitPrompt, "d", "e", "f", "g", "h", "i"),
            Row([9], "x", "y"),
            Row([9, 9], "p", "q", "r", "s"),
            Row([9, 9, 9], "1", "2", "3", "4", "5", "6", "7", "8"),
        ], table);
        return path;
    }

    private static DatasetGenerator Generator(SqliteDataset dataset, int maxModelLen = 1024) =>
        new(dataset, SharedTokenizers.O200k, new RandomGenerator(SharedTokenizers.O200k), maxModelLen);

    private static GenerationRequest Req(int[] prompt, int? max, bool ignoreEos = false, params string[] stop) =>
        new("", prompt.Length, max, ignoreEos, stop) { PromptTokenIds = prompt };

    [Fact]
    public void PromptHashIsSha256OfLittleEndianUint32Ids()
    {
        byte[] expected = SHA256.HashData([1, 0, 0, 0, 0x00, 0x01, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        Assert.Equal(expected, PromptHash.Compute([1, 256, -1]));
        Assert.Equal(SHA256.HashData([]), PromptHash.Compute([]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HitPicksARecordedAnswerThatFits(bool inMemory)
    {
        using var dataset = SqliteDataset.Open(StandardDataset(), inMemory: inMemory);
        Assert.Equal(5, dataset.Count);
        var gen = Generator(dataset);
        var seen = new HashSet<string>();
        for (var seed = 0; seed < 40; seed++)
        {
            var big = gen.Generate(Req(HitPrompt, 100), new SimRandom(seed));
            Assert.Contains(big.Text, HitAnswers);
            Assert.Equal("stop", big.FinishReason);
            seen.Add(big.Text);

            // Only the 3-token answer fits 4; exactly 3 -> "length" (the budget is used up).
            var four = gen.Generate(Req(HitPrompt, 4), new SimRandom(seed));
            Assert.Equal(("abc", "stop"), (four.Text, four.FinishReason));
            var three = gen.Generate(Req(HitPrompt, 3), new SimRandom(seed));
            Assert.Equal(("abc", "length"), (three.Text, three.FinishReason));
        }

        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public void HitWithAllAnswersTooLongIsTrimmed()
    {
        using var dataset = SqliteDataset.Open(StandardDataset());
        var result = Generator(dataset).Generate(Req(HitPrompt, 2), new SimRandom(1));
        Assert.Equal(2, result.Tokens.Count);
        Assert.Contains(result.Text, TrimmedHits);
        Assert.Equal("length", result.FinishReason);
    }

    [Fact]
    public void HitWithIgnoreEosHasExactlyTheBudget()
    {
        using var dataset = SqliteDataset.Open(StandardDataset());
        var gen = Generator(dataset);
        // An answer of exactly 6 tokens exists.
        Assert.Equal("defghi", gen.Generate(Req(HitPrompt, 6, ignoreEos: true), new SimRandom(3)).Text);
        // None has exactly 5: the longer one is cut.
        Assert.Equal("defgh", gen.Generate(Req(HitPrompt, 5, ignoreEos: true), new SimRandom(3)).Text);
        // All shorter: a recorded answer padded with preset text up to exactly 20 tokens.
        for (var seed = 0; seed < 10; seed++)
        {
            var padded = gen.Generate(Req(HitPrompt, 20, ignoreEos: true), new SimRandom(seed));
            Assert.Equal(20, padded.Tokens.Count);
            Assert.True(padded.Text.StartsWith("abc", StringComparison.Ordinal) || padded.Text.StartsWith("defghi", StringComparison.Ordinal), padded.Text);
            Assert.Equal("length", padded.FinishReason);
        }
    }

    [Fact]
    public void MissPicksAnyAnswerThatFitsElseTrimsOne()
    {
        using var dataset = SqliteDataset.Open(StandardDataset());
        var gen = Generator(dataset);
        var seen = new HashSet<string>();
        for (var seed = 0; seed < 60; seed++)
        {
            var fits = gen.Generate(Req([42], 4), new SimRandom(seed));
            Assert.True(fits.Tokens.Count <= 4);
            Assert.Contains(fits.Text, ShortAnswers);
            seen.Add(fits.Text);

            // Nothing has exactly 5 tokens: ignore_eos takes any answer, cut or padded to exactly 5.
            var exact = gen.Generate(Req([42], 5, ignoreEos: true), new SimRandom(seed));
            Assert.Equal(5, exact.Tokens.Count);
            Assert.Equal("length", exact.FinishReason);

            // Nothing fits 1 token: one answer, trimmed.
            var one = gen.Generate(Req([42], 1), new SimRandom(seed));
            Assert.Single(one.Tokens);
            Assert.Equal("length", one.FinishReason);
        }

        Assert.Equal(3, seen.Count);
        // Exactly 4 tokens exist once: ignore_eos picks it.
        Assert.Equal("pqrs", gen.Generate(Req([42], 4, ignoreEos: true), new SimRandom(5)).Text);
    }

    [Fact]
    public void WithoutMaxTokensTheBudgetIsTheContextWindowLeft()
    {
        using var dataset = SqliteDataset.Open(StandardDataset());
        var gen = Generator(dataset, maxModelLen: 5); // 3 prompt tokens leave 2
        var result = gen.Generate(Req(HitPrompt, null), new SimRandom(0));
        Assert.Equal(2, result.Tokens.Count);
        Assert.Equal("length", result.FinishReason);
    }

    [Fact]
    public void StopStringsCutDatasetAnswers()
    {
        using var dataset = SqliteDataset.Open(StandardDataset());
        var result = Generator(dataset).Generate(Req(HitPrompt, 3, false, "b"), new SimRandom(0));
        Assert.Equal(("a", "stop", "b"), (result.Text, result.FinishReason, result.StopReason));
    }

    [Fact]
    public void SameSeedSameAnswer()
    {
        using var dataset = SqliteDataset.Open(StandardDataset());
        var gen = Generator(dataset);
        for (var seed = 0; seed < 10; seed++)
        {
            Assert.Equal(gen.Generate(Req([7], 50), new SimRandom(seed)).Text, gen.Generate(Req([7], 50), new SimRandom(seed)).Text);
        }
    }

    [Fact]
    public void CustomTableName()
    {
        using var dataset = SqliteDataset.Open(StandardDataset("chats"), "chats");
        Assert.Equal(5, dataset.Count);
        var e = Assert.Throws<DatasetException>(() => SqliteDataset.Open(StandardDataset("chats")));
        Assert.Equal("failed to verify database: missing expected column in llmd table: id", e.Message);
    }

    [Theory]
    [InlineData("id INTEGER PRIMARY KEY, prompt_hash BLOB NOT NULL, gen_tokens TEXT NOT NULL, n_gen_tokens INTEGER NOT NULL",
        "failed to verify database: column gen_tokens has incorrect type: expected JSON, got TEXT")]
    [InlineData("id INTEGER PRIMARY KEY, prompt_hash TEXT NOT NULL, gen_tokens JSON NOT NULL, n_gen_tokens INTEGER NOT NULL",
        "failed to verify database: column prompt_hash has incorrect type: expected BLOB, got TEXT")]
    [InlineData("id INTEGER PRIMARY KEY, prompt_hash BLOB NOT NULL, gen_tokens JSON NOT NULL",
        "failed to verify database: missing expected column in llmd table: n_gen_tokens")]
    public void WrongSchemaIsRefusedWithLlmdMessages(string columns, string message)
    {
        var path = NewPath();
        using (var db = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            db.Open();
            using var create = db.CreateCommand();
            create.CommandText = $"CREATE TABLE llmd ({columns})";
            create.ExecuteNonQuery();
        }

        Assert.Equal(message, Assert.Throws<DatasetException>(() => SqliteDataset.Open(path)).Message);
        Assert.Equal(message, Assert.Throws<DatasetException>(() => SqliteDataset.Open(path, inMemory: true)).Message);
    }

    [Fact]
    public void MissingAndCorruptFilesAreRefused()
    {
        var missing = NewPath();
        Assert.Equal($"database file does not exist: {missing}", Assert.Throws<DatasetException>(() => SqliteDataset.Open(missing)).Message);

        var junk = NewPath();
        File.WriteAllText(junk, "this is not a database, just text that is long enough to look like a header......");
        Assert.Contains("file is not a database", Assert.Throws<DatasetException>(() => SqliteDataset.Open(junk)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheFileIsOpenedReadOnly()
    {
        var path = StandardDataset();
        var before = File.ReadAllBytes(path);
        using (var dataset = SqliteDataset.Open(path))
        {
            Generator(dataset).Generate(Req(HitPrompt, 10), new SimRandom(0));
        }

        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void EmptyDatasetFailsTheRequest()
    {
        var path = NewPath();
        DatasetBuilder.Write(path, []);
        using var dataset = SqliteDataset.Open(path);
        Assert.Equal("Dataset is empty", Assert.Throws<DatasetException>(() => Generator(dataset).Generate(Req([1], 5), new SimRandom(0))).Message);
    }
}

/// <summary>The sample dataset in the repository is what <c>dataset build</c> makes of its conversations today.</summary>
public sealed class SampleDatasetTests
{
    [Fact]
    public void SampleDatasetMatchesItsConversations()
    {
        var root = Configuration.ReadmeFlagsTests.RepoRoot();
        var conversations = DatasetBuilder.ReadConversations(File.ReadAllText(Path.Combine(root, "datasets", "sample-conversations.jsonl")));
        var expected = DatasetBuilder.ToRows(conversations, SharedTokenizers.O200k)
            .Select(r => (Convert.ToHexString(PromptHash.Compute(r.PromptTokenIds)), DatasetBuilder.GenTokensJson(r), r.Strings.Count))
            .ToList();

        var actual = new List<(string, string, int)>();
        using (var db = new SqliteConnection($"Data Source={Path.Combine(root, "datasets", "sample.sqlite")};Mode=ReadOnly;Pooling=False"))
        {
            db.Open();
            using var query = db.CreateCommand();
            query.CommandText = "SELECT hex(prompt_hash), gen_tokens, n_gen_tokens FROM llmd ORDER BY id";
            using var rows = query.ExecuteReader();
            while (rows.Read())
            {
                actual.Add((rows.GetString(0), rows.GetString(1), rows.GetInt32(2)));
            }
        }

        Assert.Equal(expected, actual);
        using var dataset = SqliteDataset.Open(Path.Combine(root, "datasets", "sample.sqlite"));
        Assert.Equal(expected.Count, dataset.Count);
    }
}
