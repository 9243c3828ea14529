using OrleansSim.Core.Tokenization;

namespace OrleansSim.Core.Generation;

/// <summary>One entry of a logprobs answer: a token string and its log probability.</summary>
public readonly record struct TokenLogprob(string Token, double Logprob);

/// <summary>
/// Synthetic, deterministic log probabilities for generated tokens (no model runs, so nothing is measured).
/// The chosen token at position <c>p</c> gets <c>-1 - 0.1·(p mod 3)</c>, as llm-d-inference-sim does; the
/// alternative of rank <c>r</c> (1-based) gets <c>chosen - 0.5·r - 0.1·((p + r) mod 2)</c>, so the list is strictly
/// decreasing and the probabilities of chosen plus alternatives sum to less than 1. Alternatives are distinct
/// strings of the tokenizer's vocabulary, never the chosen token itself, picked from a stable hash of the chosen
/// token and its position: the same token at the same position always gets the same alternatives.
/// </summary>
public sealed class LogprobGenerator
{
    /// <summary>vLLM's default <c>--max-logprobs</c>: the most top logprobs a request may ask for.</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>How many vocabulary strings <see cref="SampleVocabulary"/> keeps.</summary>
    public const int VocabularySampleSize = 1024;

    private readonly string[] _vocabulary;
    private readonly HashSet<string> _members;

    /// <param name="vocabulary">Token strings alternatives are drawn from; duplicates and empty strings are dropped.</param>
    public LogprobGenerator(IEnumerable<string> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _vocabulary = [.. vocabulary.Where(s => !string.IsNullOrEmpty(s)).Distinct(StringComparer.Ordinal)];
        _members = new HashSet<string>(_vocabulary, StringComparer.Ordinal);
    }

    /// <summary>Builds a generator over a sample of <paramref name="tokenizer"/>'s vocabulary.</summary>
    public static LogprobGenerator FromTokenizer(ISimTokenizer tokenizer) => new(SampleVocabulary(tokenizer));

    /// <summary>Distinct strings the generator draws alternatives from.</summary>
    public int VocabularyCount => _vocabulary.Length;

    /// <summary>
    /// Decodes the tokenizer's ids from 0 upwards and keeps up to <see cref="VocabularySampleSize"/> distinct
    /// printable token strings. Multi-character tokens are preferred (single bytes make poor-looking alternatives);
    /// single characters are only used when a small vocabulary has too few longer tokens.
    /// </summary>
    public static IReadOnlyList<string> SampleVocabulary(ISimTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        const int MaxIdsScanned = 16_384;
        const int EmptyRunThatEndsTheVocabulary = 1_024;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var longer = new List<string>(VocabularySampleSize);
        var single = new List<string>();
        var emptyRun = 0;
        for (var id = 0; id < MaxIdsScanned && longer.Count < VocabularySampleSize && emptyRun < EmptyRunThatEndsTheVocabulary; id++)
        {
            string text;
            try
            {
                text = tokenizer.Decode([id]);
            }
            catch (ArgumentException)
            {
                text = "";
            }

            if (text.Length == 0)
            {
                emptyRun++;
                continue;
            }

            emptyRun = 0;
            if (!IsPrintable(text) || !seen.Add(text))
            {
                continue;
            }

            (text.Trim().Length >= 2 ? longer : single).Add(text);
        }

        if (longer.Count < 2 * MaxTopLogprobs)
        {
            longer.AddRange(single.Take(VocabularySampleSize - longer.Count));
        }

        return longer;
    }

    /// <summary>The chosen token's logprob at <paramref name="position"/> (0-based index in the output).</summary>
    public static double ChosenLogprob(int position) => Round(-1.0 - (0.1 * (position % 3)));

    /// <summary>The logprob of the alternative of rank <paramref name="rank"/> (1 = the best alternative).</summary>
    public static double AlternativeLogprob(int position, int rank) =>
        Round(ChosenLogprob(position) - (0.5 * rank) - (0.1 * ((position + rank) % 2)));

    /// <summary>
    /// The top <paramref name="count"/> entries at <paramref name="position"/>, best first: the chosen
    /// <paramref name="token"/> itself, then <c>count - 1</c> distinct alternatives (fewer when the vocabulary
    /// sample is smaller). Empty when <paramref name="count"/> is 0.
    /// </summary>
    public TokenLogprob[] TopLogprobs(string token, int position, int count)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (count <= 0)
        {
            return [];
        }

        var available = _vocabulary.Length - (_members.Contains(token) ? 1 : 0);
        var alternatives = Math.Min(count - 1, available);
        var top = new TokenLogprob[1 + alternatives];
        top[0] = new TokenLogprob(token, ChosenLogprob(position));
        if (alternatives == 0)
        {
            return top;
        }

        var n = _vocabulary.Length;
        var at = (int)(StableHash(token, position) % (uint)n);
        for (var rank = 1; rank <= alternatives; at = (at + 1) % n)
        {
            var candidate = _vocabulary[at];
            if (string.Equals(candidate, token, StringComparison.Ordinal))
            {
                continue;
            }

            top[rank] = new TokenLogprob(candidate, AlternativeLogprob(position, rank));
            rank++;
        }

        return top;
    }

    /// <summary>Python's <c>len()</c> of a token: Unicode code points (a surrogate pair counts once).</summary>
    public static int CodePointLength(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var length = text.Length;
        foreach (var c in text)
        {
            if (char.IsLowSurrogate(c))
            {
                length--;
            }
        }

        return length;
    }

    private static double Round(double value) => Math.Round(value, 4);

    private static bool IsPrintable(string text)
    {
        foreach (var c in text)
        {
            if (c == '\uFFFD' || (char.IsControl(c) && c is not ('\n' or '\t')))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>FNV-1a over the token's chars and the position (string.GetHashCode differs between processes).</summary>
    private static uint StableHash(string token, int position)
    {
        var hash = 2166136261u;
        foreach (var c in token)
        {
            hash = (hash ^ c) * 16777619u;
        }

        hash = (hash ^ (uint)position) * 16777619u;
        return hash;
    }
}
