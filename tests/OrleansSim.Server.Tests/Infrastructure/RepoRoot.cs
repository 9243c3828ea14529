namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>The repository's root folder (the one holding OrleansSim.sln), found above the test binaries.</summary>
public static class RepoRoot
{
    private static readonly Lazy<string> Root = new(Find);

    public static string Path => Root.Value;

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "OrleansSim.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("OrleansSim.sln not found above " + AppContext.BaseDirectory);
    }
}
