using OrleansSim.Core.Configuration;
using Xunit;

namespace OrleansSim.Core.Tests.Configuration;

/// <summary>The README documents the flags the program really has: its Flags block is the current --help.</summary>
public sealed class ReadmeFlagsTests
{
    [Fact]
    public void ReadmeFlagsBlockIsTheCurrentHelpText()
    {
        var readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md")).ReplaceLineEndings("\n");
        var help = OptionsLoader.HelpText().ReplaceLineEndings("\n").Trim();
        Assert.Contains(help, readme, StringComparison.Ordinal);
        foreach (var flag in FlagTable.All)
        {
            Assert.Contains($"--{flag.Name}", readme, StringComparison.Ordinal);
        }
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansSim.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }
}
