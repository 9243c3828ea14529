using Xunit;

namespace OrleansSim.Core.Tests.Tokenization;

public sealed class KnownTokenIdTests
{
    [Fact]
    public void O200kKnowsItsIdsAndNothingBeyond()
    {
        var tokenizer = SharedTokenizers.O200k;
        foreach (var id in tokenizer.Encode("Hello world, ünïcode 👍"))
        {
            Assert.True(tokenizer.IsKnownTokenId(id));
        }

        Assert.True(tokenizer.IsKnownTokenId(0));
        Assert.False(tokenizer.IsKnownTokenId(-1));
        Assert.False(tokenizer.IsKnownTokenId(300_000));
        Assert.False(tokenizer.IsKnownTokenId(int.MaxValue));
    }

    [Fact]
    public void SyntheticTokenizerKnowsItsSpecialTokens()
    {
        var tokenizer = SharedTokenizers.Synthetic;
        var ids = tokenizer.Encode("<|im_start|>hi<|im_end|>");
        Assert.All(ids, id => Assert.True(tokenizer.IsKnownTokenId(id)));
        Assert.False(tokenizer.IsKnownTokenId(ids.Max() + 10_000));
    }
}
