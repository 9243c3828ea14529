using OrleansSim.Core.Tokenization;

namespace OrleansSim.Core.Tests.Tokenization;

/// <summary>Tokenizers loaded once for the whole test run (o200k_base takes a few hundred ms to load).</summary>
internal static class SharedTokenizers
{
    private static readonly Lazy<ISimTokenizer> LazyO200k = new(() => TokenizerFactory.Create(null));
    private static readonly Lazy<ISimTokenizer> LazySynthetic = new(() => TokenizerFactory.Create(SyntheticPath));

    public static ISimTokenizer O200k => LazyO200k.Value;

    public static ISimTokenizer Synthetic => LazySynthetic.Value;

    public static string SyntheticPath => Path.Combine(AppContext.BaseDirectory, "TestData", "tokenizer.json");
}
