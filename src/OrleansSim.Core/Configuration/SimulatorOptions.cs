namespace OrleansSim.Core.Configuration;

/// <summary>How responses are produced (llm-d-inference-sim's <c>--mode</c>).</summary>
public enum SimulationMode
{
    Random,
    Echo,
}

/// <summary>How silos find each other (<c>--cluster-provider</c>).</summary>
public enum ClusterProvider
{
    /// <summary>This process is a cluster of one (Orleans localhost clustering).</summary>
    Localhost,
    /// <summary>Pods join through a Redis membership table (<c>--cluster-connection</c>).</summary>
    Redis,
}

/// <summary>
/// The one configuration record. Property names mirror the kebab-case flags of vLLM /
/// llm-d-inference-sim (<c>--max-num-seqs</c> → <see cref="MaxNumSeqs"/>). It is built once by
/// <see cref="OptionsLoader"/> (command line &gt; env &gt; YAML &gt; defaults) and flows everywhere.
/// </summary>
public sealed record SimulatorOptions
{
    // --- identity / serving ---
    public string? ConfigFile { get; init; }
    /// <summary>Bind address for the rank listeners (vLLM's <c>--host</c>); default all IPv4 interfaces.</summary>
    public string Host { get; init; } = "0.0.0.0";
    public int Port { get; init; } = 8000;
    public string Model { get; init; } = "";
    /// <summary>Served aliases; the first is the display name and metrics label. Defaults to [Model].</summary>
    public IReadOnlyList<string> ServedModelNames { get; init; } = [];
    public SimulationMode Mode { get; init; } = SimulationMode.Random;
    public long Seed { get; init; }
    public int MaxNumSeqs { get; init; } = 5;
    public int MaxWaitingQueueLength { get; init; } = 1000;
    public int MaxModelLen { get; init; } = 1024;
    /// <summary>/v1/embeddings vector size when the request gives no <c>dimensions</c> (<c>--default-embedding-dimensions</c>).</summary>
    public int DefaultEmbeddingDimensions { get; init; } = 384;
    public int DataParallelSize { get; init; } = 1;
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Path to a Hugging Face tokenizer.json; null → the built-in o200k_base encoding.</summary>
    public string? Tokenizer { get; init; }

    /// <summary>Orleans silo-to-silo port (<c>--silo-port</c>).</summary>
    public int SiloPort { get; init; } = 11111;
    /// <summary>Orleans client gateway port (<c>--gateway-port</c>).</summary>
    public int GatewayPort { get; init; } = 30000;

    // --- cluster (docs/cluster.md) ---
    public ClusterProvider ClusterProvider { get; init; } = ClusterProvider.Localhost;
    /// <summary>Redis connection string of the membership table (<c>--cluster-connection</c>).</summary>
    public string ClusterConnection { get; init; } = "";
    public string ClusterId { get; init; } = "orleanssim";
    public string ServiceId { get; init; } = "orleanssim";
    /// <summary>The address the silo advertises; resolved at load: flag, else POD_IP, else loopback for a local connection.</summary>
    public string AdvertiseAddress { get; init; } = "127.0.0.1";

    // --- timing ---
    public TimeSpan TimeToFirstToken { get; init; }
    public TimeSpan TimeToFirstTokenStdDev { get; init; }
    public TimeSpan InterTokenLatency { get; init; }
    public TimeSpan InterTokenLatencyStdDev { get; init; }

    // --- latency model (llm-d-inference-sim's calculators) ---
    public TimeSpan PrefillOverhead { get; init; }
    public TimeSpan PrefillTimePerToken { get; init; }
    public TimeSpan PrefillTimeStdDev { get; init; }

    /// <summary>P/D: a remotely prefilled request's time to first token (with <see cref="KvCacheTransferLatencyStdDev"/>).</summary>
    public TimeSpan KvCacheTransferLatency { get; init; }

    public TimeSpan KvCacheTransferLatencyStdDev { get; init; }

    /// <summary>P/D: KV transfer time per prompt token, used when the latency and its std-dev are both 0.</summary>
    public TimeSpan KvCacheTransferTimePerToken { get; init; }

    public TimeSpan KvCacheTransferTimeStdDev { get; init; }
    public double TimeFactorUnderLoad { get; init; } = 1;
    /// <summary>"" (legacy: per-token when TTFT is 0), "constant", "per-token" or "step" (the engine clock).</summary>
    public string LatencyCalculator { get; init; } = "";

    /// <summary>True with <c>--latency-calculator step</c>: each rank runs a continuous-batching engine clock (Core/Engine).</summary>
    public bool EngineClock => LatencyCalculator == "step";

    // --- engine clock (--latency-calculator step) ---
    public int MaxNumBatchedTokens { get; init; } = 8192;
    public int LongPrefillTokenThreshold { get; init; }
    /// <summary><c>--step-profile</c> file, null for the built-in profile.</summary>
    public string? StepProfilePath { get; init; }
    public Engine.StepProfile StepProfile { get; init; } = Engine.StepProfile.Default;

    // --- KV cache and KV events ---
    public bool EnableKvCache { get; init; }
    public int KvCacheSize { get; init; } = 1024;
    public int BlockSize { get; init; } = 16;
    /// <summary>PUB endpoint (rank r: port + r); empty = no publishing.</summary>
    public string ZmqEndpoint { get; init; } = "tcp://127.0.0.1:5557";
    /// <summary>Bind the PUB socket instead of connecting to the indexer's bound SUB.</summary>
    public bool ZmqBind { get; init; }
    public int EventBatchSize { get; init; } = 16;
    /// <summary>Events as type-tagged msgpack maps instead of vLLM's positional arrays.</summary>
    public bool KvEventsMapFormat { get; init; }
    public string? KvEventsReplayEndpoint { get; init; }
    public int KvEventsReplayQueueSize { get; init; } = 1024;

    // --- LoRA ---
    /// <summary>Adapters served from the start (<c>--lora-modules</c>); more arrive through /v1/load_lora_adapter.</summary>
    public IReadOnlyList<Lora.LoraModule> LoraModules { get; init; } = [];
    /// <summary>Distinct adapters running requests of one rank may use at once (<c>--max-loras</c>).</summary>
    public int MaxLoras { get; init; } = 1;
    /// <summary><c>--max-cpu-loras</c>; 0 means <see cref="MaxLoras"/>. Validated only (no CPU tier is simulated).</summary>
    public int MaxCpuLoras { get; init; }

    // --- failure injection (Chaos/FailureInjector) ---
    public double FailureInjectionRate { get; init; }
    /// <summary>Kinds to inject (<c>--failure-types</c>); empty = all.</summary>
    public IReadOnlyList<string> FailureTypes { get; init; } = [];

    // --- fake metrics (Server/Metrics, docs/metrics.md) ---
    /// <summary>Pinned metric values (<c>--fake-metrics</c>); null = real metrics.</summary>
    public Metrics.FakeMetricsSpec? FakeMetrics { get; init; }
    /// <summary>How often fake metric functions take a new value (<c>--fake-metrics-refresh-interval</c>).</summary>
    public TimeSpan FakeMetricsRefreshInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    // --- dataset (Generation/Dataset, docs/datasets.md) ---
    /// <summary>SQLite dataset of recorded responses (<c>--dataset-path</c>); null = preset sentences.</summary>
    public string? DatasetPath { get; init; }
    /// <summary>Where to download the dataset from when <see cref="DatasetPath"/> does not exist (<c>--dataset-url</c>).</summary>
    public string? DatasetUrl { get; init; }
    public bool DatasetInMemory { get; init; }
    public string DatasetTableName { get; init; } = "llmd";

    // --- tool calls and structured outputs (Generation/Tools) ---
    /// <summary>Ranges and probabilities for generated tool-call arguments and structured outputs (the <c>--*-tool-call-*</c> flags).</summary>
    public Generation.Tools.ToolCallKnobs ToolCalls { get; init; } = new();
    /// <summary><c>--skip-tool-validation</c>: accept tool definitions outside llm-d-inference-sim's schema whitelist.</summary>
    public bool SkipToolValidation { get; init; }

    // --- observability (Server/Observability) ---
    /// <summary><c>--otlp-traces-endpoint</c>: OTLP/HTTP URL that receives one <c>llm_request</c> span per request; empty = tracing off.</summary>
    public string OtlpTracesEndpoint { get; init; } = "";
    /// <summary><c>--log-format</c>: text (one line per record) or json (one JSON object per line).</summary>
    public LogFormat LogFormat { get; init; } = LogFormat.Text;
    /// <summary><c>--log-level</c>: trace, debug, info, warning, error or critical.</summary>
    public string LogLevel { get; init; } = "info";

    // --- vLLM front-end switches ---
    /// <summary><c>--enable-request-id-headers</c>: responses carry X-Request-Id (the client's, else the generated id).</summary>
    public bool EnableRequestIdHeaders { get; init; }

    /// <summary><c>--enable-sleep-mode</c>: the ranks can be put to sleep (vLLM's sleep mode).</summary>
    public bool EnableSleepMode { get; init; }

    /// <summary>Env <c>VLLM_SERVER_DEV_MODE</c> (a non-zero integer): vLLM's development endpoints are served.</summary>
    public bool ServerDevMode { get; init; }

    /// <summary>True when <c>/sleep</c>, <c>/wake_up</c> and <c>/is_sleeping</c> are served: <see cref="EnableSleepMode"/> and <see cref="ServerDevMode"/>.</summary>
    public bool ServesSleepEndpoints => EnableSleepMode && ServerDevMode;
    /// <summary><c>--enable-force-include-usage</c>: every stream ends with the usage chunk, stream_options or not.</summary>
    public bool EnableForceIncludeUsage { get; init; }

    // --- TLS (Server/Hosting/ServerCertificate) ---
    /// <summary>PEM certificate (chain) served on every rank port (<c>--ssl-certfile</c>); null = plain HTTP unless <see cref="SelfSignedCerts"/>.</summary>
    public string? SslCertFile { get; init; }
    /// <summary>PEM private key of <see cref="SslCertFile"/> (<c>--ssl-keyfile</c>).</summary>
    public string? SslKeyFile { get; init; }
    /// <summary>Serve HTTPS with a certificate generated at startup (<c>--self-signed-certs</c>).</summary>
    public bool SelfSignedCerts { get; init; }

    /// <summary>True when the rank ports serve HTTPS.</summary>
    public bool UsesTls => SelfSignedCerts || SslCertFile is not null;

    // --- chaos (docs/chaos.md) ---
    /// <summary>A chaos scenario YAML played once the pod is ready (<c>--chaos-scenario</c>).</summary>
    public string? ChaosScenario { get; init; }

    // --- admin endpoints ---
    /// <summary>Bearer token <c>/admin/*</c> requires (<c>--admin-token</c>, env ORLEANSSIM_ADMIN_TOKEN); null = open.</summary>
    public string? AdminToken { get; init; }

    // --- pod identity (env POD_NAME / POD_NAMESPACE / POD_IP) ---
    public string PodName { get; init; } = "";
    public string PodNamespace { get; init; } = "default";
    public string PodIp { get; init; } = "127.0.0.1";
    /// <summary>True when POD_NAME or POD_NAMESPACE came from the environment: responses then carry x-inference-* headers.</summary>
    public bool EmitPodHeaders { get; init; }
    public string? HashSeed { get; init; }

    /// <summary>The first served name: what responses and metrics call the base model.</summary>
    public string DisplayModelName => ServedModelNames.Count > 0 ? ServedModelNames[0] : Model;
}

/// <summary>How log records are written to standard output.</summary>
public enum LogFormat
{
    /// <summary>One human-readable line per record.</summary>
    Text,

    /// <summary>One JSON object per line.</summary>
    Json,
}
