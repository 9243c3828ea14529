using OrleansSim.Core.Engine;
using System.Globalization;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.Metrics;
using OrleansSim.Grains.Ranks;
using OrleansSim.Server.Inference;
using OrleansSim.Server.Observability;

namespace OrleansSim.Server.Metrics;

/// <summary>
/// One rank's vLLM metrics in its own registry (served by GET /metrics on the rank's port), labelled
/// <c>model_name</c> (the first served name) and <c>engine</c> (the rank), as vLLM's PrometheusStatLogger,
/// in vLLM's registration order. Counters and histograms are fed per request through <see cref="Begin"/>;
/// the scheduler gauges and <c>vllm:lora_requests_info</c> are read from the rank grain once per scrape.
/// With <c>--fake-metrics</c> the families keep their names and labels but report the pinned values only:
/// real traffic records nothing (as in llm-d-inference-sim) and the gauges come from the fake clock.
/// </summary>
public sealed class RankMetrics
{
    private readonly SimulatorOptions _options;
    private readonly IRankGrain _grain;
    private readonly string _maxLora;

    private readonly GaugeFamily.Gauge _running;
    private readonly GaugeFamily.Gauge _waiting;
    private readonly GaugeFamily.Gauge _kvUsage;
    private readonly GaugeFamily.Gauge[] _sleepStates;
    private readonly CounterFamily.Counter _prefixQueries;
    private readonly CounterFamily.Counter _prefixHits;
    private readonly CounterFamily.Counter _preemptions;
    private readonly CounterFamily _success;
    private readonly GaugeFamily _loraInfo;
    private readonly string[] _labels;
    private readonly FakeMetricsClock? _fake;
    private readonly RequestTelemetry? _telemetry;

    public RankMetrics(SimulatorOptions options, int rank, IRankGrain grain, TimeProvider time, FakeMetricsClock? fake = null, RequestTelemetry? telemetry = null)
    {
        _telemetry = telemetry;
        _options = options;
        _fake = fake;
        _grain = grain;
        Rank = rank;
        Time = time;
        _maxLora = options.MaxLoras.ToString(CultureInfo.InvariantCulture);
        Registry = new MetricsRegistry(time);
        string[] names = [VllmMetrics.ModelNameLabel, VllmMetrics.EngineLabel];
        _labels = [options.DisplayModelName, rank.ToString(CultureInfo.InvariantCulture)];
        var r = Registry;

        _running = r.Gauge(VllmMetrics.NumRequestsRunning, VllmMetrics.NumRequestsRunningHelp, names).WithLabels(_labels);
        _waiting = r.Gauge(VllmMetrics.NumRequestsWaiting, VllmMetrics.NumRequestsWaitingHelp, names).WithLabels(_labels);
        var sleep = r.Gauge(VllmMetrics.EngineSleepState, VllmMetrics.EngineSleepStateHelp, [.. names, "sleep_state"]);
        _sleepStates = [.. VllmMetrics.SleepStates.Select(state => sleep.WithLabels([.. _labels, state]))];
        SetSleepState(null);

        _kvUsage = r.Gauge(VllmMetrics.KvCacheUsagePerc, VllmMetrics.KvCacheUsagePercHelp, names).WithLabels(_labels);
        _prefixQueries = r.Counter(VllmMetrics.PrefixCacheQueries, VllmMetrics.PrefixCacheQueriesHelp, names).WithLabels(_labels);
        _prefixHits = r.Counter(VllmMetrics.PrefixCacheHits, VllmMetrics.PrefixCacheHitsHelp, names).WithLabels(_labels);
        // Moves only with --latency-calculator step (the engine clock preempts when KV blocks run out); else stays at zero.
        _preemptions = r.Counter(VllmMetrics.NumPreemptions, VllmMetrics.NumPreemptionsHelp, names).WithLabels(_labels);
        PromptTokens = r.Counter(VllmMetrics.PromptTokens, VllmMetrics.PromptTokensHelp, names).WithLabels(_labels);
        GenerationTokens = r.Counter(VllmMetrics.GenerationTokens, VllmMetrics.GenerationTokensHelp, names).WithLabels(_labels);
        _success = r.Counter(VllmMetrics.RequestSuccess, VllmMetrics.RequestSuccessHelp, [.. names, VllmMetrics.FinishedReasonLabel]);
        foreach (var reason in VllmMetrics.FinishReasons)
        {
            RequestSuccess(reason); // every reason exists at zero from the start, as in vLLM
        }

        var tokenBuckets = VllmMetrics.Build125Buckets(options.MaxModelLen);
        HistogramFamily.Histogram Histogram(string name, string help, double[] buckets) => r.Histogram(name, help, buckets, names).WithLabels(_labels);
        RequestPromptTokens = Histogram(VllmMetrics.RequestPromptTokens, VllmMetrics.RequestPromptTokensHelp, tokenBuckets);
        RequestGenerationTokens = Histogram(VllmMetrics.RequestGenerationTokens, VllmMetrics.RequestGenerationTokensHelp, tokenBuckets);
        IterationTokens = Histogram(VllmMetrics.IterationTokens, VllmMetrics.IterationTokensHelp, VllmMetrics.IterationTokensBuckets);
        RequestMaxNumGenerationTokens = Histogram(VllmMetrics.RequestMaxNumGenerationTokens, VllmMetrics.RequestMaxNumGenerationTokensHelp, tokenBuckets);
        RequestParamsN = Histogram(VllmMetrics.RequestParamsN, VllmMetrics.RequestParamsNHelp, VllmMetrics.RequestParamsNBuckets);
        RequestParamsMaxTokens = Histogram(VllmMetrics.RequestParamsMaxTokens, VllmMetrics.RequestParamsMaxTokensHelp, tokenBuckets);
        TimeToFirstToken = Histogram(VllmMetrics.TimeToFirstToken, VllmMetrics.TimeToFirstTokenHelp, VllmMetrics.TimeToFirstTokenBuckets);
        InterTokenLatency = Histogram(VllmMetrics.InterTokenLatency, VllmMetrics.InterTokenLatencyHelp, VllmMetrics.TokenLatencyBuckets);
        RequestTimePerOutputToken = Histogram(VllmMetrics.RequestTimePerOutputToken, VllmMetrics.RequestTimePerOutputTokenHelp, VllmMetrics.TokenLatencyBuckets);
        E2eLatency = Histogram(VllmMetrics.E2eRequestLatency, VllmMetrics.E2eRequestLatencyHelp, VllmMetrics.RequestLatencyBuckets);
        QueueTime = Histogram(VllmMetrics.RequestQueueTime, VllmMetrics.RequestQueueTimeHelp, VllmMetrics.RequestLatencyBuckets);
        InferenceTime = Histogram(VllmMetrics.RequestInferenceTime, VllmMetrics.RequestInferenceTimeHelp, VllmMetrics.RequestLatencyBuckets);
        PrefillTime = Histogram(VllmMetrics.RequestPrefillTime, VllmMetrics.RequestPrefillTimeHelp, VllmMetrics.RequestLatencyBuckets);
        DecodeTime = Histogram(VllmMetrics.RequestDecodeTime, VllmMetrics.RequestDecodeTimeHelp, VllmMetrics.RequestLatencyBuckets);
        PrefillKvComputedTokens = Histogram(VllmMetrics.RequestPrefillKvComputedTokens, VllmMetrics.RequestPrefillKvComputedTokensHelp, tokenBuckets);
        TokenLateness = Histogram(TokenLatenessName, TokenLatenessHelp, TokenLatenessBuckets);

        _loraInfo = r.Gauge(VllmMetrics.LoraRequestsInfo, VllmMetrics.LoraRequestsInfoHelp, VllmMetrics.LoraRequestsInfoLabels);

        var cacheLabels = VllmMetrics.CacheConfigLabels(options.BlockSize, options.KvCacheSize, prefixCaching: options.EnableKvCache, rank);
        r.Gauge(VllmMetrics.CacheConfigInfo, VllmMetrics.CacheConfigInfoHelp, [.. cacheLabels.Select(l => l.Key)])
            .WithLabels([.. cacheLabels.Select(l => l.Value)])
            .Set(1);

        if (fake is not null)
        {
            Pin(fake.Spec, tokenBuckets);
        }

        Registry.BeforeCollect(RefreshFromRankAsync);
    }

    public int Rank { get; }

    public MetricsRegistry Registry { get; }

    internal TimeProvider Time { get; }

    /// <summary>True with <c>--fake-metrics</c>: requests record nothing.</summary>
    internal bool Frozen => _fake is not null;

    internal CounterFamily.Counter PromptTokens { get; }

    internal CounterFamily.Counter GenerationTokens { get; }

    internal HistogramFamily.Histogram RequestPromptTokens { get; }

    internal HistogramFamily.Histogram RequestGenerationTokens { get; }

    internal HistogramFamily.Histogram IterationTokens { get; }

    internal HistogramFamily.Histogram RequestMaxNumGenerationTokens { get; }

    internal HistogramFamily.Histogram RequestParamsN { get; }

    internal HistogramFamily.Histogram RequestParamsMaxTokens { get; }

    internal HistogramFamily.Histogram TimeToFirstToken { get; }

    internal HistogramFamily.Histogram InterTokenLatency { get; }

    internal HistogramFamily.Histogram RequestTimePerOutputToken { get; }

    internal HistogramFamily.Histogram E2eLatency { get; }

    internal HistogramFamily.Histogram QueueTime { get; }

    internal HistogramFamily.Histogram InferenceTime { get; }

    internal HistogramFamily.Histogram PrefillTime { get; }

    internal HistogramFamily.Histogram DecodeTime { get; }

    internal HistogramFamily.Histogram PrefillKvComputedTokens { get; }

    /// <summary>
    /// <c>orleanssim:token_lateness_seconds</c> (not a vLLM family): for every streamed token step, the time its write
    /// returned minus the time it was due (the planned deadline, or with <c>--latency-calculator step</c> the end of the
    /// engine step that produced it). The pacer releases a token up to 0.5 ms early, so the first bucket holds those too.
    /// </summary>
    internal HistogramFamily.Histogram TokenLateness { get; }

    public const string TokenLatenessName = "orleanssim:token_lateness_seconds";

    public const string TokenLatenessHelp = "Streamed token steps: time the write returned minus the time the step was due.";

    public static readonly double[] TokenLatenessBuckets = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

    /// <summary>True with <c>--latency-calculator step</c>: iteration tokens are observed per engine step, not per request.</summary>
    internal bool EngineSteps => _options.EngineClock;

    /// <summary>One engine step of this rank: vllm:iteration_tokens_total and vllm:num_preemptions move per step, as in vLLM.</summary>
    public void OnEngineStep(EngineStep step)
    {
        if (Frozen)
        {
            return;
        }

        IterationTokens.Observe(step.Tokens);
        if (step.Preempted > 0)
        {
            _preemptions.Inc(step.Preempted);
        }
    }

    /// <summary>Starts tracing one request that arrived now; <paramref name="headers"/> may carry its W3C trace context.</summary>
    public RequestTrace Begin(InferenceRequest request, IHeaderDictionary? headers = null) => new(this, request, _options.MaxModelLen, _telemetry, headers);

    internal CounterFamily.Counter RequestSuccess(string reason) => _success.WithLabels([.. _labels, reason]);

    /// <summary>
    /// Adds prompt tokens looked up in the prefix cache and how many of them were cached (the rank
    /// grain's lookup at admission; the same number the response reports as cached_tokens).
    /// </summary>
    public void AddPrefixCache(long queries, long hits)
    {
        if (Frozen)
        {
            return;
        }

        _prefixQueries.Inc(queries);
        _prefixHits.Inc(hits);
    }

    /// <summary>
    /// vLLM's record_sleep_state: awake = 1 when <paramref name="sleepLevel"/> is null, else 0; weights_offloaded = 1 at
    /// level 1; discard_all = 1 at level 2 (in <see cref="VllmMetrics.SleepStates"/> order).
    /// </summary>
    private void SetSleepState(int? sleepLevel)
    {
        _sleepStates[0].Set(sleepLevel is null ? 1 : 0);
        _sleepStates[1].Set(sleepLevel == 1 ? 1 : 0);
        _sleepStates[2].Set(sleepLevel == 2 ? 1 : 0);
    }

    private async Task RefreshFromRankAsync(CancellationToken cancellationToken)
    {
        if (_fake is not null)
        {
            // Pinned gauges take their value at this scrape; the others stay at 0 (nothing real is reported).
            _running.Set(_fake.Running() ?? 0);
            _waiting.Set(_fake.Waiting() ?? 0);
            _kvUsage.Set(_fake.KvCacheUsage() ?? 0);
            return;
        }

        var status = await _grain.GetStatus().WaitAsync(cancellationToken);
        _running.Set(status.Running);
        SetSleepState(status.SleepLevel);
        _waiting.Set(status.Waiting);
        // Blocks pinned by running requests over the rank's capacity, as vLLM's KV cache manager reports usage.
        _kvUsage.Set(status.KvBlocksTotal > 0 ? (double)status.KvBlocksUsed / status.KvBlocksTotal : 0);
        // vLLM sets the series of each (waiting, running) adapter combination it sees to the time of that
        // update; series of earlier combinations stay, with their older times.
        foreach (var change in status.LoraChanges)
        {
            _loraInfo.WithLabels(_maxLora, change.Waiting, change.Running).Set(change.At.ToUnixTimeMilliseconds() / 1000.0);
        }
    }

    /// <summary>Writes the pinned counters, histograms and LoRA series once; nothing else ever changes them.</summary>
    private void Pin(FakeMetricsSpec spec, double[] tokenBuckets)
    {
        static void Fill(HistogramFamily.Histogram histogram, IReadOnlyList<double> bounds, IReadOnlyList<long>? values)
        {
            if (values is not null)
            {
                var fill = FakeHistogramFill.Of(bounds, values);
                histogram.AddBuckets(fill.Counts, fill.Sum);
            }
        }

        Fill(TimeToFirstToken, VllmMetrics.TimeToFirstTokenBuckets, spec.TtftBuckets);
        Fill(InterTokenLatency, VllmMetrics.TokenLatencyBuckets, spec.TpotBuckets);
        Fill(RequestTimePerOutputToken, VllmMetrics.TokenLatencyBuckets, spec.RequestTpotBuckets);
        Fill(E2eLatency, VllmMetrics.RequestLatencyBuckets, spec.E2eBuckets);
        Fill(QueueTime, VllmMetrics.RequestLatencyBuckets, spec.QueueTimeBuckets);
        Fill(InferenceTime, VllmMetrics.RequestLatencyBuckets, spec.InferenceTimeBuckets);
        Fill(PrefillTime, VllmMetrics.RequestLatencyBuckets, spec.PrefillTimeBuckets);
        Fill(DecodeTime, VllmMetrics.RequestLatencyBuckets, spec.DecodeTimeBuckets);
        Fill(RequestParamsMaxTokens, tokenBuckets, spec.RequestParamsMaxTokens);
        Fill(RequestMaxNumGenerationTokens, tokenBuckets, spec.RequestMaxGenerationTokens);
        Fill(RequestPromptTokens, tokenBuckets, spec.RequestPromptTokens);
        Fill(RequestGenerationTokens, tokenBuckets, spec.RequestGenerationTokens);

        // The token counters: the explicit total, else the sum of the matching per-request histogram.
        var prompt = spec.TotalPromptTokens ?? (spec.RequestPromptTokens is { } p ? FakeHistogramFill.Of(tokenBuckets, p).Sum : 0);
        var generation = spec.TotalGenerationTokens ?? (spec.RequestGenerationTokens is { } g ? FakeHistogramFill.Of(tokenBuckets, g).Sum : 0);
        PromptTokens.Inc(prompt);
        GenerationTokens.Inc(generation);
        foreach (var (reason, count) in spec.RequestSuccessTotal ?? new Dictionary<string, long>())
        {
            RequestSuccess(reason).Inc(count);
        }

        _prefixQueries.Inc(spec.PrefixCacheQueries ?? 0);
        _prefixHits.Inc(spec.PrefixCacheHits ?? 0);

        // vllm:lora_requests_info: the given series, else the one with empty adapter lists stamped now.
        var loras = spec.Loras is { Count: > 0 } given ? given : [new FakeLoraSeries("", "", Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0)];
        foreach (var lora in loras)
        {
            _loraInfo.WithLabels(_maxLora, lora.Waiting, lora.Running).Set(lora.Timestamp);
        }
    }
}
