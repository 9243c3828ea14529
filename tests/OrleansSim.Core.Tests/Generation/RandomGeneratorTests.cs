using System.Diagnostics;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Generation;
using OrleansSim.Core.Tests.Tokenization;
using Xunit;

namespace OrleansSim.Core.Tests.Generation;

public class RandomGeneratorTests(ITestOutputHelper output)
{
    private static readonly RandomGenerator Gen = new(SharedTokenizers.O200k);

    private static GenerationRequest Req(int? max = null, bool ignoreEos = false, int prompt = 10, params string[] stop) =>
        new(string.Empty, PromptTokens: prompt, MaxTokens: max, IgnoreEos: ignoreEos, Stop: stop);

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100)]
    [InlineData(3000)]
    public void IgnoreEosGivesExactlyMaxTokens(int max)
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var result = Gen.Generate(Req(max, ignoreEos: true), new SimRandom(seed));
            Assert.Equal(max, result.Tokens.Count);
            Assert.Equal("length", result.FinishReason);
            Assert.All(result.Tokens, t => Assert.NotEmpty(t));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(50)]
    [InlineData(1000)]
    public void MaxTokensBoundsLengthAndSetsFinishReason(int max)
    {
        for (int seed = 0; seed < 200; seed++)
        {
            var result = Gen.Generate(Req(max), new SimRandom(seed));
            Assert.InRange(result.Tokens.Count, 1, max);
            Assert.Equal(result.Tokens.Count == max ? "length" : "stop", result.FinishReason);
        }
    }

    [Fact]
    public void HistogramHitsMaxAboutFifteenPercentAndCoversTheRange()
    {
        var random = new SimRandom(42);
        const int max = 100;
        int atMax = 0;
        var seen = new HashSet<int>();
        for (int i = 0; i < 20_000; i++)
        {
            int len = RandomGenerator.LengthFromHistogram(max, random);
            Assert.InRange(len, 1, max);
            seen.Add(len);
            if (len == max)
            {
                atMax++;
            }
        }

        Assert.InRange(atMax / 20_000.0, 0.13, 0.17);
        Assert.Equal(max, seen.Count);
    }

    [Fact]
    public void WithoutMaxTokensLengthCentersOnForty()
    {
        var random = new SimRandom(7);
        long total = 0;
        const int n = 2000;
        for (int i = 0; i < n; i++)
        {
            var result = Gen.Generate(Req(), random);
            Assert.InRange(result.Tokens.Count, 1, 1024 - 10);
            total += result.Tokens.Count;
        }

        Assert.InRange(total / (double)n, 36, 44);
    }

    [Fact]
    public void WithoutMaxTokensRespectsRoomLeftByPrompt()
    {
        for (int seed = 0; seed < 100; seed++)
        {
            var result = Gen.Generate(Req(prompt: 1020), new SimRandom(seed));
            Assert.InRange(result.Tokens.Count, 1, 4);
        }

        var full = Gen.Generate(Req(prompt: 5000), new SimRandom(1));
        Assert.Single(full.Tokens);
        Assert.Equal("length", full.FinishReason);
    }

    [Fact]
    public void MaxModelLenFromFactoryIsUsed()
    {
        var gen = GeneratorFactory.Create(SimulationMode.Random, SharedTokenizers.O200k, maxModelLen: 20);
        Assert.IsType<RandomGenerator>(gen);
        for (int seed = 0; seed < 100; seed++)
        {
            Assert.InRange(gen.Generate(Req(prompt: 10), new SimRandom(seed)).Tokens.Count, 1, 10);
        }
    }

    [Fact]
    public void SameSeedGivesSameText()
    {
        for (int seed = 0; seed < 10; seed++)
        {
            var a = Gen.Generate(Req(200), new SimRandom(seed));
            var b = Gen.Generate(Req(200), new SimRandom(seed));
            Assert.Equal(a.Tokens, b.Tokens);
            Assert.Equal(a.FinishReason, b.FinishReason);
        }
    }

    [Fact]
    public void DifferentSeedsGiveDifferentTexts()
    {
        var texts = new HashSet<string>();
        for (int seed = 0; seed < 10; seed++)
        {
            texts.Add(Gen.Generate(Req(60, ignoreEos: true), new SimRandom(seed)).Text);
        }

        Assert.True(texts.Count >= 8, $"only {texts.Count} distinct texts out of 10 seeds");
    }

    [Fact]
    public void TextIsReadableEnglish()
    {
        string text = Gen.Generate(Req(80, ignoreEos: true), new SimRandom(3)).Text;
        Assert.Matches("^[A-Z]", text);
        Assert.Contains(". ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("  ", text, StringComparison.Ordinal);
    }

    [Fact]
    public void PieceCountMatchesTokenizerClosely()
    {
        // Pieces are assembled from pre-split sentences; re-tokenizing the whole text may differ at the joins only.
        var result = Gen.Generate(Req(300, ignoreEos: true), new SimRandom(5));
        int recount = SharedTokenizers.O200k.CountTokens(result.Text);
        Assert.InRange(recount, 290, 310);
    }

    [Fact]
    public void StopStringCutsOutput()
    {
        for (int seed = 0; seed < 50; seed++)
        {
            var result = Gen.Generate(Req(200, true, 10, ". "), new SimRandom(seed));
            Assert.Equal("stop", result.FinishReason);
            Assert.DoesNotContain(". ", result.Text, StringComparison.Ordinal);
            string full = Gen.Generate(Req(200, ignoreEos: true), new SimRandom(seed)).Text;
            Assert.Equal(full[..full.IndexOf(". ", StringComparison.Ordinal)], result.Text);
        }
    }

    [Fact]
    public void SyntheticTokenizerWorksToo()
    {
        var gen = new RandomGenerator(SharedTokenizers.Synthetic);
        var result = gen.Generate(Req(40, ignoreEos: true), new SimRandom(1));
        Assert.Equal(40, result.Tokens.Count);
    }

    [Fact]
    public void Cost()
    {
        var random = new SimRandom(1);
        var request = Req(100, ignoreEos: true);
        for (int i = 0; i < 2000; i++)
        {
            Gen.Generate(request, random);
        }

        const int n = 100_000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            Gen.Generate(request, random);
        }

        sw.Stop();
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"random, 100 tokens: {sw.Elapsed.TotalMicroseconds / n:F2} us/call, {bytes / n} B/call");

        var echo = new EchoGenerator(SharedTokenizers.O200k);
        var echoRequest = new GenerationRequest(Gen.Generate(request, random).Text, 10, 100, false, []);
        sw.Restart();
        for (int i = 0; i < 10_000; i++)
        {
            echo.Generate(echoRequest, random);
        }

        output.WriteLine($"echo, 100 tokens: {sw.Elapsed.TotalMicroseconds / 10_000:F2} us/call");
    }
}
