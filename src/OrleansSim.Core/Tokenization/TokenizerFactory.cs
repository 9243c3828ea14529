using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace OrleansSim.Core.Tokenization;

/// <summary>Builds the shared <see cref="ISimTokenizer"/>: o200k_base by default, or a Hugging Face tokenizer.json.</summary>
public static class TokenizerFactory
{
    /// <summary>The pre-tokenizer regex of GPT-2, used when a ByteLevel pre-tokenizer asks for its own regex.</summary>
    private const string Gpt2Pattern =
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private const string DefaultEncoding = "o200k_base";

    /// <param name="tokenizerJsonPath">Path to a tokenizer.json (byte-level BPE); null → o200k_base.</param>
    /// <exception cref="TokenizerLoadException">The file is missing, unreadable, or not a byte-level BPE tokenizer.</exception>
    public static ISimTokenizer Create(string? tokenizerJsonPath) =>
        tokenizerJsonPath is null
            ? new SimTokenizer(DefaultEncoding, TiktokenTokenizer.CreateForEncoding(DefaultEncoding))
            : new SimTokenizer(tokenizerJsonPath, LoadHuggingFace(tokenizerJsonPath));

    /// <summary>
    /// Starts <see cref="Create"/> on a worker thread; a load error surfaces from <see cref="LoadingTokenizer.Loaded"/>
    /// (or from the first call that needs the tokenizer).
    /// </summary>
    public static LoadingTokenizer StartLoading(string? tokenizerJsonPath) =>
        new(tokenizerJsonPath ?? DefaultEncoding, () => Create(tokenizerJsonPath));

    private static BpeTokenizer LoadHuggingFace(string path)
    {
        if (!File.Exists(path))
        {
            throw Fail(path, "not found");
        }

        JsonDocument doc;
        try
        {
            using var stream = File.OpenRead(path);
            doc = JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw Fail(path, $"is not valid JSON ({OneLine(ex.Message)})", ex);
        }
        catch (IOException ex)
        {
            throw Fail(path, $"cannot be read ({OneLine(ex.Message)})", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw Fail(path, $"cannot be read ({OneLine(ex.Message)})", ex);
        }

        using (doc)
        {
            try
            {
                return Build(path, doc.RootElement);
            }
            catch (TokenizerLoadException)
            {
                throw;
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException or KeyNotFoundException)
            {
                throw Fail(path, $"could not be loaded ({OneLine(ex.Message)})", ex);
            }
        }
    }

    private static BpeTokenizer Build(string path, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("model", out var model)
            || model.ValueKind != JsonValueKind.Object)
        {
            throw Fail(path, "has no \"model\" object");
        }

        string? type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (type is not null && type != "BPE")
        {
            throw Fail(path, $"model type is \"{type}\", only BPE is supported");
        }

        if (!model.TryGetProperty("vocab", out var vocabEl) || vocabEl.ValueKind != JsonValueKind.Object)
        {
            throw Fail(path, "model.vocab is missing or not an object (only BPE is supported)");
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in vocabEl.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id))
            {
                throw Fail(path, $"model.vocab entry \"{p.Name}\" has no integer id");
            }

            vocab[p.Name] = id;
        }

        if (vocab.Count == 0)
        {
            throw Fail(path, "model.vocab is empty");
        }

        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var mergesEl) && mergesEl.ValueKind == JsonValueKind.Array)
        {
            foreach (var m in mergesEl.EnumerateArray())
            {
                if (m.ValueKind == JsonValueKind.String)
                {
                    merges.Add(m.GetString()!);
                }
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2
                    && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
                {
                    merges.Add(m[0].GetString() + " " + m[1].GetString());
                }
                else
                {
                    throw Fail(path, "model.merges holds an entry that is neither \"a b\" nor [\"a\",\"b\"]");
                }
            }
        }

        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in added.EnumerateArray())
            {
                if (a.ValueKind == JsonValueKind.Object
                    && a.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String
                    && a.TryGetProperty("id", out var idEl) && idEl.TryGetInt32(out int id))
                {
                    special[c.GetString()!] = id;
                }
            }
        }

        string pattern = FindSplitPattern(root) ?? Gpt2Pattern;
        Regex regex;
        try
        {
            regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException ex)
        {
            throw Fail(path, $"pre_tokenizer regex is not supported by .NET ({OneLine(ex.Message)})", ex);
        }

        string? unk = model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            SpecialTokens = special.Count > 0 ? special : null,
            PreTokenizer = new RegexPreTokenizer(regex, special.Count > 0 ? special : null),
            ByteLevel = true,
            UnknownToken = unk,
        };
        return BpeTokenizer.Create(options);
    }

    /// <summary>
    /// The regex of a <c>Split</c> pre-tokenizer (top level or inside a <c>Sequence</c>); the GPT-2 regex when only
    /// a ByteLevel pre-tokenizer with <c>use_regex</c> is present; null when there is none.
    /// </summary>
    private static string? FindSplitPattern(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        return FindIn(pre);

        static string? FindIn(JsonElement node)
        {
            string? type = node.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            switch (type)
            {
                case "Split" when node.TryGetProperty("pattern", out var pat) && pat.ValueKind == JsonValueKind.Object:
                    if (pat.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String)
                    {
                        return r.GetString();
                    }

                    if (pat.TryGetProperty("String", out var s) && s.ValueKind == JsonValueKind.String)
                    {
                        return Regex.Escape(s.GetString()!);
                    }

                    return null;
                case "Sequence" when node.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array:
                    string? byteLevelPattern = null;
                    foreach (var child in list.EnumerateArray())
                    {
                        string? found = child.ValueKind == JsonValueKind.Object ? FindIn(child) : null;
                        if (found is null)
                        {
                            continue;
                        }

                        bool isSplit = child.TryGetProperty("type", out var ct) && ct.ValueEquals("Split");
                        if (isSplit)
                        {
                            return found;
                        }

                        byteLevelPattern ??= found;
                    }

                    return byteLevelPattern;
                case "ByteLevel":
                    bool useRegex = !node.TryGetProperty("use_regex", out var ur) || ur.ValueKind != JsonValueKind.False;
                    return useRegex ? Gpt2Pattern : null;
                default:
                    return null;
            }
        }
    }

    private static TokenizerLoadException Fail(string path, string what, Exception? inner = null)
    {
        string message = $"--tokenizer: file '{path}' {what}";
        return inner is null ? new TokenizerLoadException(message) : new TokenizerLoadException(message, inner);
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
