using OrleansSim.Core.Configuration;
using OrleansSim.Core.Tokenization;

namespace OrleansSim.Core.Generation;

public static class GeneratorFactory
{
    /// <param name="mode">--mode.</param>
    /// <param name="tokenizer">The shared tokenizer.</param>
    /// <param name="maxModelLen">--max-model-len; bounds random output length when a request has no max_tokens.</param>
    public static ITextGenerator Create(SimulationMode mode, ISimTokenizer tokenizer, int maxModelLen = RandomGenerator.DefaultMaxModelLen) =>
        mode switch
        {
            SimulationMode.Echo => new EchoGenerator(tokenizer),
            SimulationMode.Random => new RandomGenerator(tokenizer, maxModelLen),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown simulation mode"),
        };
}
