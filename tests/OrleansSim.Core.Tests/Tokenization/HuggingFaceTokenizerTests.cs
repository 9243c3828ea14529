using OrleansSim.Core.Tokenization;
using Xunit;

namespace OrleansSim.Core.Tests.Tokenization;

public class HuggingFaceTokenizerTests
{
    private static ISimTokenizer Tok => SharedTokenizers.Synthetic;

    [Fact]
    public void SyntheticTokenizerLoadsWithItsPathAsName() =>
        Assert.Equal(SharedTokenizers.SyntheticPath, Tok.Name);

    [Fact]
    public void MergesApplyInBothFormats()
    {
        // "hello" and "Ġworld" come from "a b" merges; " is" and " sim" from ["a","b"] merges.
        Assert.Equal(["hello", " world"], Tok.SplitTokens("hello world"));
        Assert.Equal([" is", " sim"], Tok.SplitTokens(" is sim"));
        Assert.Equal(2, Tok.CountTokens(" is sim"));
    }

    [Fact]
    public void SpecialTokensCountAsOneTokenEach()
    {
        var ids = Tok.Encode("<|im_start|>hello world<|im_end|>");
        Assert.Equal(4, ids.Count);
        Assert.Equal(1, Tok.CountTokens("<|im_start|>"));
        Assert.Equal(1, Tok.CountTokens("<|im_end|>"));
        Assert.Equal(1, Tok.CountTokens("<|endoftext|>"));
        Assert.Equal("<|im_start|>hello world<|im_end|>", Tok.Decode(ids));
    }

    [Fact]
    public void RenderedChatCountsMarkersAsSingleTokens()
    {
        string rendered = Tok.RenderChat([new PromptMessage("system", "hello"), new PromptMessage("user", "hello world")]);
        Assert.Equal(
            "<|im_start|>system\nhello<|im_end|>\n<|im_start|>user\nhello world<|im_end|>\n<|im_start|>assistant\n",
            rendered);

        // Three <|im_start|>, two <|im_end|>, then: "system" 6 bytes, "\n", "hello", "\n" (after <|im_end|>),
        // "user", "\n", "hello", " world", "\n", "assistant" (9 bytes), "\n" — every unmerged byte is one token.
        int markers = 5;
        int text = Tok.CountTokens("system\nhello") + Tok.CountTokens("\n") + Tok.CountTokens("user\nhello world")
            + Tok.CountTokens("\n") + Tok.CountTokens("assistant\n");
        Assert.Equal(markers + text, Tok.CountTokens(rendered));
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("日本語 😀 cafe\u0301")]
    [InlineData("<|im_start|>user\nhi there<|im_end|>\n")]
    public void EncodeDecodeRoundTrip(string text) => Assert.Equal(text, Tok.Decode(Tok.Encode(text)));

    [Fact]
    public void MissingFileNamesThePath()
    {
        string path = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "tokenizer.json");
        var ex = Assert.Throws<TokenizerLoadException>(() => TokenizerFactory.Create(path));
        Assert.Equal($"--tokenizer: file '{path}' not found", ex.Message);
    }

    [Theory]
    [InlineData("{ not json", "is not valid JSON")]
    [InlineData("{\"version\":\"1.0\"}", "has no \"model\" object")]
    [InlineData("{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}}}", "only BPE is supported")]
    [InlineData("{\"model\":{\"type\":\"BPE\",\"vocab\":[]}}", "model.vocab is missing or not an object")]
    [InlineData("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[3]}}", "model.merges")]
    public void BadFilesFailWithOneLineMessage(string json, string expectedPart)
    {
        string path = Path.Combine(Path.GetTempPath(), $"orleanssim-tok-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        try
        {
            var ex = Assert.Throws<TokenizerLoadException>(() => TokenizerFactory.Create(path));
            Assert.StartsWith($"--tokenizer: file '{path}' ", ex.Message, StringComparison.Ordinal);
            Assert.Contains(expectedPart, ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
