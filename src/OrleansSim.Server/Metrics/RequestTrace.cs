using System.Diagnostics;
using OrleansSim.Core.Generation;
using OrleansSim.Server.Inference;
using OrleansSim.Server.Observability;

namespace OrleansSim.Server.Metrics;

/// <summary>
/// One request's way through a rank, recorded into that rank's <see cref="RankMetrics"/> the way vLLM's
/// IterationStats/RequestStateStats do. Every choice (prompt × n) is one engine request in vLLM, so
/// per-request histograms and vllm:request_success are observed once per choice; vllm:request_params_n
/// and vllm:request_max_num_generation_tokens once per prompt (vLLM's parent request).
/// Timestamps are the real ones: arrival (Begin), slot held (<see cref="OnAdmitted"/>) and the moment
/// each token step reached the client (<see cref="OnStep"/>). Not thread-safe: one request, one flow.
/// When tracing or request logging is on, each finished choice also goes to <see cref="RequestTelemetry"/>
/// (vLLM's <c>llm_request</c> span).
/// </summary>
public sealed class RequestTrace
{
    private readonly RankMetrics _metrics;
    private readonly InferenceRequest _request;
    private readonly int _maxModelLen;
    private readonly long _arrivedAt;
    private readonly RequestTelemetry? _telemetry;
    private readonly DateTimeOffset _arrivedWall;
    private readonly ActivityContext _parent;
    private readonly List<long> _steps = [];
    private long _admittedAt;
    private TimeSpan _queueTime;
    private GeneratedText[] _choices = [];
    private bool _finished;

    internal RequestTrace(RankMetrics metrics, InferenceRequest request, int maxModelLen, RequestTelemetry? telemetry, IHeaderDictionary? headers)
    {
        _metrics = metrics;
        _request = request;
        _maxModelLen = maxModelLen;
        _arrivedAt = metrics.Time.GetTimestamp();
        if (telemetry is { Active: true })
        {
            _telemetry = telemetry;
            _arrivedWall = metrics.Time.GetUtcNow();
            _parent = headers is null ? default : telemetry.ParentOf(headers);
        }
    }

    /// <summary>The request holds a slot (since <paramref name="slotHeldAt"/>) after waiting <paramref name="queueTime"/>; its output is planned.</summary>
    /// <param name="cachedTokens">Prompt tokens found in the prefix cache; null when the KV cache is off (no lookup happens, as in vLLM without prefix caching).</param>
    public void OnAdmitted(TimeSpan queueTime, long slotHeldAt, GeneratedText[] choices, int? cachedTokens)
    {
        _queueTime = queueTime;
        _admittedAt = slotHeldAt;
        _choices = choices;
        if (_metrics.Frozen)
        {
            return; // --fake-metrics: real traffic moves no metric (the timings still feed the span)
        }

        var steps = 1;
        foreach (var choice in choices)
        {
            steps = Math.Max(steps, choice.Tokens.Count);
        }

        _steps.EnsureCapacity(steps);
        if (cachedTokens is { } hits)
        {
            _metrics.AddPrefixCache(_request.PromptTokens, hits);
        }
    }

    /// <summary>
    /// Token step k of a stream, due at timestamp <paramref name="due"/>, was written at <paramref name="at"/>:
    /// <see cref="OnStep(long)"/> plus the step's lateness (<c>orleanssim:token_lateness_seconds</c>).
    /// </summary>
    public void OnStep(long at, long due)
    {
        if (!_metrics.Frozen)
        {
            _metrics.TokenLateness.Observe((at - due) / (double)_metrics.Time.TimestampFrequency);
        }

        OnStep(at);
    }

    /// <summary>Token step k (k = 0 is the first token) reached the client at timestamp <paramref name="at"/>.</summary>
    public void OnStep(long at)
    {
        var k = _steps.Count;
        _steps.Add(at);
        if (_metrics.Frozen)
        {
            return; // --fake-metrics: real traffic moves no metric
        }

        var producing = 0;
        foreach (var choice in _choices)
        {
            producing += choice.Tokens.Count > k ? 1 : 0; // a loop, not Count(lambda): no closure per token
        }

        _metrics.GenerationTokens.Inc(producing);
        if (k == 0)
        {
            var promptTokens = PromptTokensOfAllChoices();
            _metrics.PromptTokens.Inc(promptTokens);
            if (!_metrics.EngineSteps)
            {
                _metrics.IterationTokens.Observe(promptTokens + producing);
            }

            var ttft = Seconds(_arrivedAt, at);
            for (var c = 0; c < _choices.Length; c++)
            {
                _metrics.TimeToFirstToken.Observe(ttft);
            }

            return;
        }

        if (!_metrics.EngineSteps)
        {
            _metrics.IterationTokens.Observe(producing); // with the engine clock the rank observes whole steps
        }

        var gap = Seconds(_steps[k - 1], at);
        for (var c = 0; c < producing; c++)
        {
            _metrics.InterTokenLatency.Observe(gap);
        }
    }

    /// <summary>Every choice finished with its own finish reason.</summary>
    public void OnFinished() => Finish(null);

    /// <summary>The client went away (vLLM's finished_reason <c>abort</c>).</summary>
    public void OnAborted() => Finish("abort");

    /// <summary>The request failed after it was accepted (vLLM's finished_reason <c>error</c>).</summary>
    public void OnFailed() => Finish("error");

    private void Finish(string? reason)
    {
        if (_finished || (_metrics.Frozen && _telemetry is null))
        {
            return; // --fake-metrics without tracing: real traffic moves nothing
        }

        _finished = true;
        var now = _metrics.Time.GetTimestamp();
        var e2e = Seconds(_arrivedAt, now);
        var admitted = _admittedAt != 0;
        var queue = admitted ? _queueTime.TotalSeconds : e2e;
        var choiceCount = admitted ? _choices.Length : _request.ChoiceCount;
        var perPromptMax = new int[_request.Prompts.Count];

        for (var c = 0; c < choiceCount; c++)
        {
            var prompt = c / _request.N;
            var planned = admitted ? _choices[c].Tokens.Count : 0;
            var generated = Math.Min(planned, _steps.Count);
            perPromptMax[prompt] = Math.Max(perPromptMax[prompt], generated);

            var prefill = 0.0;
            var decode = 0.0;
            if (_steps.Count > 0)
            {
                prefill = Seconds(_admittedAt, _steps[0]);
                decode = Seconds(_steps[0], _steps[Math.Max(generated, 1) - 1]);
            }

            var finishReason = reason ?? _choices[c].FinishReason;
            if (_telemetry is not null)
            {
                var ttft = _steps.Count > 0 ? Seconds(_arrivedAt, _steps[0]) : 0;
                _telemetry.Record(new FinishedRequest(EngineRequestId(prompt), _request.ResponseModel, _metrics.Rank, finishReason,
                    _request.Prompts[prompt].PromptTokens, generated, _request.MaxTokens, _request.N, ttft, queue, prefill, decode, e2e,
                    _arrivedWall, _arrivedWall + _metrics.Time.GetElapsedTime(_arrivedAt, now), _parent));
            }

            if (_metrics.Frozen)
            {
                continue; // --fake-metrics: real traffic moves no metric
            }

            _metrics.RequestSuccess(finishReason).Inc();
            _metrics.E2eLatency.Observe(e2e);
            _metrics.QueueTime.Observe(queue);
            _metrics.PrefillTime.Observe(prefill);
            _metrics.InferenceTime.Observe(prefill + decode);
            _metrics.DecodeTime.Observe(decode);
            _metrics.RequestPromptTokens.Observe(_request.Prompts[prompt].PromptTokens);
            _metrics.PrefillKvComputedTokens.Observe(_request.Prompts[prompt].PromptTokens); // no cached tokens yet
            _metrics.RequestGenerationTokens.Observe(generated);
            _metrics.RequestTimePerOutputToken.Observe(generated > 1 ? decode / (generated - 1) : 0);
            if (_request.GeneratesTokens)
            {
                // Pooling requests (embeddings) have no max_tokens parameter.
                _metrics.RequestParamsMaxTokens.Observe(_request.MaxTokens ?? _maxModelLen - _request.Prompts[prompt].PromptTokens);
            }
        }

        for (var p = 0; p < _request.Prompts.Count && !_metrics.Frozen; p++)
        {
            _metrics.RequestParamsN.Observe(_request.N);
            _metrics.RequestMaxNumGenerationTokens.Observe(perPromptMax[p]);
        }
    }

    /// <summary>
    /// The id vLLM's span carries: the response id (<c>chatcmpl-&lt;id&gt;</c>); completions run each prompt i as
    /// <c>cmpl-&lt;id&gt;-i</c>, as vLLM's serving_completion names them.
    /// </summary>
    private string EngineRequestId(int prompt) => _request.Surface switch
    {
        Surfaces.Chat.ChatSurface => Surfaces.Chat.ChatWriter.IdPrefix + _request.RequestId,
        Surfaces.Completions.CompletionsSurface => $"{Surfaces.Completions.CompletionsWriter.IdPrefix}{_request.RequestId}-{prompt}",
        _ => _request.RequestId,
    };

    private long PromptTokensOfAllChoices() => (long)_request.PromptTokens * _request.N;

    private double Seconds(long from, long to) => _metrics.Time.GetElapsedTime(from, to).TotalSeconds;
}
