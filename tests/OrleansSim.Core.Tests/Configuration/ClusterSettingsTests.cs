using OrleansSim.Core.Configuration;
using Xunit;

namespace OrleansSim.Core.Tests.Configuration;

public sealed class ClusterSettingsTests
{
    private static readonly Dictionary<string, string?> NoEnv = [];

    private static SimulatorOptions Load(IReadOnlyDictionary<string, string?> env, params string[] args) =>
        OptionsLoader.Load(["--model", "m", .. args], env);

    [Fact]
    public void DefaultIsALocalhostClusterOfOneAdvertisingLoopback()
    {
        var o = Load(NoEnv);
        Assert.Equal(ClusterProvider.Localhost, o.ClusterProvider);
        Assert.Equal("", o.ClusterConnection);
        Assert.Equal("orleanssim", o.ClusterId);
        Assert.Equal("orleanssim", o.ServiceId);
        Assert.Equal("127.0.0.1", o.AdvertiseAddress);
    }

    [Fact]
    public void RedisProviderTakesConnectionAndIds()
    {
        var o = Load(NoEnv, "--cluster-provider", "redis", "--cluster-connection", "redis:6379", "--cluster-id", "c1", "--service-id", "s1");
        Assert.Equal(ClusterProvider.Redis, o.ClusterProvider);
        Assert.Equal("redis:6379", o.ClusterConnection);
        Assert.Equal("c1", o.ClusterId);
        Assert.Equal("s1", o.ServiceId);
    }

    [Fact]
    public void AdvertiseAddressFlagWinsOverPodIp()
    {
        var o = Load(new Dictionary<string, string?> { ["POD_IP"] = "10.1.2.3" },
            "--cluster-provider", "redis", "--cluster-connection", "redis:6379", "--advertise-address", "10.9.9.9");
        Assert.Equal("10.9.9.9", o.AdvertiseAddress);
    }

    [Fact]
    public void PodIpIsAdvertisedWithoutTheFlag()
    {
        var o = Load(new Dictionary<string, string?> { ["POD_IP"] = "10.1.2.3" }, "--cluster-provider", "redis", "--cluster-connection", "redis:6379");
        Assert.Equal("10.1.2.3", o.AdvertiseAddress);
    }

    [Theory]
    [InlineData("127.0.0.1:6379")]
    [InlineData("localhost:6379,abortConnect=false")]
    [InlineData("[::1]:6379")]
    public void LocalRedisAdvertisesLoopback(string connection)
    {
        var o = Load(NoEnv, "--cluster-provider", "redis", "--cluster-connection", connection);
        Assert.Equal("127.0.0.1", o.AdvertiseAddress);
    }

    [Fact]
    public void RemoteRedisNeverAdvertisesLoopback()
    {
        var o = Load(NoEnv, "--cluster-provider", "redis", "--cluster-connection", "redis.example:6379");
        Assert.Equal(o.PodIp, o.AdvertiseAddress);
        Assert.True(ClusterSettings.IsLocalConnection("localhost:6379,127.0.0.1:6380"));
        Assert.False(ClusterSettings.IsLocalConnection("localhost:6379,redis:6379"));
        Assert.Equal("192.0.2.7", ClusterSettings.AdvertiseAddress(
            new SimulatorOptions { ClusterProvider = ClusterProvider.Redis, ClusterConnection = "redis:6379", AdvertiseAddress = "" }, null, () => "192.0.2.7"));
    }

    [Theory]
    [InlineData("--cluster-connection is required with --cluster-provider redis", "--cluster-provider", "redis")]
    [InlineData("--cluster-connection needs --cluster-provider redis", "--cluster-connection", "redis:6379")]
    [InlineData("--cluster-provider must be 'localhost' or 'redis' (got 'etcd')", "--cluster-provider", "etcd")]
    [InlineData("--advertise-address must be an IP address (got 'pod-a')", "--advertise-address", "pod-a")]
    [InlineData("--cluster-id cannot be empty", "--cluster-id", "")]
    public void BadClusterFlagsAreRejected(string expected, params string[] args)
    {
        var ex = Assert.Throws<OptionsException>(() => Load(NoEnv, args));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StartupJsonShowsTheResolvedAdvertiseAddress()
    {
        var json = OptionsJson.Serialize(Load(NoEnv, "--cluster-provider", "redis", "--cluster-connection", "127.0.0.1:6379"));
        Assert.Contains("\"cluster-provider\": \"redis\"", json, StringComparison.Ordinal);
        Assert.Contains("\"advertise-address\": \"127.0.0.1\"", json, StringComparison.Ordinal);
    }
}
