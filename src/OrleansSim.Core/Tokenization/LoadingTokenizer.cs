namespace OrleansSim.Core.Tokenization;

/// <summary>
/// A tokenizer that loads on a worker thread while the host is being built: the o200k_base ranks or a
/// tokenizer.json take a tenth of start-up's CPU, which overlaps with Orleans' and ASP.NET Core's own start-up on
/// a second core. The process awaits <see cref="Loaded"/> before it listens; a call made earlier waits for the load.
/// </summary>
public sealed class LoadingTokenizer : ISimTokenizer
{
    private readonly Task<ISimTokenizer> _load;

    /// <param name="name">The loaded tokenizer's <see cref="ISimTokenizer.Name"/>, known before it loads.</param>
    /// <param name="load">Builds the tokenizer; may throw <see cref="TokenizerLoadException"/>.</param>
    public LoadingTokenizer(string name, Func<ISimTokenizer> load)
    {
        Name = name;
        _load = Task.Run(load);
    }

    public string Name { get; }

    /// <summary>Completes when the tokenizer is ready; faults with the load's exception.</summary>
    public Task Loaded => _load;

    private ISimTokenizer Inner => _load.IsCompletedSuccessfully ? _load.Result : _load.GetAwaiter().GetResult();

    public bool IsKnownTokenId(int id) => Inner.IsKnownTokenId(id);

    public IReadOnlyList<int> Encode(string text) => Inner.Encode(text);

    public int CountTokens(string text) => Inner.CountTokens(text);

    public string Decode(IReadOnlyList<int> ids) => Inner.Decode(ids);

    public IReadOnlyList<string> SplitTokens(string text) => Inner.SplitTokens(text);

    public string RenderChat(IReadOnlyList<PromptMessage> messages) => Inner.RenderChat(messages);
}
