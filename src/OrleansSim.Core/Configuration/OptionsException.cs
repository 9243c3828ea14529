namespace OrleansSim.Core.Configuration;

/// <summary>
/// A configuration mistake made by the user (bad flag, bad value, bad YAML file). Its
/// <see cref="Exception.Message"/> is a single line that names the flag in its <c>--flag</c> form
/// (or the configuration file and key) and says what is allowed.
/// </summary>
public sealed class OptionsException : Exception
{
    public OptionsException()
        : base("invalid configuration")
    {
    }

    public OptionsException(string message)
        : base(OneLine(message))
    {
    }

    public OptionsException(string message, Exception innerException)
        : base(OneLine(message), innerException)
    {
    }

    private static string OneLine(string message) =>
        message.Replace("\r\n", " ", StringComparison.Ordinal).Replace('\n', ' ').Replace('\r', ' ').Trim();
}
