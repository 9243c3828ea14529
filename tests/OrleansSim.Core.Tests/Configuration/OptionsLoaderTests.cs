using System.Text.Json;
using OrleansSim.Core.Configuration;
using Xunit;

namespace OrleansSim.Core.Tests.Configuration;

public sealed class OptionsLoaderTests : IDisposable
{
    private static readonly Dictionary<string, string?> NoEnv = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("orleanssim-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SimulatorOptions Load(params string[] args) => OptionsLoader.Load(args, NoEnv);

    private static OptionsException Fails(params string[] args) =>
        Assert.Throws<OptionsException>(() => OptionsLoader.Load(args, NoEnv));

    private string WriteYaml(string text)
    {
        string path = Path.Combine(_dir, $"config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    // ---------- defaults ----------

    [Fact]
    public void Defaults()
    {
        SimulatorOptions o = Load("--model", "m");
        Assert.Equal("m", o.Model);
        Assert.Equal(["m"], o.ServedModelNames);
        Assert.Equal("m", o.DisplayModelName);
        Assert.Equal("0.0.0.0", o.Host);
        Assert.Equal(8000, o.Port);
        Assert.Equal(SimulationMode.Random, o.Mode);
        Assert.Equal(5, o.MaxNumSeqs);
        Assert.Equal(1000, o.MaxWaitingQueueLength);
        Assert.Equal(1024, o.MaxModelLen);
        Assert.Equal(1, o.DataParallelSize);
        Assert.Equal(TimeSpan.FromSeconds(30), o.ShutdownTimeout);
        Assert.Null(o.Tokenizer);
        Assert.Null(o.ConfigFile);
        Assert.Null(o.HashSeed);
        Assert.Equal(TimeSpan.Zero, o.TimeToFirstToken);
        Assert.Equal(TimeSpan.Zero, o.InterTokenLatency);
        Assert.Equal(0, o.FailureInjectionRate);
        Assert.NotEqual(0, o.Seed);
        Assert.Equal(Environment.MachineName, o.PodName);
        Assert.Equal("default", o.PodNamespace);
        Assert.False(string.IsNullOrEmpty(o.PodIp));
        Assert.False(o.EmitPodHeaders);
    }

    [Fact]
    public void ConvenienceOverloadReadsProcessEnvironment()
    {
        SimulatorOptions o = OptionsLoader.Load(["--model", "m", "--port", "9000"]);
        Assert.Equal(9000, o.Port);
    }

    // ---------- syntax ----------

    [Fact]
    public void FlagSpaceValueAndFlagEqualsValue()
    {
        SimulatorOptions a = Load("--model", "m", "--max-num-seqs", "7", "--mode", "echo", "--seed", "42", "--host", "127.0.0.1");
        SimulatorOptions b = Load("--model=m", "--max-num-seqs=7", "--mode=echo", "--seed=42", "--host=127.0.0.1");
        foreach (SimulatorOptions o in new[] { a, b })
        {
            Assert.Equal("m", o.Model);
            Assert.Equal(7, o.MaxNumSeqs);
            Assert.Equal(SimulationMode.Echo, o.Mode);
            Assert.Equal(42, o.Seed);
            Assert.Equal("127.0.0.1", o.Host);
        }
    }

    [Fact]
    public void LastSingleValueWins()
    {
        Assert.Equal(9001, Load("--model", "m", "--port", "9000", "--port", "9001").Port);
    }

    [Fact]
    public void ServedModelNamesSpaceSeparated()
    {
        SimulatorOptions o = Load("--model", "m", "--served-model-name", "a", "b", "c", "--port", "9000");
        Assert.Equal(["a", "b", "c"], o.ServedModelNames);
        Assert.Equal("a", o.DisplayModelName);
        Assert.Equal(9000, o.Port);
    }

    [Fact]
    public void ServedModelNamesRepeatedAndEqualsForm()
    {
        SimulatorOptions o = Load("--served-model-name=a", "--model", "m", "--served-model-name", "b", "c", "--served-model-name=d");
        Assert.Equal(["a", "b", "c", "d"], o.ServedModelNames);
    }

    [Fact]
    public void ServedModelNamesSkipEmptyWords()
    {
        Assert.Equal(["a"], Load("--model", "m", "--served-model-name", "", "a").ServedModelNames);
    }

    [Fact]
    public void EqualsFormGivesOneValue()
    {
        OptionsException e = Fails("--model", "m", "--served-model-name=a", "b");
        Assert.Contains("unexpected argument 'b'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NegativeNumberIsAValueNotAFlag()
    {
        OptionsException e = Fails("--model", "m", "--max-num-seqs", "-3");
        Assert.StartsWith("--max-num-seqs", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingValue()
    {
        Assert.Contains("--port requires a value", Fails("--model", "m", "--port").Message, StringComparison.Ordinal);
        Assert.Contains("--port requires a value", Fails("--port", "--model", "m").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongValueTypeNamesTheFlag()
    {
        Assert.Equal("--max-num-seqs must be an integer (got 'abc')", Fails("--model", "m", "--max-num-seqs", "abc").Message);
        Assert.StartsWith("--time-to-first-token must be a duration", Fails("--model", "m", "--time-to-first-token", "soon").Message, StringComparison.Ordinal);
        Assert.StartsWith("--failure-injection-rate must be a number", Fails("--model", "m", "--failure-injection-rate", "x").Message, StringComparison.Ordinal);
    }

    // ---------- bools ----------

    [Fact]
    public void IgnoredBoolForms()
    {
        // enforce-eager / enable-prefix-caching are accepted and ignored; they exercise the bool syntax.
        Load("--model", "m", "--enforce-eager");
        Load("--model", "m", "--enforce-eager=true");
        Load("--model", "m", "--enforce-eager=false");
        Load("--model", "m", "--enable-prefix-caching", "--no-enable-prefix-caching");
        Assert.StartsWith("--enforce-eager must be a boolean", Fails("--model", "m", "--enforce-eager=maybe").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BoolNeverSwallowsTheNextWord()
    {
        OptionsException e = Fails("--model", "m", "--enforce-eager", "false");
        Assert.Equal("unexpected argument 'false'; boolean flags take a value only as --flag=value", e.Message);

        // ... but the next flag is read as a flag.
        Assert.Equal(9000, Load("--enforce-eager", "--port", "9000", "--model", "m").Port);
    }

    [Fact]
    public void NoFormDoesNotTakeAValue()
    {
        Assert.Contains("--no-enable-prefix-caching does not take a value", Fails("--model", "m", "--no-enable-prefix-caching=true").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoFormOnlyWhereVllmHasIt()
    {
        Assert.Equal("unknown flag --no-enforce-eager", Fails("--model", "m", "--no-enforce-eager").Message);
    }

    [Fact]
    public void StrayPositionalIsAnError()
    {
        Assert.Equal("unexpected argument 'hello'", Fails("--model", "m", "hello").Message);
    }

    [Fact]
    public void KlogVerbosityAndIgnoredVllmFlagsAreAccepted()
    {
        SimulatorOptions o = Load("--model", "m", "-v", "4", "--v=5", "--tensor-parallel-size", "2", "--mm-processor-kwargs", "{}",
            "--ec-transfer-config", "{}");
        Assert.Equal("m", o.Model);
    }

    // ---------- durations ----------

    [Theory]
    [InlineData("200", 200)]
    [InlineData("1.5", 1.5)]
    [InlineData("200ms", 200)]
    [InlineData("1.5s", 1500)]
    [InlineData("1m30s", 90_000)]
    [InlineData("500us", 0.5)]
    [InlineData("2h", 7_200_000)]
    [InlineData("0", 0)]
    public void Durations(string text, double expectedMs)
    {
        SimulatorOptions o = Load("--model", "m", "--inter-token-latency", text, "--time-to-first-token=" + text);
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), o.InterTokenLatency);
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), o.TimeToFirstToken);
    }

    [Fact]
    public void ShutdownTimeoutAndTokenizer()
    {
        SimulatorOptions o = Load("--model", "m", "--shutdown-timeout", "5s", "--tokenizer", "/tmp/tokenizer.json");
        Assert.Equal(TimeSpan.FromSeconds(5), o.ShutdownTimeout);
        Assert.Equal("/tmp/tokenizer.json", o.Tokenizer);
    }

    // ---------- precedence ----------

    [Fact]
    public void ModelPrecedenceCliEnvYamlDefault()
    {
        string yaml = WriteYaml("model: from-yaml\n");
        var env = new Dictionary<string, string?> { ["SIM_MODEL"] = "from-env" };

        Assert.Equal("from-cli", OptionsLoader.Load(["--config", yaml, "--model", "from-cli"], env).Model);
        Assert.Equal("from-env", OptionsLoader.Load(["--config", yaml], env).Model);
        Assert.Equal("from-yaml", OptionsLoader.Load(["--config", yaml], NoEnv).Model);
        Assert.Equal("from-yaml", OptionsLoader.Load(["--config", yaml], new Dictionary<string, string?> { ["SIM_MODEL"] = "" }).Model);
        Assert.Equal("from-env", OptionsLoader.Load([], env).Model);
    }

    [Fact]
    public void NumericPrecedenceCliYamlDefault()
    {
        string yaml = WriteYaml("model: m\nmax-num-seqs: 11\n");
        Assert.Equal(22, Load("--config", yaml, "--max-num-seqs", "22").MaxNumSeqs);
        Assert.Equal(22, Load("--max-num-seqs=22", "--config=" + yaml).MaxNumSeqs);
        Assert.Equal(11, Load("--config", yaml).MaxNumSeqs);
        Assert.Equal(5, Load("--model", "m").MaxNumSeqs);
        Assert.Equal(yaml, Load("--config", yaml).ConfigFile);
    }

    [Fact]
    public void HashSeedPrecedence()
    {
        string yaml = WriteYaml("model: m\nhash-seed: yaml\n");
        var env = new Dictionary<string, string?> { ["PYTHONHASHSEED"] = "env" };
        Assert.Equal("cli", OptionsLoader.Load(["--config", yaml, "--hash-seed", "cli"], env).HashSeed);
        Assert.Equal("env", OptionsLoader.Load(["--config", yaml], env).HashSeed);
        Assert.Equal("yaml", OptionsLoader.Load(["--config", yaml], NoEnv).HashSeed);
    }

    [Fact]
    public void YamlGivesAllTypes()
    {
        string yaml = WriteYaml("""
            model: m
            served-model-name: [a, b]
            port: 9100
            mode: echo
            seed: 123456789012
            max-model-len: 2048
            data-parallel-size: 2
            time-to-first-token: 1.5s
            time-to-first-token-std-dev: 100
            inter-token-latency: 20ms
            failure-injection-rate: 12.5
            shutdown-timeout: 1m30s
            tokenizer: tok.json
            enforce-eager: true
            """);
        SimulatorOptions o = Load("--config", yaml);
        Assert.Equal(["a", "b"], o.ServedModelNames);
        Assert.Equal(9100, o.Port);
        Assert.Equal(SimulationMode.Echo, o.Mode);
        Assert.Equal(123456789012, o.Seed);
        Assert.Equal(2048, o.MaxModelLen);
        Assert.Equal(2, o.DataParallelSize);
        Assert.Equal(TimeSpan.FromSeconds(1.5), o.TimeToFirstToken);
        Assert.Equal(TimeSpan.FromMilliseconds(100), o.TimeToFirstTokenStdDev);
        Assert.Equal(TimeSpan.FromMilliseconds(20), o.InterTokenLatency);
        Assert.Equal(12.5, o.FailureInjectionRate);
        Assert.Equal(TimeSpan.FromSeconds(90), o.ShutdownTimeout);
        Assert.Equal("tok.json", o.Tokenizer);
    }

    [Fact]
    public void YamlSingleStringForList()
    {
        string yaml = WriteYaml("model: m\nserved-model-name: alias\n");
        Assert.Equal(["alias"], Load("--config", yaml).ServedModelNames);
    }

    [Fact]
    public void CliListReplacesYamlList()
    {
        string yaml = WriteYaml("model: m\nserved-model-name: [a, b]\n");
        Assert.Equal(["c"], Load("--config", yaml, "--served-model-name", "c").ServedModelNames);
    }

    [Fact]
    public void EmptyYamlFileAndNullValuesAreAllowed()
    {
        Assert.Equal(5, Load("--model", "m", "--config", WriteYaml("")).MaxNumSeqs);
        Assert.Equal(5, Load("--model", "m", "--config", WriteYaml("max-num-seqs:\n")).MaxNumSeqs);
    }

    // ---------- validation ----------

    [Fact]
    public void MissingModel()
    {
        Assert.Equal("--model is required (or set SIM_MODEL)", Fails().Message);
        Assert.Equal("--model is required (or set SIM_MODEL)", Fails("--port", "9000").Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("70000")]
    [InlineData("-1")]
    public void PortOutOfRange(string port)
    {
        Assert.Equal($"--port must be between 1 and 65535 (got {port})", Fails("--model", "m", "--port", port).Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("9")]
    public void DataParallelSizeOutOfRange(string dp)
    {
        Assert.Equal($"--data-parallel-size must be between 1 and 8 (got {dp})", Fails("--model", "m", "--data-parallel-size", dp).Message);
    }

    [Fact]
    public void LastRankPortMustFit()
    {
        Load("--model", "m", "--port", "65534", "--data-parallel-size", "2");
        OptionsException e = Fails("--model", "m", "--port", "65535", "--data-parallel-size", "2");
        Assert.Contains("--port", e.Message, StringComparison.Ordinal);
        Assert.Contains("--data-parallel-size", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--max-num-seqs", "0", "--max-num-seqs cannot be less than 1 (got 0)")]
    [InlineData("--max-model-len", "0", "--max-model-len cannot be less than 1 (got 0)")]
    [InlineData("--max-waiting-queue-length", "-1", "--max-waiting-queue-length cannot be less than 0 (got -1)")]
    [InlineData("--failure-injection-rate", "101", "--failure-injection-rate must be between 0 and 100 (got 101)")]
    [InlineData("--failure-injection-rate", "-0.5", "--failure-injection-rate must be between 0 and 100 (got -0.5)")]
    [InlineData("--time-to-first-token", "-5", "--time-to-first-token cannot be negative (got -5ms)")]
    [InlineData("--inter-token-latency", "-1.5s", "--inter-token-latency cannot be negative (got -1.5s)")]
    [InlineData("--time-to-first-token-std-dev", "-5ms", "--time-to-first-token-std-dev cannot be negative (got -5ms)")]
    [InlineData("--shutdown-timeout", "-1s", "--shutdown-timeout cannot be negative (got -1s)")]
    [InlineData("--mode", "x", "--mode must be 'random' or 'echo' (got 'x')")]
    public void RangeErrors(string flag, string value, string message)
    {
        Assert.Equal(message, Fails("--model", "m", flag, value).Message);
    }

    [Fact]
    public void StdDevAtMost30PercentOfMean()
    {
        Load("--model", "m", "--time-to-first-token", "100ms", "--time-to-first-token-std-dev", "30ms");
        OptionsException e = Fails("--model", "m", "--time-to-first-token", "100ms", "--time-to-first-token-std-dev", "31ms");
        Assert.Equal("--time-to-first-token-std-dev cannot be more than 30% of --time-to-first-token (got 31ms, limit 30ms)", e.Message);

        e = Fails("--model", "m", "--inter-token-latency-std-dev", "1ms");
        Assert.StartsWith("--inter-token-latency-std-dev cannot be more than 30% of --inter-token-latency", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--foo")]
    [InlineData("--foo=bar")]
    public void UnknownFlag(string arg)
    {
        Assert.Equal("unknown flag --foo", Fails("--model", "m", arg).Message);
    }

    [Fact]
    public void UnknownShortFlag()
    {
        Assert.Equal("unknown flag -x", Fails("--model", "m", "-x").Message);
    }

    [Fact]
    public void UnreadableYaml()
    {
        string missing = Path.Combine(_dir, "missing.yaml");
        OptionsException e = Fails("--model", "m", "--config", missing);
        Assert.StartsWith($"failed to read configuration file '{missing}'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void MalformedYaml()
    {
        string path = WriteYaml("model: [unclosed\nport: 1\n");
        OptionsException e = Fails("--config", path);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void InvalidYamlSyntaxNamesFileAndLine()
    {
        string path = WriteYaml("model: m\nport: 'unclosed\n");
        OptionsException e = Fails("--config", path);
        Assert.StartsWith($"failed to parse configuration file '{path}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("line", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void YamlTopLevelMustBeAMapping()
    {
        string path = WriteYaml("- a\n- b\n");
        Assert.Contains(path, Fails("--config", path).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongYamlType()
    {
        string path = WriteYaml("model: m\nmax-num-seqs: abc\n");
        Assert.Equal($"configuration file '{path}': key 'max-num-seqs' must be an integer (got 'abc')", Fails("--config", path).Message);

        path = WriteYaml("model: m\nport: [1, 2]\n");
        Assert.Equal($"configuration file '{path}': key 'port' must be an integer (got a list)", Fails("--config", path).Message);

        path = WriteYaml("model: m\nserved-model-name: {a: b}\n");
        Assert.Contains("key 'served-model-name' must be a list of strings", Fails("--config", path).Message, StringComparison.Ordinal);

        path = WriteYaml("model: m\ntime-to-first-token: soon\n");
        Assert.Contains("key 'time-to-first-token' must be a duration", Fails("--config", path).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownYamlKey()
    {
        string path = WriteYaml("model: m\nmax-num-seq: 3\n");
        Assert.Equal($"configuration file '{path}': unknown key 'max-num-seq'", Fails("--config", path).Message);

        path = WriteYaml("model: m\nconfig: other.yaml\n");
        Assert.Equal($"configuration file '{path}': unknown key 'config'", Fails("--config", path).Message);
    }

    [Fact]
    public void YamlValuesAreValidatedWithFlagNames()
    {
        string path = WriteYaml("model: m\ndata-parallel-size: 9\n");
        Assert.Equal("--data-parallel-size must be between 1 and 8 (got 9)", Fails("--config", path).Message);
    }

    [Fact]
    public void EmptyEnvValuesCountAsAbsent()
    {
        var env = new Dictionary<string, string?> { ["SIM_MODEL"] = "", ["PYTHONHASHSEED"] = "" };
        Assert.Throws<OptionsException>(() => OptionsLoader.Load([], env));
    }

    [Fact]
    public void DatasetFlagsLoad()
    {
        SimulatorOptions o = Load("--model", "m");
        Assert.Equal((null, null, false, "llmd"), (o.DatasetPath, o.DatasetUrl, o.DatasetInMemory, o.DatasetTableName));
        o = Load("--model", "m", "--dataset-path", "/data/d.sqlite", "--dataset-url", "http://host/d.sqlite", "--dataset-in-memory", "--dataset-table-name", "chats");
        Assert.Equal(("/data/d.sqlite", "http://host/d.sqlite", true, "chats"), (o.DatasetPath, o.DatasetUrl, o.DatasetInMemory, o.DatasetTableName));
        Assert.StartsWith("--dataset-table-name must be a plain SQL identifier", Fails("--model", "m", "--dataset-table-name", "x; DROP").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VllmDropInFlagsLoad()
    {
        SimulatorOptions o = Load("--model", "m");
        Assert.False(o.EnableRequestIdHeaders);
        Assert.False(o.EnableForceIncludeUsage);
        o = Load("--model", "m", "--enable-request-id-headers", "--enable-force-include-usage");
        Assert.True(o.EnableRequestIdHeaders);
        Assert.True(o.EnableForceIncludeUsage);
        string path = WriteYaml("model: m\nenable-force-include-usage: true\nenable-request-id-headers: true\n");
        o = Load("--config", path, "--enable-request-id-headers=false");
        Assert.False(o.EnableRequestIdHeaders);
        Assert.True(o.EnableForceIncludeUsage);
    }

    // ---------- not supported yet ----------

    [Theory]
    [InlineData("--global-cache-hit-threshold", "0.5")]
    [InlineData("--startup-duration", "1s")]
    [InlineData("--log-http")]
    public void NotSupportedYetOnCommandLine(params string[] args)
    {
        OptionsException e = Fails(["--model", "m", .. args]);
        Assert.Equal($"{args[0].Split('=')[0].Replace("--no-", "--", StringComparison.Ordinal)} is not supported yet", e.Message);
    }

    [Theory]
    [InlineData(new[] { "--enable-sleep-mode" }, "1", true)]
    [InlineData(new[] { "--enable-sleep-mode" }, "7", true)]
    [InlineData(new[] { "--enable-sleep-mode" }, "0", false)]
    [InlineData(new[] { "--enable-sleep-mode" }, null, false)]
    [InlineData(new[] { "--enable-sleep-mode", "--no-enable-sleep-mode" }, "1", false)]
    [InlineData(new string[0], "1", false)]
    public void SleepEndpointsNeedTheFlagAndVllmServerDevMode(string[] flags, string? devMode, bool served)
    {
        var env = new Dictionary<string, string?> { ["VLLM_SERVER_DEV_MODE"] = devMode };
        SimulatorOptions o = OptionsLoader.Load(["--model", "m", .. flags], env);
        Assert.Equal(served, o.ServesSleepEndpoints);
        Assert.Equal(devMode is not null && devMode != "0", o.ServerDevMode);
    }

    [Fact]
    public void VllmServerDevModeMustBeAnInteger()
    {
        var env = new Dictionary<string, string?> { ["VLLM_SERVER_DEV_MODE"] = "yes" };
        var e = Assert.Throws<OptionsException>(() => OptionsLoader.Load(["--model", "m"], env));
        Assert.Equal("VLLM_SERVER_DEV_MODE must be an integer (got 'yes')", e.Message);
    }

    [Fact]
    public void KvCacheAndLatencyFlags()
    {
        string path = WriteYaml("model: m\nenable-kvcache: true\nblock-size: 32\nkv-cache-size: 100\nzmq-endpoint: tcp://10.0.0.1:6000\n");
        SimulatorOptions o = Load("--config", path, "--zmq-bind", "--event-batch-size", "4", "--kv-events-replay-endpoint", "tcp://*:6100",
            "--kv-events-replay-queue-size", "8", "--latency-calculator", "per-token", "--prefill-overhead", "5ms",
            "--prefill-time-per-token", "1ms", "--prefill-time-std-dev", "1ms", "--time-factor-under-load", "2.5");
        Assert.True(o.EnableKvCache);
        Assert.Equal((32, 100, "tcp://10.0.0.1:6000", true, 4), (o.BlockSize, o.KvCacheSize, o.ZmqEndpoint, o.ZmqBind, o.EventBatchSize));
        Assert.Equal(("tcp://*:6100", 8), (o.KvEventsReplayEndpoint, o.KvEventsReplayQueueSize));
        Assert.Equal(("per-token", TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(1), 2.5), (o.LatencyCalculator, o.PrefillOverhead, o.PrefillTimePerToken, o.TimeFactorUnderLoad));
        Assert.False(o.KvEventsMapFormat);
        Assert.True(Load("--model", "m", "--kv-events-format", "map").KvEventsMapFormat);
        Assert.True(Load("--model", "m", "--use-vllm-map-event-format").KvEventsMapFormat);
        Assert.Equal("--kv-events-format must be 'array' or 'map' (got 'json')", Fails("--model", "m", "--kv-events-format", "json").Message);
    }

    [Fact]
    public void NotSupportedYetInYaml()
    {
        string path = WriteYaml("model: m\nglobal-cache-hit-threshold: 0.5\n");
        Assert.Equal("--global-cache-hit-threshold is not supported yet", Fails("--config", path).Message);

        path = WriteYaml("model: m\nstartup-duration: 1s\n");
        Assert.Equal("--startup-duration is not supported yet", Fails("--config", path).Message);
    }

    [Fact]
    public void TlsAndAdminTokenFlags()
    {
        string path = WriteYaml("model: m\nssl-certfile: c.pem\nssl-keyfile: k.pem\n");
        SimulatorOptions o = Load("--config", path);
        Assert.Equal(("c.pem", "k.pem", false, true), (o.SslCertFile, o.SslKeyFile, o.SelfSignedCerts, o.UsesTls));
        o = Load("--model", "m", "--self-signed-certs");
        Assert.Equal((null, true, true), (o.SslCertFile, o.SelfSignedCerts, o.UsesTls));
        Assert.False(Load("--model", "m").UsesTls);

        Assert.Null(Load("--model", "m").AdminToken);
        Assert.Equal("s3cret", Load("--model", "m", "--admin-token", "s3cret").AdminToken);
        var env = new Dictionary<string, string?> { ["ORLEANSSIM_ADMIN_TOKEN"] = "from-env" };
        Assert.Equal("from-env", OptionsLoader.Load(["--model", "m"], env).AdminToken);
        Assert.Equal("cli", OptionsLoader.Load(["--model", "m", "--admin-token", "cli"], env).AdminToken);
        // The startup JSON never shows the token itself.
        string json = OptionsJson.Serialize(Load("--model", "m", "--admin-token", "s3cret"));
        Assert.DoesNotContain("s3cret", json, StringComparison.Ordinal);
        Assert.Contains("\"admin-token\": \"(redacted)\"", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--block-size", "7", "--block-size must be one of 8, 16, 32, 64, 128 (got 7)")]
    [InlineData("--max-loras", "0", "--max-loras cannot be less than 1 (got 0)")]
    [InlineData("--kv-cache-size", "-1", "--kv-cache-size cannot be negative (got -1)")]
    [InlineData("--event-batch-size", "0", "--event-batch-size cannot be less than 1 (got 0)")]
    [InlineData("--global-cache-hit-threshold", "1.5", "--global-cache-hit-threshold must be between 0 and 1 (got 1.5)")]
    [InlineData("--latency-calculator", "fast", "--latency-calculator must be 'constant', 'per-token' or 'step' (got 'fast')")]
    [InlineData("--time-factor-under-load", "0.5", "--time-factor-under-load cannot be less than 1 (got 0.5)")]
    [InlineData("--max-request-body-size-mb", "513", "--max-request-body-size-mb must be between 1 and 512 (got 513)")]
    [InlineData("--data-parallel-rank", "8", "--data-parallel-rank must be between 0 and 7, or -1 for all ranks (got 8)")]
    [InlineData("--fake-metrics-refresh-interval", "0", "--fake-metrics-refresh-interval must be positive (got 0s)")]
    [InlineData("--image-emission-rate", "200", "--image-emission-rate must be between 0 and 100 (got 200)")]
    [InlineData("--tool-call-extra-call-probability", "101", "--tool-call-extra-call-probability must be between 0 and 100 (got 101)")]
    public void NotSupportedFlagsAreStillValidatedFirst(string flag, string value, string message)
    {
        Assert.Equal(message, Fails("--model", "m", flag, value).Message);
    }

    [Fact]
    public void ToolCallFlagsSetTheGeneratorKnobs()
    {
        var o = Load("--model", "m", "--min-tool-call-integer-param", "-5", "--max-tool-call-integer-param", "5", "--min-tool-call-number-param", "0.5",
            "--max-tool-call-number-param", "1.5", "--min-tool-call-array-param-length", "0", "--max-tool-call-array-param-length", "2",
            "--tool-call-not-required-param-probability", "10", "--object-tool-call-not-required-field-probability", "20",
            "--tool-call-extra-call-probability", "30", "--skip-tool-validation");
        Assert.Equal(new OrleansSim.Core.Generation.Tools.ToolCallKnobs
        {
            MinIntegerParam = -5,
            MaxIntegerParam = 5,
            MinNumberParam = 0.5,
            MaxNumberParam = 1.5,
            MinArrayParamLength = 0,
            MaxArrayParamLength = 2,
            NotRequiredParamProbability = 10,
            ObjectNotRequiredFieldProbability = 20,
            ExtraCallProbability = 30,
        }, o.ToolCalls);
        Assert.True(o.SkipToolValidation);
        Assert.Equal(new OrleansSim.Core.Generation.Tools.ToolCallKnobs(), Load("--model", "m").ToolCalls);
        Assert.False(Load("--model", "m").SkipToolValidation);
        var path = WriteYaml("model: m\ntool-call-extra-call-probability: 70\nskip-tool-validation: true\n");
        Assert.Equal(70, Load("--config", path).ToolCalls.ExtraCallProbability);
    }

    [Fact]
    public void StepCalculatorFlagsLoadTheProfileAndNameABadKey()
    {
        var path = WriteYaml("name: tiny\noverhead-ms: 2.5\n");
        var options = Load("--model", "m", "--latency-calculator", "step", "--max-num-batched-tokens", "512", "--long-prefill-token-threshold", "64", "--step-profile", path);
        Assert.True(options.EngineClock);
        Assert.Equal(512, options.MaxNumBatchedTokens);
        Assert.Equal(64, options.LongPrefillTokenThreshold);
        Assert.Equal("tiny", options.StepProfile.Name);
        Assert.Equal(TimeSpan.FromMilliseconds(2.5), options.StepProfile.Overhead);
        Assert.Equal(8192, Load("--model", "m").MaxNumBatchedTokens);
        Assert.False(Load("--model", "m").EngineClock);

        var bad = WriteYaml("overhead-ms: soon\n");
        Assert.Contains("'overhead-ms' must be a non-negative number of milliseconds", Fails("--model", "m", "--step-profile", bad).Message, StringComparison.Ordinal);
        Assert.Equal("--max-num-batched-tokens cannot be less than 1 (got 0)", Fails("--model", "m", "--max-num-batched-tokens", "0").Message);
    }

    [Fact]
    public void NotSupportedCrossFlagRules()
    {
        Assert.Contains("invalid_type", Fails("--model", "m", "--failure-types", "rate_limit", "invalid_type").Message, StringComparison.Ordinal);
        Assert.Equal("--ssl-certfile and --ssl-keyfile must be provided together", Fails("--model", "m", "--ssl-certfile", "c.pem").Message);
        Assert.StartsWith("--self-signed-certs cannot be used", Fails("--model", "m", "--ssl-certfile", "c", "--ssl-keyfile", "k", "--self-signed-certs").Message, StringComparison.Ordinal);
        Assert.Equal("--dataset-path is required when --dataset-url is set", Fails("--model", "m", "--dataset-url", "http://x").Message);
        Assert.StartsWith("--max-cpu-loras cannot be less than --max-loras", Fails("--model", "m", "--max-loras", "3", "--max-cpu-loras", "2").Message, StringComparison.Ordinal);
        Assert.StartsWith("--max-tool-call-integer-param cannot be less than --min-tool-call-integer-param", Fails("--model", "m", "--min-tool-call-integer-param", "10", "--max-tool-call-integer-param", "5").Message, StringComparison.Ordinal);
        Assert.StartsWith("--lora-modules entry has an empty name", Fails("--model", "m", "--lora-modules", "{\"path\":\"/p\"}").Message, StringComparison.Ordinal);
        Assert.StartsWith("--lora-modules: unknown base model 'other'", Fails("--model", "m", "--lora-modules", "{\"name\":\"l\",\"base_model_name\":\"other\"}").Message, StringComparison.Ordinal);
        Assert.StartsWith("--lora-modules must be", Fails("--model", "m", "--lora-modules", "nonsense").Message, StringComparison.Ordinal);
        Assert.Equal("--fake-metrics running-requests cannot be negative (got -1)", Fails("--model", "m", "--fake-metrics", "{\"running-requests\":-1}").Message);
        Assert.StartsWith("dataset cannot be defined in echo mode", Fails("--model", "m", "--mode", "echo", "--dataset-path", "d.db").Message, StringComparison.Ordinal);
        Assert.Contains("ports collide", Fails("--model", "m", "--kv-events-replay-endpoint", "tcp://*:5558", "--data-parallel-size", "2").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryFlagHasAConsistentTableEntry()
    {
        foreach (FlagDefinition def in FlagTable.All)
        {
            if (def.Status == FlagStatus.Supported)
            {
                Assert.NotNull(def.Apply);
                Assert.NotNull(def.Read);
            }
            else
            {
                Assert.Null(def.Apply);
            }
        }

        Assert.Equal(FlagTable.All.Count, FlagTable.ByName.Count);
    }

    // ---------- pod env ----------

    [Fact]
    public void PodEnvironment()
    {
        var env = new Dictionary<string, string?> { ["POD_NAME"] = "pod-1", ["POD_NAMESPACE"] = "ns", ["POD_IP"] = "10.0.0.7" };
        SimulatorOptions o = OptionsLoader.Load(["--model", "m"], env);
        Assert.Equal("pod-1", o.PodName);
        Assert.Equal("ns", o.PodNamespace);
        Assert.Equal("10.0.0.7", o.PodIp);
        Assert.True(o.EmitPodHeaders);

        Assert.True(OptionsLoader.Load(["--model", "m"], new Dictionary<string, string?> { ["POD_NAMESPACE"] = "ns" }).EmitPodHeaders);
        Assert.True(OptionsLoader.Load(["--model", "m"], new Dictionary<string, string?> { ["POD_NAME"] = "p" }).EmitPodHeaders);
        Assert.False(OptionsLoader.Load(["--model", "m"], new Dictionary<string, string?> { ["POD_IP"] = "10.0.0.7", ["POD_NAME"] = "" }).EmitPodHeaders);
    }

    // ---------- help ----------

    [Fact]
    public void HelpListsEveryFlag()
    {
        string help = OptionsLoader.HelpText();
        foreach (FlagDefinition def in FlagTable.All)
        {
            Assert.Contains("--" + def.Name, help, StringComparison.Ordinal);
        }

        Assert.Contains("--no-enable-sleep-mode", help, StringComparison.Ordinal);
        Assert.Contains("not supported yet", help, StringComparison.Ordinal);
        Assert.Contains("no effect", help, StringComparison.Ordinal);
        Assert.Contains("(default: 8000)", help, StringComparison.Ordinal);
        Assert.Contains("(default: 30s)", help, StringComparison.Ordinal);
        Assert.True(OptionsLoader.IsHelpRequested(["--model", "m", "--help"]));
        Assert.False(OptionsLoader.IsHelpRequested(["--model", "m"]));
    }

    // ---------- JSON ----------

    [Fact]
    public void JsonUsesFlagNames()
    {
        var env = new Dictionary<string, string?> { ["POD_NAME"] = "pod-1" };
        SimulatorOptions o = OptionsLoader.Load(
            ["--model", "m", "--served-model-name", "a", "b", "--mode", "echo", "--time-to-first-token", "200ms", "--inter-token-latency", "1.5s", "--seed", "7"],
            env);
        string json = OptionsJson.Serialize(o);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;

        foreach (string key in new[]
        {
            "config", "host", "port", "model", "served-model-name", "mode", "seed", "max-num-seqs", "max-waiting-queue-length",
            "max-model-len", "data-parallel-size", "shutdown-timeout", "tokenizer", "time-to-first-token", "time-to-first-token-std-dev",
            "inter-token-latency", "inter-token-latency-std-dev", "failure-injection-rate", "hash-seed",
            "pod-name", "pod-namespace", "pod-ip", "emit-pod-headers",
        })
        {
            Assert.True(root.TryGetProperty(key, out _), key);
        }

        Assert.Equal("m", root.GetProperty("model").GetString());
        Assert.Equal("echo", root.GetProperty("mode").GetString());
        Assert.Equal("200ms", root.GetProperty("time-to-first-token").GetString());
        Assert.Equal("1.5s", root.GetProperty("inter-token-latency").GetString());
        Assert.Equal("30s", root.GetProperty("shutdown-timeout").GetString());
        Assert.Equal("0s", root.GetProperty("inter-token-latency-std-dev").GetString());
        Assert.Equal(8000, root.GetProperty("port").GetInt32());
        Assert.Equal(7, root.GetProperty("seed").GetInt64());
        Assert.Equal(["a", "b"], root.GetProperty("served-model-name").EnumerateArray().Select(e => e.GetString()).ToArray());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("tokenizer").ValueKind);
        Assert.Equal("pod-1", root.GetProperty("pod-name").GetString());
        Assert.True(root.GetProperty("emit-pod-headers").GetBoolean());
        Assert.Contains('\n', json);
    }

    [Fact]
    public void FailureTypesAreAListFromTheCommandLineOrYaml()
    {
        Assert.Equal(["rate_limit", "server_error"], Load("--model", "m", "--failure-types", "rate_limit", "server_error").FailureTypes);
        string path = WriteYaml("model: m\nfailure-injection-rate: 25\nfailure-types:\n  - invalid_api_key\n");
        SimulatorOptions o = Load("--config", path);
        Assert.Equal(["invalid_api_key"], o.FailureTypes);
        Assert.Equal(25, o.FailureInjectionRate);
        Assert.Empty(Load("--model", "m").FailureTypes);
    }
}
