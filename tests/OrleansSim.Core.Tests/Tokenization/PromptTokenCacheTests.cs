using OrleansSim.Core.Tokenization;
using Xunit;

namespace OrleansSim.Core.Tests.Tokenization;

public sealed class PromptTokenCacheTests
{
    private static ISimTokenizer Tokenizer => SharedTokenizers.O200k;

    [Fact]
    public void GivesTheTokenizersIdsForEveryPromptAndFreshArrays()
    {
        var cache = new PromptTokenCache(Tokenizer, capacity: 4);
        string[] prompts = ["hello world", "Hello world", "hello world ", "héllo wörld", "a", "b", "c", "d", "e"];
        for (var round = 0; round < 3; round++)
        {
            foreach (var prompt in prompts)
            {
                var ids = cache.Encode(prompt);
                Assert.Equal(Tokenizer.Encode(prompt), ids);
                ids[0] = -1; // the caller owns the array: the cached copy must not change
            }
        }
    }

    [Fact]
    public void LongPromptsBypassTheCache()
    {
        var cache = new PromptTokenCache(Tokenizer);
        var prompt = string.Concat(Enumerable.Repeat("word ", (PromptTokenCache.MaxPromptChars / 5) + 1));
        Assert.Equal(Tokenizer.Encode(prompt), cache.Encode(prompt));
    }

    [Fact]
    public void IsSafeUnderConcurrentUse()
    {
        var cache = new PromptTokenCache(Tokenizer, capacity: 8);
        var prompts = Enumerable.Range(0, 32).Select(i => $"prompt number {i}").ToArray();
        var expected = prompts.Select(p => Tokenizer.Encode(p).ToArray()).ToArray();
        Parallel.For(0, 4000, i => Assert.Equal(expected[i % 32], cache.Encode(prompts[i % 32])));
    }
}
