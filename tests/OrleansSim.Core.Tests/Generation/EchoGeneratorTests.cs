using OrleansSim.Core.Generation;
using OrleansSim.Core.Tests.Tokenization;
using Xunit;

namespace OrleansSim.Core.Tests.Generation;

public class EchoGeneratorTests
{
    private const string Text = "The quick brown fox jumps over the lazy dog.";

    private static readonly EchoGenerator Echo = new(SharedTokenizers.O200k);

    private static GenerationRequest Req(string text, int? max = null, bool ignoreEos = false, params string[] stop) =>
        new(text, PromptTokens: 10, MaxTokens: max, IgnoreEos: ignoreEos, Stop: stop);

    [Fact]
    public void EchoesWholeTextWithStop()
    {
        var result = Echo.Generate(Req(Text), new SimRandom(1));
        Assert.Equal(Text, result.Text);
        Assert.Equal("stop", result.FinishReason);
        Assert.Equal(SharedTokenizers.O200k.CountTokens(Text), result.Tokens.Count);
    }

    [Fact]
    public void CutsToMaxTokensWithLength()
    {
        var result = Echo.Generate(Req(Text, max: 3), new SimRandom(1));
        Assert.Equal(["The", " quick", " brown"], result.Tokens);
        Assert.Equal("length", result.FinishReason);
    }

    [Fact]
    public void ExactlyMaxTokensIsLength()
    {
        int n = SharedTokenizers.O200k.CountTokens(Text);
        var result = Echo.Generate(Req(Text, max: n), new SimRandom(1));
        Assert.Equal(Text, result.Text);
        Assert.Equal("length", result.FinishReason);
    }

    [Fact]
    public void MoreRoomThanTextIsStop()
    {
        int n = SharedTokenizers.O200k.CountTokens(Text);
        var result = Echo.Generate(Req(Text, max: n + 5), new SimRandom(1));
        Assert.Equal(Text, result.Text);
        Assert.Equal("stop", result.FinishReason);
    }

    [Fact]
    public void IgnoreEosRepeatsToExactlyMaxTokens()
    {
        var result = Echo.Generate(Req("Hello world", max: 5, ignoreEos: true), new SimRandom(1));
        Assert.Equal(["Hello", " world", "Hello", " world", "Hello"], result.Tokens);
        Assert.Equal("length", result.FinishReason);
    }

    [Fact]
    public void IgnoreEosCutsLongText()
    {
        var result = Echo.Generate(Req(Text, max: 2, ignoreEos: true), new SimRandom(1));
        Assert.Equal(["The", " quick"], result.Tokens);
        Assert.Equal("length", result.FinishReason);
    }

    [Fact]
    public void EmptyTextGivesNoTokens()
    {
        var result = Echo.Generate(Req(string.Empty, max: 5, ignoreEos: true), new SimRandom(1));
        Assert.Empty(result.Tokens);
        Assert.Equal("stop", result.FinishReason);
    }

    [Fact]
    public void StopStringCutsBeforeEarliestOccurrence()
    {
        var result = Echo.Generate(Req(Text, null, false, "lazy", "fox"), new SimRandom(1));
        Assert.Equal("The quick brown ", result.Text);
        Assert.Equal("stop", result.FinishReason);
    }

    [Fact]
    public void StopStringInsideATokenKeepsThePrefixPiece()
    {
        var result = Echo.Generate(Req(Text, null, false, "ick"), new SimRandom(1));
        Assert.Equal(["The", " qu"], result.Tokens);
        Assert.Equal("stop", result.FinishReason);
    }

    [Fact]
    public void StopStringBeyondMaxTokensIsIgnored()
    {
        var result = Echo.Generate(Req(Text, 2, false, "dog"), new SimRandom(1));
        Assert.Equal("The quick", result.Text);
        Assert.Equal("length", result.FinishReason);
    }

    [Fact]
    public void EmptyStopStringsAreIgnored()
    {
        var result = Echo.Generate(Req(Text, null, false, string.Empty), new SimRandom(1));
        Assert.Equal(Text, result.Text);
    }

    [Fact]
    public void FactoryPicksEcho() =>
        Assert.IsType<EchoGenerator>(GeneratorFactory.Create(OrleansSim.Core.Configuration.SimulationMode.Echo, SharedTokenizers.O200k));
}
