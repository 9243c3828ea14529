using Xunit;
using OrleansSim.Core.Generation;

namespace OrleansSim.Core.Tests.Generation;

public sealed class EmbeddingGeneratorTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(384)]
    [InlineData(4096)]
    public void VectorsHaveUnitLength(int dimensions)
    {
        var vector = EmbeddingGenerator.Embed([1, 2, 3], dimensions);
        Assert.Equal(dimensions, vector.Length);
        var length = Math.Sqrt(vector.Sum(v => (double)v * v));
        Assert.InRange(length, 0.9999, 1.0001);
    }

    [Fact]
    public void SamePromptSameVectorOtherPromptOtherVector()
    {
        var a = EmbeddingGenerator.Embed([10, 20, 30], 64);
        Assert.Equal(a, EmbeddingGenerator.Embed([10, 20, 30], 64));
        var b = EmbeddingGenerator.Embed([10, 20, 31], 64);
        Assert.NotEqual(a, b);
        // Unrelated prompts are far from parallel.
        var cosine = a.Zip(b, (x, y) => (double)x * y).Sum();
        Assert.InRange(cosine, -0.9, 0.9);
    }
}
