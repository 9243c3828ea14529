using OrleansSim.Core.Generation.Dataset;
using OrleansSim.Core.Tokenization;

namespace OrleansSim.Ctl;

/// <summary><c>orleanssim-ctl dataset build</c>: recorded conversations → a dataset the server's <c>--dataset-path</c> reads.</summary>
public static class DatasetCommand
{
    public static int Run(ReadOnlySpan<string> args, string usage)
    {
        if (args.Length == 0 || args[0] != "build")
        {
            Console.Error.WriteLine($"error: expected 'dataset build'\n{usage}");
            return 2;
        }

        string? input = null, output = null, tokenizerPath = null;
        var table = DatasetSchema.DefaultTableName;
        for (var i = 1; i < args.Length; i++)
        {
            var (name, inline) = args[i].Split('=', 2) is [var n, var v] ? (n, v) : (args[i], null);
            if (inline is null && i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"error: {name} needs a value");
                return 2;
            }

            var value = inline ?? args[++i];
            switch (name)
            {
                case "--input": input = value; break;
                case "--output": output = value; break;
                case "--tokenizer": tokenizerPath = value; break;
                case "--table-name": table = value; break;
                default:
                    Console.Error.WriteLine($"error: unknown flag '{name}'");
                    return 2;
            }
        }

        if (input is null || output is null)
        {
            Console.Error.WriteLine("error: dataset build needs --input and --output");
            return 2;
        }

        try
        {
            var tokenizer = TokenizerFactory.Create(tokenizerPath);
            var conversations = DatasetBuilder.ReadConversations(File.ReadAllText(input));
            var rows = DatasetBuilder.ToRows(conversations, tokenizer);
            DatasetBuilder.Write(output, rows, table);
            Console.Out.WriteLine($"wrote {rows.Count} records from {conversations.Count} conversations to {output} (table {table}, tokenizer {tokenizer.Name})");
            return 0;
        }
        catch (Exception ex) when (ex is DatasetException or TokenizerLoadException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }
}
