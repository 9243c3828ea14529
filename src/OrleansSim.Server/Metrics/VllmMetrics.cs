namespace OrleansSim.Server.Metrics;

/// <summary>
/// vLLM V1's Prometheus metric families as <c>vllm/v1/metrics/loggers.py</c> (PrometheusStatLogger)
/// defines them: names, help texts, label names and histogram buckets are copied from there.
/// Counter names are the family names; the exposition adds <c>_total</c> and <c>_created</c> as prometheus_client does.
/// See docs/metrics.md for the list with sources.
/// </summary>
public static class VllmMetrics
{
    public const string ModelNameLabel = "model_name";
    public const string EngineLabel = "engine";
    public const string FinishedReasonLabel = "finished_reason";

    /// <summary>vllm/v1/engine/__init__.py FINISH_REASON_STRINGS, in FinishReason order.</summary>
    public static readonly string[] FinishReasons = ["stop", "length", "abort", "error", "repetition"];

    // --- scheduler state (gauges) ---
    public const string NumRequestsRunning = "vllm:num_requests_running";
    public const string NumRequestsRunningHelp = "Number of requests in model execution batches.";
    public const string NumRequestsWaiting = "vllm:num_requests_waiting";
    public const string NumRequestsWaitingHelp = "Number of requests waiting to be processed.";
    public const string EngineSleepState = "vllm:engine_sleep_state";
    public const string EngineSleepStateHelp = "Engine sleep state; awake = 0 means engine is sleeping; awake = 1 means engine is awake; weights_offloaded = 1 means sleep level 1; discard_all = 1 means sleep level 2.";
    public static readonly string[] SleepStates = ["awake", "weights_offloaded", "discard_all"];
    public const string KvCacheUsagePerc = "vllm:kv_cache_usage_perc";
    public const string KvCacheUsagePercHelp = "KV-cache usage. 1 means 100 percent usage.";

    // --- counters ---
    public const string PrefixCacheQueries = "vllm:prefix_cache_queries";
    public const string PrefixCacheQueriesHelp = "Prefix cache queries, in terms of number of queried tokens.";
    public const string PrefixCacheHits = "vllm:prefix_cache_hits";
    public const string PrefixCacheHitsHelp = "Prefix cache hits, in terms of number of cached tokens.";
    public const string NumPreemptions = "vllm:num_preemptions";
    public const string NumPreemptionsHelp = "Cumulative number of preemption from the engine.";
    public const string PromptTokens = "vllm:prompt_tokens";
    public const string PromptTokensHelp = "Number of prefill tokens processed.";
    public const string GenerationTokens = "vllm:generation_tokens";
    public const string GenerationTokensHelp = "Number of generation tokens processed.";
    public const string RequestSuccess = "vllm:request_success";
    public const string RequestSuccessHelp = "Count of successfully processed requests.";

    // --- histograms of counts ---
    public const string RequestPromptTokens = "vllm:request_prompt_tokens";
    public const string RequestPromptTokensHelp = "Number of prefill tokens processed.";
    public const string RequestGenerationTokens = "vllm:request_generation_tokens";
    public const string RequestGenerationTokensHelp = "Number of generation tokens processed.";
    public const string IterationTokens = "vllm:iteration_tokens_total";
    public const string IterationTokensHelp = "Histogram of number of tokens per engine_step.";
    public const string RequestMaxNumGenerationTokens = "vllm:request_max_num_generation_tokens";
    public const string RequestMaxNumGenerationTokensHelp = "Histogram of maximum number of requested generation tokens.";
    public const string RequestParamsN = "vllm:request_params_n";
    public const string RequestParamsNHelp = "Histogram of the n request parameter.";
    public const string RequestParamsMaxTokens = "vllm:request_params_max_tokens";
    public const string RequestParamsMaxTokensHelp = "Histogram of the max_tokens request parameter.";

    // --- histograms of timing intervals ---
    public const string TimeToFirstToken = "vllm:time_to_first_token_seconds";
    public const string TimeToFirstTokenHelp = "Histogram of time to first token in seconds.";
    public const string InterTokenLatency = "vllm:inter_token_latency_seconds";
    public const string InterTokenLatencyHelp = "Histogram of inter-token latency in seconds.";
    public const string RequestTimePerOutputToken = "vllm:request_time_per_output_token_seconds";
    public const string RequestTimePerOutputTokenHelp = "Histogram of time_per_output_token_seconds per request.";
    public const string E2eRequestLatency = "vllm:e2e_request_latency_seconds";
    public const string E2eRequestLatencyHelp = "Histogram of e2e request latency in seconds.";
    public const string RequestQueueTime = "vllm:request_queue_time_seconds";
    public const string RequestQueueTimeHelp = "Histogram of time spent in WAITING phase for request.";
    public const string RequestInferenceTime = "vllm:request_inference_time_seconds";
    public const string RequestInferenceTimeHelp = "Histogram of time spent in RUNNING phase for request.";
    public const string RequestPrefillTime = "vllm:request_prefill_time_seconds";
    public const string RequestPrefillTimeHelp = "Histogram of time spent in PREFILL phase for request.";
    public const string RequestDecodeTime = "vllm:request_decode_time_seconds";
    public const string RequestDecodeTimeHelp = "Histogram of time spent in DECODE phase for request.";

    public const string RequestPrefillKvComputedTokens = "vllm:request_prefill_kv_computed_tokens";
    public const string RequestPrefillKvComputedTokensHelp = "Histogram of new KV tokens computed during prefill (excluding cached tokens).";

    // --- info gauges ---
    public const string LoraRequestsInfo = "vllm:lora_requests_info";
    public const string LoraRequestsInfoHelp = "Running stats on lora requests.";
    public static readonly string[] LoraRequestsInfoLabels = ["max_lora", "waiting_lora_adapters", "running_lora_adapters"];
    public const string CacheConfigInfo = "vllm:cache_config_info";
    public const string CacheConfigInfoHelp = "Information of the LLMEngine CacheConfig";

    /// <summary>vllm:iteration_tokens_total buckets.</summary>
    public static readonly double[] IterationTokensBuckets = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

    /// <summary>vllm:request_params_n buckets.</summary>
    public static readonly double[] RequestParamsNBuckets = [1, 2, 5, 10, 20];

    /// <summary>vllm:time_to_first_token_seconds buckets.</summary>
    public static readonly double[] TimeToFirstTokenBuckets =
        [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];

    /// <summary>vllm:inter_token_latency_seconds and vllm:request_time_per_output_token_seconds buckets.</summary>
    public static readonly double[] TokenLatencyBuckets =
        [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];

    /// <summary>request_latency_buckets: e2e, queue, inference, prefill and decode time.</summary>
    public static readonly double[] RequestLatencyBuckets =
        [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];

    /// <summary>vLLM's build_1_2_5_buckets(max_value): 1, 2, 5, 10, 20, 50, … up to max_value.</summary>
    public static double[] Build125Buckets(int maxValue)
    {
        var buckets = new List<double>();
        for (long scale = 1; ; scale *= 10)
        {
            foreach (var mantissa in (ReadOnlySpan<int>)[1, 2, 5])
            {
                var value = mantissa * scale;
                if (value > maxValue)
                {
                    return [.. buckets];
                }

                buckets.Add(value);
            }
        }
    }

    /// <summary>
    /// vllm:cache_config_info's labels: vLLM emits CacheConfig.metrics_info() (every field as str(),
    /// Python spelling) plus <c>engine</c>. This is the subset of fields the simulator can state, with
    /// vLLM's defaults where it has no counterpart.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> CacheConfigLabels(int blockSize, int numGpuBlocks, bool prefixCaching, int engine) =>
    [
        new("block_size", blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("cache_dtype", "auto"),
        new("calculate_kv_scales", "False"),
        new("cpu_offload_gb", "0"),
        new("enable_prefix_caching", prefixCaching ? "True" : "False"),
        new(EngineLabel, engine.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("gpu_memory_utilization", "0.9"),
        new("is_attention_free", "False"),
        new("num_cpu_blocks", "None"),
        new("num_gpu_blocks", numGpuBlocks.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("num_gpu_blocks_override", "None"),
        new("prefix_caching_hash_algo", "sha256"),
        new("sliding_window", "None"),
        new("swap_space", "4"),
    ];
}
