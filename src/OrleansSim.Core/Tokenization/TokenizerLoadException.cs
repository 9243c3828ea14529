namespace OrleansSim.Core.Tokenization;

/// <summary>The tokenizer named by <c>--tokenizer</c> could not be loaded; the message is one line naming the path.</summary>
public sealed class TokenizerLoadException : Exception
{
    public TokenizerLoadException()
    {
    }

    public TokenizerLoadException(string message)
        : base(message)
    {
    }

    public TokenizerLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
