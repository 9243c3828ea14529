using System.Collections;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace OrleansSim.Core.Configuration;

/// <summary>
/// Builds <see cref="SimulatorOptions"/> from the command line, the environment and an optional YAML file
/// (<c>--config</c>), in that order of precedence, then the defaults. Everything is driven by <see cref="FlagTable"/>.
/// </summary>
/// <remarks>
/// <para>Syntax: <c>--flag value</c> or <c>--flag=value</c>. A boolean flag alone means true and takes a value
/// only as <c>--flag=value</c>; it never consumes the next word. Multi-value flags read words up to the next
/// <c>--</c> word, and repeating them appends. <c>--no-X</c> sets X false where vLLM has that form.</para>
/// <para>vLLM flags that llm-d-inference-sim ignores (<c>--enforce-eager</c>, <c>--tensor-parallel-size</c>,
/// <c>--enable-prefix-caching</c>, <c>--mm-processor-kwargs</c>, <c>--ec-transfer-config</c>) and klog's
/// <c>-v</c>/<c>--v</c> are accepted, type-checked and have no effect.</para>
/// <para>Flags of features that are not built yet are recognised and validated, and then rejected with
/// "--X is not supported yet" if they are given at all.</para>
/// <para><c>--help</c> is not handled here: the server checks for it and prints <see cref="HelpText"/>.</para>
/// </remarks>
public static class OptionsLoader
{
    /// <summary>Loads with the process environment.</summary>
    public static SimulatorOptions Load(string[] args)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = e.Value as string;
        }

        return Load(args, env);
    }

    /// <summary>Loads from <paramref name="args"/> and <paramref name="environment"/>; throws <see cref="OptionsException"/> on any user error.</summary>
    public static SimulatorOptions Load(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment)
    {
        Dictionary<string, object> cli = ParseCommandLine(args);

        var env = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (FlagDefinition def in FlagTable.All)
        {
            if (def.EnvVar is { } name && EnvValue(environment, name) is { } text)
            {
                if (!FlagValues.TryParse(def.Kind, text, out object value))
                {
                    throw new OptionsException($"{name} (for --{def.Name}) must be {FlagValues.Expected(def.Kind)} (got '{text}')");
                }

                env[def.Name] = value;
            }
        }

        Dictionary<string, object> yaml = cli.TryGetValue("config", out object? configPath) && configPath is string { Length: > 0 } path
            ? YamlConfigReader.Read(path)
            : new Dictionary<string, object>(StringComparer.Ordinal);

        var sources = new Sources(cli, env, yaml);
        Validate(sources);

        foreach (FlagDefinition def in FlagTable.All)
        {
            if (def.Status == FlagStatus.NotSupportedYet && sources.IsGiven(def))
            {
                throw new OptionsException($"--{def.Name} is not supported yet");
            }
        }

        var options = new SimulatorOptions();
        foreach (FlagDefinition def in FlagTable.All)
        {
            if (def.Status == FlagStatus.Supported && def.Apply is { } apply)
            {
                options = apply(options, sources.Get(def));
            }
        }

        if (options.ServedModelNames.Count == 0)
        {
            options = options with { ServedModelNames = [options.Model] };
        }

        string? podName = EnvValue(environment, "POD_NAME");
        string? podNamespace = EnvValue(environment, "POD_NAMESPACE");
        string? podIp = EnvValue(environment, "POD_IP");
        return options with
        {
            ServerDevMode = DevMode(EnvValue(environment, "VLLM_SERVER_DEV_MODE")),
            PodName = podName ?? Environment.MachineName,
            PodNamespace = podNamespace ?? "default",
            PodIp = podIp ?? DetectIPv4(),
            EmitPodHeaders = podName is not null || podNamespace is not null,
            AdvertiseAddress = ClusterSettings.AdvertiseAddress(options, podIp, DetectIPv4),
        };
    }

    /// <summary>True when the command line asks for help (<c>--help</c> or <c>-h</c>); the server then prints <see cref="HelpText"/>.</summary>
    public static bool IsHelpRequested(IReadOnlyList<string> args) => args.Any(a => a is "--help" or "-h");

    /// <summary>Usage text listing every flag with its type, default and meaning, generated from the flag table.</summary>
    public static string HelpText()
    {
        var sb = new StringBuilder();
        sb.AppendLine("Usage: OrleansSim --model NAME [flags]");
        sb.AppendLine();
        sb.AppendLine("Flags take '--flag value' or '--flag=value'. Booleans: '--flag' alone is true, otherwise only '--flag=false'.");
        sb.AppendLine("Multi-value flags (list) take several words ('--served-model-name a b') or repeat.");
        sb.AppendLine("Durations: '200ms', '1.5s', '1m30s', or a plain number of milliseconds.");
        sb.AppendLine("Precedence: command line > environment > --config YAML file (same keys) > default.");
        sb.AppendLine();
        sb.AppendLine("Flags:");
        foreach (FlagDefinition def in FlagTable.All)
        {
            string names = def.Name == "v" ? "-v, --v" : "--" + def.Name + (def.HasNoForm ? ", --no-" + def.Name : "");
            sb.Append("  ").Append(names).Append(' ').AppendLine(TypeName(def.Kind));
            sb.Append("        ").Append(def.Help).Append(" (default: ").Append(DefaultText(def)).Append(')');
            if (def.EnvVar is { } envVar)
            {
                sb.Append(" [env ").Append(envVar).Append(']');
            }

            sb.AppendLine(def.Status switch
            {
                FlagStatus.NotSupportedYet => " [not supported yet]",
                FlagStatus.Ignored => " [accepted for vLLM compatibility; no effect]",
                _ => "",
            });
        }

        sb.AppendLine("  -h, --help");
        sb.AppendLine("        print this help and exit");
        sb.AppendLine();
        sb.AppendLine("Environment:");
        sb.AppendLine("  POD_NAME, POD_NAMESPACE   pod identity; when either is set responses carry x-inference-* headers");
        sb.AppendLine("  VLLM_SERVER_DEV_MODE      1 serves vLLM's development endpoints: /sleep, /wake_up, /is_sleeping (with --enable-sleep-mode)");
        sb.AppendLine("  POD_IP                    pod address (default: first non-loopback IPv4 address); the silo advertises it in a cluster");
        sb.AppendLine("  OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*   OpenTelemetry SDK settings of the span exporter");
        return sb.ToString();
    }

    private static string TypeName(FlagKind kind) => kind switch
    {
        FlagKind.String => "string",
        FlagKind.Int => "int",
        FlagKind.Long => "int64",
        FlagKind.Double => "float",
        FlagKind.Bool => "bool",
        FlagKind.Duration => "duration",
        FlagKind.StringList => "list",
        FlagKind.JsonObject => "json",
        FlagKind.JsonObjectList => "json list",
        _ => kind.ToString(),
    };

    private static string DefaultText(FlagDefinition def) => def.DefaultText ?? def.Default switch
    {
        null => "none",
        string s => s.Length == 0 ? "\"\"" : s,
        TimeSpan t => DurationText.Format(t),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => def.Default.ToString() ?? "",
    };

    /// <summary>vLLM reads <c>VLLM_SERVER_DEV_MODE</c> as <c>bool(int(value))</c>: any non-zero integer turns it on.</summary>
    private static bool DevMode(string? text)
    {
        if (text is null)
        {
            return false;
        }

        return long.TryParse(text.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long value)
            ? value != 0
            : throw new OptionsException($"VLLM_SERVER_DEV_MODE must be an integer (got '{text}')");
    }

    private static string? EnvValue(IReadOnlyDictionary<string, string?> environment, string name) =>
        environment.TryGetValue(name, out string? value) && !string.IsNullOrEmpty(value) ? value : null;

    private static Dictionary<string, object> ParseCommandLine(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        bool afterBareBool = false;
        int i = 0;
        while (i < args.Count)
        {
            string arg = args[i++];
            string dashes;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2)
            {
                dashes = "--";
            }
            else if (arg.StartsWith('-') && arg.Length > 1 && !char.IsAsciiDigit(arg[1]) && arg[1] != '.')
            {
                dashes = "-";
            }
            else
            {
                throw new OptionsException(afterBareBool
                    ? $"unexpected argument '{arg}'; boolean flags take a value only as --flag=value"
                    : $"unexpected argument '{arg}'");
            }

            string body = arg[dashes.Length..];
            int eq = body.IndexOf('=', StringComparison.Ordinal);
            string name = eq < 0 ? body : body[..eq];
            string? inline = eq < 0 ? null : body[(eq + 1)..];
            afterBareBool = false;

            if (dashes == "-" && name != "v")
            {
                throw new OptionsException($"unknown flag -{name}");
            }

            if (!FlagTable.ByName.TryGetValue(name, out FlagDefinition? def))
            {
                if (name.StartsWith("no-", StringComparison.Ordinal)
                    && FlagTable.ByName.TryGetValue(name[3..], out FlagDefinition? positive)
                    && positive.HasNoForm)
                {
                    if (inline is not null)
                    {
                        throw new OptionsException($"--{name} does not take a value");
                    }

                    values[positive.Name] = false;
                    afterBareBool = true;
                    continue;
                }

                throw new OptionsException($"unknown flag --{name}");
            }

            string display = dashes + name;
            switch (def.Kind)
            {
                case FlagKind.Bool:
                    values[def.Name] = inline is null || ParseOrThrow(def, display, inline) is true;
                    afterBareBool = inline is null;
                    break;

                case FlagKind.StringList or FlagKind.JsonObjectList:
                    var list = values.TryGetValue(def.Name, out object? existing) ? (List<object>)existing : [];
                    if (inline is not null)
                    {
                        AddListItem(list, def, display, inline);
                    }
                    else
                    {
                        while (i < args.Count && !args[i].StartsWith("--", StringComparison.Ordinal))
                        {
                            AddListItem(list, def, display, args[i++]);
                        }
                    }

                    values[def.Name] = list;
                    break;

                default:
                    if (inline is null)
                    {
                        if (i >= args.Count || args[i].StartsWith("--", StringComparison.Ordinal))
                        {
                            throw new OptionsException($"{display} requires a value ({FlagValues.Expected(def.Kind)})");
                        }

                        inline = args[i++];
                    }

                    values[def.Name] = ParseOrThrow(def, display, inline);
                    break;
            }
        }

        // Lists are collected as List<object> while scanning; freeze them into their typed form.
        foreach (FlagDefinition def in FlagTable.All)
        {
            if (def.IsMultiValue && values.TryGetValue(def.Name, out object? collected))
            {
                var items = (List<object>)collected;
                values[def.Name] = def.Kind == FlagKind.StringList
                    ? items.Cast<string>().ToArray()
                    : items.Cast<JsonObject>().ToArray();
            }
        }

        return values;
    }

    private static void AddListItem(List<object> list, FlagDefinition def, string display, string text)
    {
        if (text.Length > 0)
        {
            list.Add(ParseOrThrow(def, display, text));
        }
    }

    private static object ParseOrThrow(FlagDefinition def, string display, string text) =>
        FlagValues.TryParse(def.Kind, text, out object value)
            ? value
            : throw new OptionsException($"{display} must be {FlagValues.Expected(def.Kind)} (got '{text}')");

    private static void Validate(Sources s)
    {
        if (string.IsNullOrWhiteSpace(s.Get<string>("model")))
        {
            throw new OptionsException("--model is required (or set SIM_MODEL)");
        }

        foreach (FlagDefinition def in FlagTable.All)
        {
            if (def.Check is { } check && s.Get(def) is { } value && check(value) is { } problem)
            {
                throw new OptionsException($"--{def.Name} {problem}");
            }
        }

        int port = s.Get<int>("port");
        int dp = s.Get<int>("data-parallel-size");
        if (port + dp - 1 > 65535)
        {
            throw new OptionsException(
                $"--port + --data-parallel-size - 1 must not exceed 65535: rank ports would run from {port} to {port + dp - 1}");
        }

        CheckStdDev(s, "time-to-first-token");
        CheckStdDev(s, "inter-token-latency");
        CheckStdDev(s, "time-to-generate-image");
        CheckStdDev(s, "kv-cache-transfer-latency");

        CheckLoras(s);
        ClusterSettings.Validate(s.Get<string>("cluster-provider"), s.Get<string>("cluster-connection"));

        int maxLoras = s.Get<int>("max-loras");
        int maxCpuLoras = s.Get<int>("max-cpu-loras");
        if (maxCpuLoras != 0 && maxCpuLoras < maxLoras)
        {
            throw new OptionsException($"--max-cpu-loras cannot be less than --max-loras (got {maxCpuLoras}, --max-loras is {maxLoras})");
        }

        CheckMinMax(s.Get<int>("min-tool-call-integer-param"), s.Get<int>("max-tool-call-integer-param"), "tool-call-integer-param");
        CheckMinMax(s.Get<double>("min-tool-call-number-param"), s.Get<double>("max-tool-call-number-param"), "tool-call-number-param");
        CheckMinMax(s.Get<int>("min-tool-call-array-param-length"), s.Get<int>("max-tool-call-array-param-length"), "tool-call-array-param-length");

        if (s.Get<string>("dataset-url").Length > 0 && s.Get<string>("dataset-path").Length == 0)
        {
            throw new OptionsException("--dataset-path is required when --dataset-url is set");
        }

        if (s.Get<string>("mode") == "echo" && (s.Get<string>("dataset-path").Length > 0 || s.Get<string>("dataset-url").Length > 0))
        {
            throw new OptionsException("dataset cannot be defined in echo mode (--dataset-path/--dataset-url need --mode random)");
        }

        bool cert = s.Get<string>("ssl-certfile").Length > 0;
        bool key = s.Get<string>("ssl-keyfile").Length > 0;
        if (cert != key)
        {
            throw new OptionsException("--ssl-certfile and --ssl-keyfile must be provided together");
        }

        if (cert && s.Get<bool>("self-signed-certs"))
        {
            throw new OptionsException("--self-signed-certs cannot be used together with --ssl-certfile/--ssl-keyfile");
        }

        string replay = s.Get<string>("kv-events-replay-endpoint");
        if (replay.Length > 0
            && EndpointPort(s.Get<string>("zmq-endpoint")) is int zmqPort
            && EndpointPort(replay) is int replayPort
            && Math.Abs(zmqPort - replayPort) < dp)
        {
            throw new OptionsException(
                $"--zmq-endpoint ({s.Get<string>("zmq-endpoint")}) and --kv-events-replay-endpoint ({replay}) ports collide once offset by data-parallel rank");
        }
    }

    private static void CheckStdDev(Sources s, string meanFlag)
    {
        TimeSpan mean = s.Get<TimeSpan>(meanFlag);
        TimeSpan stdDev = s.Get<TimeSpan>(meanFlag + "-std-dev");
        if (stdDev.Ticks * 10 > mean.Ticks * 3)
        {
            throw new OptionsException(
                $"--{meanFlag}-std-dev cannot be more than 30% of --{meanFlag} (got {DurationText.Format(stdDev)}, limit {DurationText.Format(TimeSpan.FromTicks(mean.Ticks * 3 / 10))})");
        }
    }

    private static void CheckMinMax<T>(T min, T max, string suffix)
        where T : IComparable<T>
    {
        if (max.CompareTo(min) < 0)
        {
            throw new OptionsException(
                string.Create(CultureInfo.InvariantCulture, $"--max-{suffix} cannot be less than --min-{suffix} (got {max} < {min})"));
        }
    }

    private static void CheckLoras(Sources s)
    {
        string model = s.Get<string>("model");
        foreach (JsonObject lora in s.Get<IReadOnlyList<JsonObject>>("lora-modules"))
        {
            string name = StringProperty(lora, "name");
            if (name.Length == 0)
            {
                throw new OptionsException($"--lora-modules entry has an empty name ({lora.ToJsonString()})");
            }

            string baseModel = StringProperty(lora, "base_model_name");
            if (baseModel.Length > 0 && baseModel != model)
            {
                throw new OptionsException($"--lora-modules: unknown base model '{baseModel}' for LoRA '{name}' (--model is '{model}')");
            }
        }
    }

    private static string StringProperty(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String ? v.GetValue<string>() : "";

    private static int? EndpointPort(string endpoint)
    {
        int colon = endpoint.LastIndexOf(':');
        return colon >= 0 && int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            ? port
            : null;
    }

    private static string DetectIPv4()
    {
        try
        {
            foreach (NetworkInterface nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus is not (OperationalStatus.Up or OperationalStatus.Unknown)
                    || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
                {
                    continue;
                }

                foreach (UnicastIPAddressInformation address in nic.GetIPProperties().UnicastAddresses)
                {
                    if (address.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(address.Address))
                    {
                        return address.Address.ToString();
                    }
                }
            }
        }
        catch (Exception e) when (e is NetworkInformationException or PlatformNotSupportedException or SocketException)
        {
            // fall back below
        }

        return "127.0.0.1";
    }

    /// <summary>The three layers of given values; anything absent falls back to the table default.</summary>
    private sealed class Sources(
        Dictionary<string, object> cli, Dictionary<string, object> env, Dictionary<string, object> yaml)
    {
        private readonly Dictionary<string, object?> _defaults = new(StringComparer.Ordinal);

        public bool IsGiven(FlagDefinition def) =>
            cli.ContainsKey(def.Name) || env.ContainsKey(def.Name) || yaml.ContainsKey(def.Name);

        public object? Get(FlagDefinition def)
        {
            if (cli.TryGetValue(def.Name, out object? v) || env.TryGetValue(def.Name, out v) || yaml.TryGetValue(def.Name, out v))
            {
                return v;
            }

            if (!_defaults.TryGetValue(def.Name, out object? d))
            {
                d = def.DefaultFactory is { } factory ? factory() : def.Default;
                _defaults[def.Name] = d;
            }

            return d;
        }

        public T Get<T>(string name) => (T)Get(FlagTable.ByName[name])!;
    }
}
