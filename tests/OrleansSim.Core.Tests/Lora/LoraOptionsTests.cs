using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Lora;
using Xunit;

namespace OrleansSim.Core.Tests.Lora;

public sealed class LoraOptionsTests
{
    private static readonly Dictionary<string, string?> NoEnv = [];

    [Fact]
    public void LoraModulesTakeNamePathAndJsonForms()
    {
        var o = OptionsLoader.Load(
            ["--model", "base", "--lora-modules", "a=/adapters/a", """{"name":"b","path":"/adapters/b","base_model_name":"base"}""", "--max-loras", "2", "--max-cpu-loras", "4"],
            NoEnv);
        Assert.Equal([new LoraModule("a", "/adapters/a"), new LoraModule("b", "/adapters/b", "base")], o.LoraModules);
        Assert.Equal(2, o.MaxLoras);
        Assert.Equal(4, o.MaxCpuLoras);
    }

    [Fact]
    public void DefaultsAreNoAdaptersAndOneResident()
    {
        var o = OptionsLoader.Load(["--model", "base"], NoEnv);
        Assert.Empty(o.LoraModules);
        Assert.Equal(1, o.MaxLoras);
        Assert.Equal(0, o.MaxCpuLoras);
    }

    [Fact]
    public void StartupJsonListsTheAdapters()
    {
        var o = OptionsLoader.Load(["--model", "base", "--lora-modules", "a=/adapters/a"], NoEnv);
        using var json = JsonDocument.Parse(OptionsJson.Serialize(o));
        var first = json.RootElement.GetProperty("lora-modules")[0];
        Assert.Equal("a", first.GetProperty("name").GetString());
        Assert.Equal("/adapters/a", first.GetProperty("path").GetString());
        Assert.Equal(1, json.RootElement.GetProperty("max-loras").GetInt32());
    }

    [Fact]
    public void LoraModulesReadFromYaml()
    {
        var path = Path.Combine(Path.GetTempPath(), $"orleanssim-lora-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "model: base\nmax-loras: 3\nlora-modules:\n  - name: l\n    path: /p\n");
        try
        {
            var o = OptionsLoader.Load(["--config", path], NoEnv);
            Assert.Equal([new LoraModule("l", "/p")], o.LoraModules);
            Assert.Equal(3, o.MaxLoras);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MaxLorasBelowOneIsRejected() =>
        Assert.Throws<OptionsException>(() => OptionsLoader.Load(["--model", "base", "--max-loras", "0"], NoEnv));
}
