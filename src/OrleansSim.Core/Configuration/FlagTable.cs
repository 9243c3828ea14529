using System.Globalization;
using System.Text.Json.Nodes;

namespace OrleansSim.Core.Configuration;

/// <summary>
/// Every flag the simulator recognises: llm-d-inference-sim's flags, OrleansSim's own
/// (<c>--shutdown-timeout</c>, <c>--tokenizer</c>, <c>--host</c>) and the vLLM flags that are accepted and ignored.
/// The loader, the YAML reader, <see cref="OptionsLoader.HelpText"/> and <see cref="OptionsJson"/> are all
/// driven from this one list. Cross-flag rules live in <see cref="OptionsLoader"/>.
/// </summary>
internal static class FlagTable
{
    private const FlagStatus Supported = FlagStatus.Supported;
    private const FlagStatus Ignored = FlagStatus.Ignored;

    public static readonly IReadOnlyList<string> FailureTypes = Chaos.FailureInjector.AllTypes;

    /// <summary>--log-level values; vLLM's VLLM_LOGGING_LEVEL spellings (DEBUG, WARNING, …) are accepted in any case.</summary>
    private static readonly string[] LogLevels = ["trace", "debug", "info", "warning", "error", "critical"];

    public static IReadOnlyList<FlagDefinition> All { get; } =
    [
        // --- identity / serving (supported) ---
        new("config", FlagKind.String, null, "YAML file with the same keys as the flags (command line > environment > file > default)")
        {
            Status = Supported, CommandLineOnly = true, DefaultText = "none",
            Apply = (o, v) => o with { ConfigFile = NullIfEmpty(v) }, Read = o => o.ConfigFile,
        },
        new("host", FlagKind.String, "0.0.0.0", "address the HTTP listeners bind to")
        {
            Status = Supported,
            Check = v => ((string)v).Length == 0 ? "cannot be empty" : null,
            Apply = (o, v) => o with { Host = (string)v! }, Read = o => o.Host,
        },
        new("port", FlagKind.Int, 8000, "HTTP port; data-parallel rank r listens on port + r")
        {
            Status = Supported, Check = IntBetween(1, 65535),
            Apply = (o, v) => o with { Port = (int)v! }, Read = o => o.Port,
        },
        new("silo-port", FlagKind.Int, 11111, "Orleans silo-to-silo port")
        {
            Status = Supported, Check = IntBetween(1, 65535),
            Apply = (o, v) => o with { SiloPort = (int)v! }, Read = o => o.SiloPort,
        },
        new("gateway-port", FlagKind.Int, 30000, "Orleans client gateway port")
        {
            Status = Supported, Check = IntBetween(1, 65535),
            Apply = (o, v) => o with { GatewayPort = (int)v! }, Read = o => o.GatewayPort,
        },
        new("cluster-provider", FlagKind.String, "localhost", "Orleans membership: 'localhost' (this process alone) or 'redis' (pods join through --cluster-connection)")
        {
            Status = Supported, Check = OneOf("localhost", "redis"),
            Apply = (o, v) => o with { ClusterProvider = (string)v! == "redis" ? ClusterProvider.Redis : ClusterProvider.Localhost },
            Read = o => o.ClusterProvider == ClusterProvider.Redis ? "redis" : "localhost",
        },
        new("cluster-connection", FlagKind.String, "", "Redis connection string of the membership table, e.g. redis:6379")
        {
            Status = Supported, DefaultText = "none",
            Apply = (o, v) => o with { ClusterConnection = (string)v! }, Read = o => o.ClusterConnection,
        },
        new("cluster-id", FlagKind.String, "orleanssim", "Orleans cluster id; pods with the same id form one cluster")
        {
            Status = Supported, Check = v => ((string)v).Length == 0 ? "cannot be empty" : null,
            Apply = (o, v) => o with { ClusterId = (string)v! }, Read = o => o.ClusterId,
        },
        new("service-id", FlagKind.String, "orleanssim", "Orleans service id")
        {
            Status = Supported, Check = v => ((string)v).Length == 0 ? "cannot be empty" : null,
            Apply = (o, v) => o with { ServiceId = (string)v! }, Read = o => o.ServiceId,
        },
        new("advertise-address", FlagKind.String, "", "IP address this silo advertises to its peers")
        {
            Status = Supported, DefaultText = "POD_IP, else 127.0.0.1 when the cluster connection is local, else the first non-loopback IPv4 address",
            Check = v => ((string)v).Length > 0 && !System.Net.IPAddress.TryParse((string)v, out _) ? $"must be an IP address (got '{v}')" : null,
            Apply = (o, v) => o with { AdvertiseAddress = (string)v! }, Read = o => o.AdvertiseAddress,
        },
        new("model", FlagKind.String, "", "base model name")
        {
            Status = Supported, EnvVar = "SIM_MODEL", DefaultText = "none, required",
            Apply = (o, v) => o with { Model = (string)v! }, Read = o => o.Model,
        },
        new("served-model-name", FlagKind.StringList, Array.Empty<string>(), "model aliases the API accepts; the first is shown in responses and metrics")
        {
            Status = Supported, DefaultText = "[model]",
            Apply = (o, v) => o with { ServedModelNames = [.. (IReadOnlyList<string>)v!] }, Read = o => o.ServedModelNames,
        },
        new("mode", FlagKind.String, "random", "response text: 'random' (preset sentences) or 'echo' (repeat the prompt)")
        {
            Status = Supported, Check = OneOf("random", "echo"),
            Apply = (o, v) => o with { Mode = (string)v! == "echo" ? SimulationMode.Echo : SimulationMode.Random },
            Read = o => o.Mode == SimulationMode.Echo ? "echo" : "random",
        },
        new("seed", FlagKind.Long, 0L, "random seed for generated text and request ids")
        {
            Status = Supported, DefaultText = "current time in nanoseconds",
            DefaultFactory = () => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100,
            Apply = (o, v) => o with { Seed = (long)v! }, Read = o => o.Seed,
        },
        new("max-num-seqs", FlagKind.Int, 5, "requests processed at the same time")
        {
            Status = Supported, Check = IntAtLeast(1),
            Apply = (o, v) => o with { MaxNumSeqs = (int)v! }, Read = o => o.MaxNumSeqs,
        },
        new("max-waiting-queue-length", FlagKind.Int, 1000, "requests that may wait for a free slot")
        {
            Status = Supported, Check = IntAtLeast(0),
            Apply = (o, v) => o with { MaxWaitingQueueLength = (int)v! }, Read = o => o.MaxWaitingQueueLength,
        },
        new("max-model-len", FlagKind.Int, 1024, "context window in tokens (prompt + completion)")
        {
            Status = Supported, Check = IntAtLeast(1),
            Apply = (o, v) => o with { MaxModelLen = (int)v! }, Read = o => o.MaxModelLen,
        },
        new("data-parallel-size", FlagKind.Int, 1, "number of data-parallel ranks served by this process (1..8)")
        {
            Status = Supported, Check = IntBetween(1, 8),
            Apply = (o, v) => o with { DataParallelSize = (int)v! }, Read = o => o.DataParallelSize,
        },
        new("shutdown-timeout", FlagKind.Duration, TimeSpan.FromSeconds(30), "grace period for in-flight requests on shutdown (OrleansSim)")
        {
            Status = Supported, Check = NotNegative,
            Apply = (o, v) => o with { ShutdownTimeout = (TimeSpan)v! }, Read = o => o.ShutdownTimeout,
        },
        new("tokenizer", FlagKind.String, null, "path to a Hugging Face tokenizer.json (OrleansSim)")
        {
            Status = Supported, DefaultText = "built-in o200k_base",
            Apply = (o, v) => o with { Tokenizer = NullIfEmpty(v) }, Read = o => o.Tokenizer,
        },

        // --- timing (supported) ---
        new("time-to-first-token", FlagKind.Duration, TimeSpan.Zero, "delay before the first token")
        {
            Status = Supported, AdminConfigurable = true, Check = NotNegative,
            Apply = (o, v) => o with { TimeToFirstToken = (TimeSpan)v! }, Read = o => o.TimeToFirstToken,
        },
        new("time-to-first-token-std-dev", FlagKind.Duration, TimeSpan.Zero, "standard deviation of time-to-first-token (at most 30% of it)")
        {
            Status = Supported, AdminConfigurable = true, Check = NotNegative,
            Apply = (o, v) => o with { TimeToFirstTokenStdDev = (TimeSpan)v! }, Read = o => o.TimeToFirstTokenStdDev,
        },
        new("inter-token-latency", FlagKind.Duration, TimeSpan.Zero, "delay between consecutive output tokens")
        {
            Status = Supported, AdminConfigurable = true, Check = NotNegative,
            Apply = (o, v) => o with { InterTokenLatency = (TimeSpan)v! }, Read = o => o.InterTokenLatency,
        },
        new("inter-token-latency-std-dev", FlagKind.Duration, TimeSpan.Zero, "standard deviation of inter-token-latency (at most 30% of it)")
        {
            Status = Supported, AdminConfigurable = true, Check = NotNegative,
            Apply = (o, v) => o with { InterTokenLatencyStdDev = (TimeSpan)v! }, Read = o => o.InterTokenLatencyStdDev,
        },

        // --- failure injection / KV seed (supported: validated and stored) ---
        new("failure-injection-rate", FlagKind.Double, 0d, "percentage of requests answered with an injected error (0..100)")
        {
            Status = Supported, AdminConfigurable = true, Check = DoubleBetween(0, 100),
            Apply = (o, v) => o with { FailureInjectionRate = (double)v! }, Read = o => o.FailureInjectionRate,
        },
        new("hash-seed", FlagKind.String, "", "seed for KV block hashes")
        {
            Status = Supported, EnvVar = "PYTHONHASHSEED",
            Apply = (o, v) => o with { HashSeed = NullIfEmpty(v) }, Read = o => o.HashSeed,
        },

        // --- LoRA (supported) ---
        new("lora-modules", FlagKind.JsonObjectList, Array.Empty<JsonObject>(), "static LoRA adapters: name=path or JSON {\"name\",\"path\",\"base_model_name\"}")
        {
            Status = Supported, DefaultText = "none",
            Apply = (o, v) => o with { LoraModules = [.. ((IReadOnlyList<JsonObject>)v!).Select(Lora.LoraModule.FromJson)] },
            Read = o => new JsonArray([.. o.LoraModules.Select(m => (JsonNode)m.ToJson())]),
        },
        new("max-loras", FlagKind.Int, 1, "LoRA adapters in use by running requests at the same time, per rank")
        {
            Status = Supported, Check = IntAtLeast(1),
            Apply = (o, v) => o with { MaxLoras = (int)v! }, Read = o => o.MaxLoras,
        },
        new("max-cpu-loras", FlagKind.Int, 0, "LoRA adapters kept in CPU memory; 0 means max-loras (validated only)")
        {
            Status = Supported, Check = IntAtLeast(0),
            Apply = (o, v) => o with { MaxCpuLoras = (int)v! }, Read = o => o.MaxCpuLoras,
        },

        // --- latency model (not supported yet) ---
        new("time-to-generate-image", FlagKind.Duration, TimeSpan.Zero, "delay to generate one image (omni)") { Check = NotNegative },
        new("time-to-generate-image-std-dev", FlagKind.Duration, TimeSpan.Zero, "standard deviation of time-to-generate-image") { Check = NotNegative },
        new("kv-cache-transfer-latency", FlagKind.Duration, TimeSpan.Zero, "time to first token of a decode request whose prefill ran remotely (kv_transfer_params.do_remote_prefill, P/D)")
        {
            Status = Supported, AdminConfigurable = true, Check = NotNegative,
            Apply = (o, v) => o with { KvCacheTransferLatency = (TimeSpan)v! }, Read = o => o.KvCacheTransferLatency,
        },
        new("kv-cache-transfer-latency-std-dev", FlagKind.Duration, TimeSpan.Zero, "standard deviation of kv-cache-transfer-latency")
        {
            Status = Supported, AdminConfigurable = true, Check = NotNegative,
            Apply = (o, v) => o with { KvCacheTransferLatencyStdDev = (TimeSpan)v! }, Read = o => o.KvCacheTransferLatencyStdDev,
        },
        new("prefill-overhead", FlagKind.Duration, TimeSpan.Zero, "constant prefill time of the per-token calculator")
        {
            Status = Supported, AdminConfigurable = true, Check = NotNegative,
            Apply = (o, v) => o with { PrefillOverhead = (TimeSpan)v! }, Read = o => o.PrefillOverhead,
        },
        new("prefill-time-per-token", FlagKind.Duration, TimeSpan.Zero, "prefill time per uncached prompt token")
        {
            Status = Supported, AdminConfigurable = true, Check = NotNegative,
            Apply = (o, v) => o with { PrefillTimePerToken = (TimeSpan)v! }, Read = o => o.PrefillTimePerToken,
        },
        new("prefill-time-std-dev", FlagKind.Duration, TimeSpan.Zero, "standard deviation of the prefill time")
        {
            Status = Supported, AdminConfigurable = true, Check = NotNegative,
            Apply = (o, v) => o with { PrefillTimeStdDev = (TimeSpan)v! }, Read = o => o.PrefillTimeStdDev,
        },
        new("kv-cache-transfer-time-per-token", FlagKind.Duration, TimeSpan.Zero, "remote-prefill KV transfer time per prompt token, when kv-cache-transfer-latency and its std-dev are 0")
        {
            Status = Supported, AdminConfigurable = true, Check = NotNegative,
            Apply = (o, v) => o with { KvCacheTransferTimePerToken = (TimeSpan)v! }, Read = o => o.KvCacheTransferTimePerToken,
        },
        new("kv-cache-transfer-time-std-dev", FlagKind.Duration, TimeSpan.Zero, "standard deviation of the per-token KV transfer time")
        {
            Status = Supported, AdminConfigurable = true, Check = NotNegative,
            Apply = (o, v) => o with { KvCacheTransferTimeStdDev = (TimeSpan)v! }, Read = o => o.KvCacheTransferTimeStdDev,
        },
        new("time-factor-under-load", FlagKind.Double, 1d, "latency multiplier reached when all max-num-seqs slots are busy (>= 1)")
        {
            Status = Supported, AdminConfigurable = true, Check = DoubleAtLeast(1),
            Apply = (o, v) => o with { TimeFactorUnderLoad = (double)v! }, Read = o => o.TimeFactorUnderLoad,
        },
        new("latency-calculator", FlagKind.String, "", "latency model: '' (legacy), 'constant', 'per-token' or 'step' (a continuous-batching engine clock per rank, docs/latency.md)")
        {
            Status = Supported, AdminConfigurable = true,
            Check = v => (string)v is "" or "constant" or "per-token" or "step" ? null : $"must be 'constant', 'per-token' or 'step' (got '{v}')",
            Apply = (o, v) => o with { LatencyCalculator = (string)v! },
            Read = o => o.LatencyCalculator,
        },
        new("max-num-batched-tokens", FlagKind.Int, 8192, "tokens one engine step computes (step calculator; vLLM's flag and its default on an 80 GB GPU)")
        {
            Status = Supported, Check = IntAtLeast(1),
            Apply = (o, v) => o with { MaxNumBatchedTokens = (int)v! }, Read = o => o.MaxNumBatchedTokens,
        },
        new("long-prefill-token-threshold", FlagKind.Int, 0, "largest prefill chunk of one request per step, 0 = no limit (step calculator; vLLM's flag)")
        {
            Status = Supported, Check = IntAtLeast(0, "cannot be negative"),
            Apply = (o, v) => o with { LongPrefillTokenThreshold = (int)v! }, Read = o => o.LongPrefillTokenThreshold,
        },
        new("step-profile", FlagKind.String, "", "YAML file of step-time coefficients (step calculator); default: an 8B model on one H100 (docs/latency.md)")
        {
            Status = Supported, DefaultText = "built-in llama-3.1-8b-h100",
            Check = v => StepProfileProblem((string)v),
            Apply = (o, v) => o with { StepProfilePath = NullIfEmpty(v), StepProfile = NullIfEmpty(v) is { } path ? Engine.StepProfile.Load(path) : Engine.StepProfile.Default },
            Read = o => o.StepProfilePath,
        },

        // --- tool calls and structured outputs (Generation/Tools) ---
        new("max-tool-call-integer-param", FlagKind.Int, 100, "largest integer generated for tool-call arguments and structured outputs (when the schema allows it)")
        {
            Status = Supported,
            Apply = (o, v) => o with { ToolCalls = o.ToolCalls with { MaxIntegerParam = (int)v! } }, Read = o => o.ToolCalls.MaxIntegerParam,
        },
        new("min-tool-call-integer-param", FlagKind.Int, 0, "smallest integer generated for tool-call arguments and structured outputs")
        {
            Status = Supported,
            Apply = (o, v) => o with { ToolCalls = o.ToolCalls with { MinIntegerParam = (int)v! } }, Read = o => o.ToolCalls.MinIntegerParam,
        },
        new("max-tool-call-number-param", FlagKind.Double, 100d, "largest number generated for tool-call arguments and structured outputs")
        {
            Status = Supported,
            Apply = (o, v) => o with { ToolCalls = o.ToolCalls with { MaxNumberParam = (double)v! } }, Read = o => o.ToolCalls.MaxNumberParam,
        },
        new("min-tool-call-number-param", FlagKind.Double, 0d, "smallest number generated for tool-call arguments and structured outputs")
        {
            Status = Supported,
            Apply = (o, v) => o with { ToolCalls = o.ToolCalls with { MinNumberParam = (double)v! } }, Read = o => o.ToolCalls.MinNumberParam,
        },
        new("max-tool-call-array-param-length", FlagKind.Int, 5, "longest array generated (unless the schema's minItems/maxItems say otherwise)")
        {
            Status = Supported,
            Apply = (o, v) => o with { ToolCalls = o.ToolCalls with { MaxArrayParamLength = (int)v! } }, Read = o => o.ToolCalls.MaxArrayParamLength,
        },
        new("min-tool-call-array-param-length", FlagKind.Int, 1, "shortest array generated (unless the schema's minItems/maxItems say otherwise)")
        {
            Status = Supported, Check = IntAtLeast(0),
            Apply = (o, v) => o with { ToolCalls = o.ToolCalls with { MinArrayParamLength = (int)v! } }, Read = o => o.ToolCalls.MinArrayParamLength,
        },
        new("tool-call-not-required-param-probability", FlagKind.Int, 50, "% chance that an optional top-level tool-call argument is present")
        {
            Status = Supported, Check = IntBetween(0, 100),
            Apply = (o, v) => o with { ToolCalls = o.ToolCalls with { NotRequiredParamProbability = (int)v! } }, Read = o => o.ToolCalls.NotRequiredParamProbability,
        },
        new("object-tool-call-not-required-field-probability", FlagKind.Int, 50, "% chance that an optional field of a nested object (or of a structured output) is present")
        {
            Status = Supported, Check = IntBetween(0, 100),
            Apply = (o, v) => o with { ToolCalls = o.ToolCalls with { ObjectNotRequiredFieldProbability = (int)v! } }, Read = o => o.ToolCalls.ObjectNotRequiredFieldProbability,
        },
        new("tool-call-extra-call-probability", FlagKind.Int, 45, "% chance of one more tool call, rolled again until a roll fails or every tool is called (tool_choice auto starts at 0 calls, so it answers with text 100 - p % of the time; required starts at 1)")
        {
            Status = Supported, Check = IntBetween(0, 100),
            Apply = (o, v) => o with { ToolCalls = o.ToolCalls with { ExtraCallProbability = (int)v! } }, Read = o => o.ToolCalls.ExtraCallProbability,
        },
        new("skip-tool-validation", FlagKind.Bool, false, "accept tool definitions outside llm-d-inference-sim's schema whitelist (otherwise a 400 'Tool validation failed: ...')")
        {
            Status = Supported,
            Apply = (o, v) => o with { SkipToolValidation = (bool)v! }, Read = o => o.SkipToolValidation,
        },

        // --- KV cache and events ---
        new("enable-kvcache", FlagKind.Bool, false, "simulate the KV cache (prefix hits, capacity waits) and publish KV events")
        {
            Status = Supported,
            Apply = (o, v) => o with { EnableKvCache = (bool)v! }, Read = o => o.EnableKvCache,
        },
        new("kv-cache-size", FlagKind.Int, 1024, "KV cache capacity in blocks, per rank")
        {
            Status = Supported, Check = IntAtLeast(0, "cannot be negative"),
            Apply = (o, v) => o with { KvCacheSize = (int)v! }, Read = o => o.KvCacheSize,
        },
        new("block-size", FlagKind.Int, 16, "tokens per KV block (8, 16, 32, 64 or 128)")
        {
            Status = Supported,
            Check = v => (int)v is 8 or 16 or 32 or 64 or 128 ? null : $"must be one of 8, 16, 32, 64, 128 (got {v})",
            Apply = (o, v) => o with { BlockSize = (int)v! }, Read = o => o.BlockSize,
        },
        new("zmq-endpoint", FlagKind.String, "tcp://127.0.0.1:5557", "ZMQ endpoint the KV-event PUB socket connects to (binds with --zmq-bind); rank r uses port + r; empty disables publishing")
        {
            Status = Supported,
            Apply = (o, v) => o with { ZmqEndpoint = (string)v! }, Read = o => o.ZmqEndpoint,
        },
        new("zmq-bind", FlagKind.Bool, false, "bind the KV-event PUB socket instead of connecting (vLLM's default mode) (OrleansSim)")
        {
            Status = Supported,
            Apply = (o, v) => o with { ZmqBind = (bool)v! }, Read = o => o.ZmqBind,
        },
        new("event-batch-size", FlagKind.Int, 16, "KV events per ZMQ message (a partial batch is sent after 1s)")
        {
            Status = Supported, Check = IntAtLeast(1),
            Apply = (o, v) => o with { EventBatchSize = (int)v! }, Read = o => o.EventBatchSize,
        },
        new("kv-events-format", FlagKind.String, "array", "KV event encoding: 'array' (vLLM msgspec array_like) or 'map' (type-tagged maps) (OrleansSim)")
        {
            Status = Supported, Check = OneOf("array", "map"),
            Apply = (o, v) => (string)v! == "map" ? o with { KvEventsMapFormat = true } : o,
            Read = o => o.KvEventsMapFormat ? "map" : "array",
        },
        new("use-vllm-map-event-format", FlagKind.Bool, false, "same as --kv-events-format map (llm-d-inference-sim's spelling)")
        {
            Status = Supported,
            Apply = (o, v) => (bool)v! ? o with { KvEventsMapFormat = true } : o,
            Read = o => o.KvEventsMapFormat,
        },
        new("kv-events-replay-endpoint", FlagKind.String, "", "ZMQ ROUTER endpoint that replays retained KV event batches; rank r uses port + r")
        {
            Status = Supported, DefaultText = "none",
            Apply = (o, v) => o with { KvEventsReplayEndpoint = NullIfEmpty(v) }, Read = o => o.KvEventsReplayEndpoint,
        },
        new("kv-events-replay-queue-size", FlagKind.Int, 1024, "KV event batches kept for replay, per rank")
        {
            Status = Supported, Check = IntAtLeast(1),
            Apply = (o, v) => o with { KvEventsReplayQueueSize = (int)v! }, Read = o => o.KvEventsReplayQueueSize,
        },
        new("global-cache-hit-threshold", FlagKind.Double, 0d, "default cache-hit threshold (0..1)") { Check = DoubleBetween(0, 1) },
        new("data-parallel-rank", FlagKind.Int, -1, "serve only this data-parallel rank (0..7); -1 serves all")
        {
            Check = v => (int)v is >= -1 and <= 7 ? null : $"must be between 0 and 7, or -1 for all ranks (got {v})",
        },

        // --- dataset (docs/datasets.md) ---
        new("dataset-path", FlagKind.String, "", "SQLite dataset of recorded responses (random mode; docs/datasets.md)")
        {
            Status = Supported, DefaultText = "none",
            Apply = (o, v) => o with { DatasetPath = NullIfEmpty(v) }, Read = o => o.DatasetPath,
        },
        new("dataset-url", FlagKind.String, "", "URL the dataset is downloaded from when --dataset-path does not exist")
        {
            Status = Supported, DefaultText = "none",
            Check = v => ((string)v).Length > 0 && !(Uri.TryCreate((string)v, UriKind.Absolute, out var u) && u.Scheme is "http" or "https")
                ? $"must be an http(s) URL (got '{v}')"
                : null,
            Apply = (o, v) => o with { DatasetUrl = NullIfEmpty(v) }, Read = o => o.DatasetUrl,
        },
        new("dataset-in-memory", FlagKind.Bool, false, "copy the dataset into memory at startup")
        {
            Status = Supported,
            Apply = (o, v) => o with { DatasetInMemory = (bool)v! }, Read = o => o.DatasetInMemory,
        },
        new("dataset-table-name", FlagKind.String, "llmd", "dataset table name")
        {
            Status = Supported,
            Check = v => Generation.Dataset.DatasetSchema.IsValidTableName((string)v) ? null : $"must be a plain SQL identifier (got '{v}')",
            Apply = (o, v) => o with { DatasetTableName = (string)v! }, Read = o => o.DatasetTableName,
        },

        // --- failure types (not supported yet) ---
        new("failure-types", FlagKind.StringList, Array.Empty<string>(), "injected failure types: " + string.Join(", ", FailureTypes))
        {
            Status = Supported, AdminConfigurable = true, DefaultText = "all",
            Apply = (o, v) => o with { FailureTypes = [.. (IReadOnlyList<string>)v!] }, Read = o => o.FailureTypes,
            Check = v => ((IReadOnlyList<string>)v).FirstOrDefault(t => !FailureTypes.Contains(t)) is { } bad
                ? $"must be among {string.Join(", ", FailureTypes)} (got '{bad}')"
                : null,
        },

        // --- TLS ---
        new("ssl-certfile", FlagKind.String, "", "TLS certificate file (PEM); every rank port serves HTTPS (HTTP/1.1 and HTTP/2)")
        {
            Status = Supported, DefaultText = "none",
            Apply = (o, v) => o with { SslCertFile = NullIfEmpty(v) }, Read = o => o.SslCertFile,
        },
        new("ssl-keyfile", FlagKind.String, "", "TLS private key file (PEM) of --ssl-certfile")
        {
            Status = Supported, DefaultText = "none",
            Apply = (o, v) => o with { SslKeyFile = NullIfEmpty(v) }, Read = o => o.SslKeyFile,
        },
        new("self-signed-certs", FlagKind.Bool, false, "serve HTTPS with a self-signed certificate generated at startup")
        {
            Status = Supported,
            Apply = (o, v) => o with { SelfSignedCerts = (bool)v! }, Read = o => o.SelfSignedCerts,
        },

        // --- chaos (OrleansSim) ---
        new("chaos-scenario", FlagKind.String, "", "chaos scenario YAML (steps: [{at, kind, target, for, ...}]) played once the pod is ready (docs/chaos.md) (OrleansSim)")
        {
            Status = Supported, DefaultText = "none",
            Check = v => ((string)v).Length == 0 ? null : ScenarioProblem((string)v),
            Apply = (o, v) => o with { ChaosScenario = NullIfEmpty(v) }, Read = o => o.ChaosScenario,
        },

        // --- admin endpoints (OrleansSim) ---
        new("admin-token", FlagKind.String, "", "bearer token /admin/* requires ('Authorization: Bearer <token>'); empty leaves them open, as vLLM's are (OrleansSim)")
        {
            Status = Supported, EnvVar = "ORLEANSSIM_ADMIN_TOKEN", DefaultText = "none",
            Apply = (o, v) => o with { AdminToken = NullIfEmpty(v) }, Read = o => o.AdminToken is null ? null : "(redacted)",
        },

        // --- misc ---
        new("startup-duration", FlagKind.Duration, TimeSpan.Zero, "/health/ready answers 503 until this time has passed") { Check = NotNegative },
        new("enable-sleep-mode", FlagKind.Bool, false, "serve POST /sleep, POST /wake_up and GET /is_sleeping (with VLLM_SERVER_DEV_MODE=1; docs in README, \"Sleep mode\") (vLLM)")
        {
            Status = Supported, HasNoForm = true,
            Apply = (o, v) => o with { EnableSleepMode = (bool)v! }, Read = o => o.EnableSleepMode,
        },
        new("enable-request-id-headers", FlagKind.Bool, false, "send the X-Request-Id response header: the request's own, else the generated id (vLLM)")
        {
            Status = Supported,
            Apply = (o, v) => o with { EnableRequestIdHeaders = (bool)v! }, Read = o => o.EnableRequestIdHeaders,
        },
        new("enable-force-include-usage", FlagKind.Bool, false, "send the usage chunk on every stream, as if stream_options.include_usage were true (vLLM)")
        {
            Status = Supported,
            Apply = (o, v) => o with { EnableForceIncludeUsage = (bool)v! }, Read = o => o.EnableForceIncludeUsage,
        },
        new("log-http", FlagKind.Bool, false, "log every HTTP request and response"),
        new("force-dummy-tokenizer", FlagKind.Bool, false, "never use a Hugging Face tokenizer"),
        new("render-url", FlagKind.String, "localhost:8082", "render service used with Hugging Face tokenizers"),
        new("render-timeout", FlagKind.Duration, TimeSpan.FromSeconds(30), "timeout of render calls") { Check = NotNegative },
        new("mm-render-timeout", FlagKind.Duration, TimeSpan.FromSeconds(60), "timeout of multimodal render calls") { Check = NotNegative },
        new("default-embedding-dimensions", FlagKind.Int, 384, "embedding size when the request gives none")
        {
            Status = Supported, Check = IntAtLeast(1, "must be at least 1"),
            Apply = (o, v) => o with { DefaultEmbeddingDimensions = (int)v! }, Read = o => o.DefaultEmbeddingDimensions,
        },
        new("max-request-body-size-mb", FlagKind.Int, 4, "largest accepted request body in MB (1..512)") { Check = IntBetween(1, 512) },
        new("fake-metrics", FlagKind.JsonObject, null, "JSON object of metric values that replace the real ones: numbers or fun:start:end:period for gauges, per-bucket counts for histograms (docs/metrics.md)")
        {
            Status = Supported, AdminConfigurable = true, DefaultText = "none",
            Check = v => Metrics.FakeMetricsSpec.TryParse((JsonObject)v, out _, out string? problem) ? null : problem,
            Apply = (o, v) => o with { FakeMetrics = v is JsonObject json ? Metrics.FakeMetricsSpec.Parse(json) : null },
            Read = o => o.FakeMetrics?.Source.DeepClone(),
        },
        new("fake-metrics-refresh-interval", FlagKind.Duration, TimeSpan.FromMilliseconds(100), "how often fake metric functions take a new value")
        {
            Status = Supported,
            Check = v => (TimeSpan)v <= TimeSpan.Zero ? $"must be positive (got {DurationText.Format((TimeSpan)v)})" : null,
            Apply = (o, v) => o with { FakeMetricsRefreshInterval = (TimeSpan)v! }, Read = o => o.FakeMetricsRefreshInterval,
        },
        // --- observability (supported) ---
        new("otlp-traces-endpoint", FlagKind.String, "", "OTLP/HTTP (protobuf) URL that receives one llm_request span per request, e.g. http://collector:4318/v1/traces; none: no tracing")
        {
            Status = Supported, DefaultText = "none",
            Check = v => ((string)v).Length == 0 || (Uri.TryCreate((string)v, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                ? null
                : $"must be an http:// or https:// URL (got '{v}')",
            Apply = (o, v) => o with { OtlpTracesEndpoint = (string)v! }, Read = o => o.OtlpTracesEndpoint,
        },
        new("log-format", FlagKind.String, "text", "log records as 'text' lines or 'json' objects, one per line (OrleansSim)")
        {
            Status = Supported, Check = OneOf("text", "json"),
            Apply = (o, v) => o with { LogFormat = (string)v! == "json" ? LogFormat.Json : LogFormat.Text },
            Read = o => o.LogFormat == LogFormat.Json ? "json" : "text",
        },
        new("log-level", FlagKind.String, "info", "least severe log level written: trace, debug, info, warning, error or critical (OrleansSim)")
        {
            Status = Supported, EnvVar = "VLLM_LOGGING_LEVEL",
            Check = v => LogLevels.Contains(((string)v).ToLowerInvariant()) ? null : $"must be one of {string.Join(", ", LogLevels)} (got '{v}')",
            Apply = (o, v) => o with { LogLevel = NormalizeLogLevel((string)v!) }, Read = o => o.LogLevel,
        },
        new("omni", FlagKind.Bool, false, "simulate an omni (image-generating) model"),
        new("mm-encoder-only", FlagKind.Bool, false, "run only the multimodal encoder") { HasNoForm = true },
        new("image-emission-rate", FlagKind.Double, 0d, "% of omni responses that carry an image (0..100)") { Check = DoubleBetween(0, 100) },

        // --- vLLM flags accepted and ignored (as llm-d-inference-sim does) ---
        new("mm-processor-kwargs", FlagKind.String, "", "vLLM multimodal processor arguments") { Status = Ignored, DefaultText = "none" },
        new("ec-transfer-config", FlagKind.String, "", "vLLM encoder-cache transfer configuration") { Status = Ignored, DefaultText = "none" },
        new("enforce-eager", FlagKind.Bool, false, "vLLM eager mode") { Status = Ignored },
        new("enable-prefix-caching", FlagKind.Bool, false, "vLLM prefix caching") { Status = Ignored, HasNoForm = true },
        new("tensor-parallel-size", FlagKind.Int, 1, "vLLM tensor parallelism") { Status = Ignored },
        new("v", FlagKind.Int, 2, "klog log verbosity") { Status = Ignored, CommandLineOnly = true },
    ];

    private static string NormalizeLogLevel(string level) => level.ToLowerInvariant();

    public static IReadOnlyDictionary<string, FlagDefinition> ByName { get; } =
        All.ToDictionary(d => d.Name, StringComparer.Ordinal);

    private static string? ScenarioProblem(string path)
    {
        try
        {
            Chaos.ChaosScenario.Load(path);
            return null;
        }
        catch (Chaos.ChaosFormatException ex)
        {
            return $"is not a valid chaos scenario: {ex.Message}";
        }
    }

    private static string? NullIfEmpty(object? v) => v is string { Length: > 0 } s ? s : null;

    private static string? StepProfileProblem(string path)
    {
        if (path.Length == 0)
        {
            return null;
        }

        try
        {
            Engine.StepProfile.Load(path);
            return null;
        }
        catch (OptionsException e)
        {
            return e.Message;
        }
    }

    private static Func<object, string?> IntAtLeast(int min, string? rule = null) =>
        v => (int)v < min ? $"{rule ?? $"cannot be less than {min}"} (got {v})" : null;

    private static Func<object, string?> IntBetween(int min, int max) =>
        v => (int)v < min || (int)v > max ? $"must be between {min} and {max} (got {v})" : null;

    private static Func<object, string?> DoubleAtLeast(double min) =>
        v => (double)v < min ? string.Create(CultureInfo.InvariantCulture, $"cannot be less than {min} (got {v})") : null;

    private static Func<object, string?> DoubleBetween(double min, double max) =>
        v => (double)v < min || (double)v > max
            ? string.Create(CultureInfo.InvariantCulture, $"must be between {min} and {max} (got {v})")
            : null;

    private static string? NotNegative(object v) =>
        (TimeSpan)v < TimeSpan.Zero ? $"cannot be negative (got {DurationText.Format((TimeSpan)v)})" : null;

    private static Func<object, string?> OneOf(params string[] allowed) =>
        v => allowed.Contains((string)v)
            ? null
            : $"must be {string.Join(" or ", allowed.Select(a => $"'{a}'"))} (got '{v}')";
}
