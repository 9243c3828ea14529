using System.Text;
using OrleansSim.Core.Generation;
using OrleansSim.Core.Tokenization;
using Xunit;

namespace OrleansSim.Core.Tests.Tokenization;

public class SplitTokensTests
{
    public static TheoryData<string> Samples() =>
    [
        "Hello world",
        "plain ASCII with punctuation: a, b; c! (d) [e] {f} 12345 67.89",
        "  leading and trailing spaces  \n\n\ttabs\r\n",
        "日本語のテキストと中文文本，还有한국어 텍스트",
        "😀",
        "emoji 😀👍🏽🇩🇪 and family 👨‍👩‍👧 ok",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 mathematical letters",
        "cafe\u0301 na\u0308ive a\u0301\u0302\u0303\u0304 z\u0335\u0336",
        "Ελληνικά και русский текст и עברית ועוד العربية",
        "<|endoftext|><|im_start|>user\nhi<|im_end|>",
    ];

    [Theory]
    [MemberData(nameof(Samples))]
    public void O200kPiecesConcatenateToInput(string text) => AssertValidSplit(SharedTokenizers.O200k, text);

    [Theory]
    [MemberData(nameof(Samples))]
    public void SyntheticPiecesConcatenateToInput(string text) => AssertValidSplit(SharedTokenizers.Synthetic, text);

    [Fact]
    public void RepeatedSplitsGiveTheSamePiecesAsAReadOnlyList()
    {
        var tokenizer = SharedTokenizers.O200k;
        var first = tokenizer.SplitTokens("Hello, how are you today? Please tell me a short story.");
        var again = tokenizer.SplitTokens("Hello, how are you today? Please tell me a short story.");
        Assert.Equal(first, again);
        Assert.Equal("Hello, how are you today? Please tell me a short story.", string.Concat(again));
        // Cached results are shared by every caller: nobody can change them.
        Assert.Throws<NotSupportedException>(() => ((IList<string>)again)[0] = "changed");
    }

    [Fact]
    public void RandomStringsSplitLosslessly()
    {
        var random = new SimRandom(1234);
        for (int round = 0; round < 300; round++)
        {
            string text = RandomText(random, random.Next(1, 60));
            AssertValidSplit(SharedTokenizers.O200k, text);
            AssertValidSplit(SharedTokenizers.Synthetic, text);
        }
    }

    [Fact]
    public void AsciiGivesOnePiecePerToken()
    {
        const string text = "The quick brown fox jumps over the lazy dog, twice; then it rests.";
        Assert.Equal(SharedTokenizers.O200k.CountTokens(text), SharedTokenizers.O200k.SplitTokens(text).Count);
        Assert.Equal(SharedTokenizers.Synthetic.CountTokens(text), SharedTokenizers.Synthetic.SplitTokens(text).Count);
    }

    [Fact]
    public void EmptyTextHasNoPieces() => Assert.Empty(SharedTokenizers.O200k.SplitTokens(string.Empty));

    private static void AssertValidSplit(ISimTokenizer tok, string text)
    {
        var pieces = tok.SplitTokens(text);
        Assert.Equal(text, string.Concat(pieces));
        Assert.True(pieces.Count <= Math.Max(1, tok.CountTokens(text)), $"more pieces than tokens for '{text}'");
        foreach (string piece in pieces)
        {
            Assert.NotEmpty(piece);
            Assert.False(char.IsLowSurrogate(piece[0]), $"piece starts inside a surrogate pair in '{text}'");
            Assert.False(char.IsHighSurrogate(piece[^1]), $"piece ends inside a surrogate pair in '{text}'");
        }
    }

    private static string RandomText(SimRandom random, int runes)
    {
        int[][] ranges =
        [
            [0x20, 0x7E], [0x0A, 0x0A], [0xC0, 0x24F], [0x300, 0x36F], [0x3040, 0x30FF],
            [0x4E00, 0x9FFF], [0xAC00, 0xD7A3], [0x1F300, 0x1FAFF], [0x1D400, 0x1D7FF], [0x200D, 0x200D],
        ];
        var sb = new StringBuilder();
        for (int i = 0; i < runes; i++)
        {
            int[] r = ranges[random.Next(ranges.Length)];
            sb.Append(new Rune(random.Next(r[0], r[1] + 1)).ToString());
        }

        return sb.ToString();
    }
}
