using OrleansSim.Core.Tokenization;
using Xunit;

namespace OrleansSim.Core.Tests.Tokenization;

public class O200kTokenizerTests
{
    private static ISimTokenizer Tok => SharedTokenizers.O200k;

    [Fact]
    public void NameIsTheEncoding() => Assert.Equal("o200k_base", Tok.Name);

    [Theory]
    [InlineData("", 0)]
    [InlineData("Hello world", 2)]
    [InlineData("Hello, world!", 4)]
    [InlineData(" ", 1)]
    public void KnownCounts(string text, int expected)
    {
        Assert.Equal(expected, Tok.CountTokens(text));
        Assert.Equal(expected, Tok.Encode(text).Count);
    }

    [Fact]
    public void HelloWorldSplitsIntoTwoPieces() =>
        Assert.Equal(["Hello", " world"], Tok.SplitTokens("Hello world"));

    [Theory]
    [InlineData("Hello world")]
    [InlineData("The quick brown fox jumps over the lazy dog.\n\n  Indented line\ttab")]
    [InlineData("日本語のテキストと中文文本")]
    [InlineData("emoji 😀👍🏽🇩🇪 and 👨‍👩‍👧")]
    [InlineData("cafe\u0301 na\u0308ive")]
    [InlineData("<|endoftext|> is special")]
    public void EncodeDecodeRoundTrip(string text) =>
        Assert.Equal(text, Tok.Decode(Tok.Encode(text)));

    [Fact]
    public void DecodeOfNothingIsEmpty() => Assert.Equal(string.Empty, Tok.Decode([]));

    [Fact]
    public void ChatMarkersArePlainTextInO200k()
    {
        string rendered = Tok.RenderChat([new PromptMessage("user", "hi")]);
        Assert.Equal("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", rendered);
        Assert.True(Tok.CountTokens(rendered) > 6);
    }

    [Fact]
    public void ConcurrentUseGivesTheSameResults()
    {
        string[] texts = [.. Enumerable.Range(0, 64).Select(i => $"Sample {i}: naïve café 日本 😀 {new string('x', i)} end.")];
        int[][] expected = [.. texts.Select(t => Tok.Encode(t).ToArray())];
        Parallel.For(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            int k = i % texts.Length;
            Assert.Equal(expected[k], Tok.Encode(texts[k]));
            Assert.Equal(texts[k], string.Concat(Tok.SplitTokens(texts[k])));
        });
    }
}
