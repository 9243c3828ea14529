using System.Text;
using Microsoft.ML.Tokenizers;

namespace OrleansSim.Core.Tokenization;

/// <summary>
/// <see cref="ISimTokenizer"/> over a <see cref="Tokenizer"/> from Microsoft.ML.Tokenizers. The wrapped
/// tokenizers are safe for concurrent use (their caches are concurrent); this class's only mutable state is the
/// thread-safe cache of <see cref="SplitTokens"/> results (echo mode splits the same prompts on every request).
/// </summary>
internal sealed class SimTokenizer(string name, Tokenizer inner) : ISimTokenizer
{
    public string Name { get; } = name;

    internal Tokenizer Inner { get; } = inner;

    /// <summary>Every id that decodes to something, found once on first use by probing upwards (the
    /// library does not expose the vocabulary of its tiktoken encodings).</summary>
    private readonly Lazy<System.Collections.BitArray> _known = new(() => ProbeVocabulary(inner));

    public bool IsKnownTokenId(int id) => id >= 0 && id < _known.Value.Length && _known.Value[id];

    private static System.Collections.BitArray ProbeVocabulary(Tokenizer tokenizer)
    {
        const int GapThatEndsTheVocabulary = 4096;
        var known = new List<bool>(210_000);
        var lastKnown = -1;
        for (var id = 0; id - lastKnown <= GapThatEndsTheVocabulary; id++)
        {
            var isKnown = !string.IsNullOrEmpty(tokenizer.Decode([id]));
            known.Add(isKnown);
            if (isKnown)
            {
                lastKnown = id;
            }
        }

        var bits = new System.Collections.BitArray(lastKnown + 1);
        for (var id = 0; id <= lastKnown; id++)
        {
            bits[id] = known[id];
        }

        return bits;
    }

    public IReadOnlyList<int> Encode(string text) => Inner.EncodeToIds(text);

    public int CountTokens(string text) => text.Length == 0 ? 0 : Inner.CountTokens(text);

    public string Decode(IReadOnlyList<int> ids) => ids.Count == 0 ? string.Empty : Inner.Decode(ids) ?? string.Empty;

    /// <summary>Recent <see cref="SplitTokens"/> results, read-only lists shared by every caller.</summary>
    private readonly BoundedTextCache<IReadOnlyList<string>> _pieces = new(capacity: 1024, maxKeyChars: 16 * 1024);

    public IReadOnlyList<string> SplitTokens(string text) =>
        text.Length == 0 ? [] : _pieces.GetOrAdd(text, static (t, self) => self.Split(t).AsReadOnly(), this);

    private List<string> Split(string text)
    {
        var tokens = Inner.EncodeToTokens(text, out string? normalized);
        if (normalized is not null && !string.Equals(normalized, text, StringComparison.Ordinal))
        {
            // Offsets would refer to the normalized text, which cannot be mapped back onto the input: keep the
            // text whole rather than lose or alter characters.
            return [text];
        }

        return CutAtTokenStarts(text, tokens);
    }

    /// <summary>
    /// Cuts <paramref name="text"/> at each token's start offset. Starts are forced to be increasing and never
    /// inside a surrogate pair, so pieces that would be empty (several tokens sharing one character, as byte
    /// tokens of an emoji do) fold into one piece and the concatenation is always exactly the input.
    /// </summary>
    internal static List<string> CutAtTokenStarts(string text, IReadOnlyList<EncodedToken> tokens)
    {
        var pieces = new List<string>(tokens.Count);
        int pieceStart = 0;
        for (int i = 1; i < tokens.Count; i++)
        {
            int cut = tokens[i].Offset.GetOffsetAndLength(text.Length).Offset;
            if (cut > text.Length)
            {
                cut = text.Length;
            }

            if (cut > 0 && cut < text.Length && char.IsLowSurrogate(text[cut]) && char.IsHighSurrogate(text[cut - 1]))
            {
                cut--;
            }

            if (cut <= pieceStart || cut >= text.Length)
            {
                continue;
            }

            pieces.Add(text[pieceStart..cut]);
            pieceStart = cut;
        }

        pieces.Add(text[pieceStart..]);
        return pieces;
    }

    public string RenderChat(IReadOnlyList<PromptMessage> messages)
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            sb.Append("<|im_start|>").Append(m.Role).Append('\n').Append(m.Content).Append("<|im_end|>\n");
        }

        sb.Append("<|im_start|>assistant\n");
        return sb.ToString();
    }
}
