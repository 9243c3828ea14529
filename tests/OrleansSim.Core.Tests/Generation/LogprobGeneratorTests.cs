using OrleansSim.Core.Generation;
using OrleansSim.Core.Tests.Tokenization;
using Xunit;

namespace OrleansSim.Core.Tests.Generation;

public class LogprobGeneratorTests
{
    private static readonly LogprobGenerator O200k = LogprobGenerator.FromTokenizer(SharedTokenizers.O200k);

    [Fact]
    public void ChosenLogprobFollowsTheLlmdFormula()
    {
        Assert.Equal(-1.0, LogprobGenerator.ChosenLogprob(0));
        Assert.Equal(-1.1, LogprobGenerator.ChosenLogprob(1));
        Assert.Equal(-1.2, LogprobGenerator.ChosenLogprob(2));
        Assert.Equal(-1.0, LogprobGenerator.ChosenLogprob(3));
    }

    [Theory]
    [InlineData(" quick", 0)]
    [InlineData("The", 1)]
    [InlineData(" fox", 7)]
    [InlineData("é", 12)]
    public void TopListStartsWithTheChosenTokenAndIsStrictlyDecreasingWithDistinctAlternatives(string token, int position)
    {
        var top = O200k.TopLogprobs(token, position, LogprobGenerator.MaxTopLogprobs);
        Assert.Equal(LogprobGenerator.MaxTopLogprobs, top.Length);
        Assert.Equal(token, top[0].Token);
        Assert.Equal(LogprobGenerator.ChosenLogprob(position), top[0].Logprob);
        Assert.Equal(top.Length, top.Select(t => t.Token).Distinct(StringComparer.Ordinal).Count());
        for (var i = 1; i < top.Length; i++)
        {
            Assert.True(top[i].Logprob < top[i - 1].Logprob, $"entry {i} is not below entry {i - 1}");
            Assert.False(string.IsNullOrEmpty(top[i].Token));
            Assert.DoesNotContain('\uFFFD', top[i].Token);
        }

        // A plausible distribution: what is listed never adds up to more than certainty.
        Assert.True(top.Sum(t => Math.Exp(t.Logprob)) < 1.0);
    }

    [Fact]
    public void AlternativesComeFromTheTokenizersVocabulary()
    {
        var top = O200k.TopLogprobs(" brown", 3, 10);
        foreach (var alternative in top.Skip(1))
        {
            var ids = SharedTokenizers.O200k.Encode(alternative.Token);
            Assert.Single(ids);
            Assert.Equal(alternative.Token, SharedTokenizers.O200k.Decode(ids));
        }
    }

    [Fact]
    public void SameTokenAndPositionGiveTheSameAnswer()
    {
        var first = O200k.TopLogprobs(" lazy", 5, 6);
        var again = LogprobGenerator.FromTokenizer(SharedTokenizers.O200k).TopLogprobs(" lazy", 5, 6);
        Assert.Equal(first, again);
        Assert.NotEqual(first.Skip(1).Select(t => t.Token), O200k.TopLogprobs(" lazy", 6, 6).Skip(1).Select(t => t.Token));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(20, 20)]
    public void CountIsHonoured(int count, int expected) =>
        Assert.Equal(expected, O200k.TopLogprobs("word", 0, count).Length);

    [Fact]
    public void TheChosenTokenIsNeverRepeatedAsAnAlternative()
    {
        var generator = new LogprobGenerator(["a", "b", "c", "d"]);
        for (var position = 0; position < 8; position++)
        {
            var top = generator.TopLogprobs("b", position, 20);
            Assert.Equal("b", top[0].Token);
            Assert.Equal(["a", "b", "c", "d"], top.Select(t => t.Token).Order(StringComparer.Ordinal));
            Assert.Single(top, t => t.Token == "b");
        }
    }

    [Fact]
    public void SmallVocabularyGivesFewerAlternatives()
    {
        var generator = new LogprobGenerator(["x", "y", "", "x"]);
        Assert.Equal(2, generator.VocabularyCount);
        Assert.Equal(3, generator.TopLogprobs("z", 0, 20).Length);
        Assert.Single(new LogprobGenerator([]).TopLogprobs("z", 0, 5));
    }

    [Fact]
    public void SyntheticTokenizerAlsoYieldsAFullList()
    {
        var generator = LogprobGenerator.FromTokenizer(SharedTokenizers.Synthetic);
        var top = generator.TopLogprobs("hello", 2, 5);
        Assert.Equal(5, top.Length);
        Assert.Equal(5, top.Select(t => t.Token).Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("abc", 3)]
    [InlineData("é", 1)]
    [InlineData("😀", 1)]
    [InlineData("a😀b", 3)]
    public void CodePointLengthCountsAsPython(string text, int expected) =>
        Assert.Equal(expected, LogprobGenerator.CodePointLength(text));
}
