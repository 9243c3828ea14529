using System.Globalization;
using OrleansSim.Core.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansSim.Core.Engine;

/// <summary>
/// The time one engine step takes (<c>--latency-calculator step</c>), linear in what the step does:
/// <c>overhead + prefill tokens × prefill-per-token + decoding sequences × decode-per-sequence
/// + KV tokens read / 1000 × kv-read-per-1k-tokens</c>. The KV tokens read are the context (computed tokens)
/// of every sequence in the step, i.e. the KV blocks attention reads × the block size.
/// Defaults approximate Llama-3.1-8B in bf16 on one H100 SXM under vLLM V1 (docs/latency.md gives the
/// derivation and the published numbers they were checked against); <c>--step-profile</c> loads others.
/// </summary>
public sealed record StepProfile
{
    /// <summary>The default profile: an 8B model on one H100.</summary>
    public static StepProfile Default { get; } = new();

    /// <summary>A name for logs and docs.</summary>
    public string Name { get; init; } = "llama-3.1-8b-h100";

    /// <summary>Fixed cost of a step: reading the weights once (16 GB at ~3.3 TB/s) plus scheduling and launch.</summary>
    public TimeSpan Overhead { get; init; } = TimeSpan.FromMilliseconds(6.0);

    /// <summary>Cost of one prompt token computed in the step (compute-bound prefill).</summary>
    public TimeSpan PrefillPerToken { get; init; } = TimeSpan.FromMicroseconds(30);

    /// <summary>Cost of one sequence decoding one token in the step.</summary>
    public TimeSpan DecodePerSequence { get; init; } = TimeSpan.FromMicroseconds(30);

    /// <summary>Cost of reading 1,000 tokens of KV cache in attention (128 KiB per token for an 8B GQA model).</summary>
    public TimeSpan KvReadPer1kTokens { get; init; } = TimeSpan.FromMicroseconds(40);

    /// <summary>Step time for the given work.</summary>
    public TimeSpan StepTime(int prefillTokens, int decodeSequences, long kvTokensRead) =>
        Overhead
        + (PrefillPerToken * prefillTokens)
        + (DecodePerSequence * decodeSequences)
        + TimeSpan.FromTicks((long)(KvReadPer1kTokens.Ticks * (kvTokensRead / 1000.0)));

    /// <summary>
    /// Reads a profile from YAML: a mapping with optional <c>name</c> and the coefficients in milliseconds
    /// (<c>overhead-ms</c>, <c>prefill-per-token-ms</c>, <c>decode-per-sequence-ms</c>, <c>kv-read-per-1k-tokens-ms</c>);
    /// missing coefficients keep their defaults. Throws <see cref="OptionsException"/> naming the key on bad input.
    /// </summary>
    public static StepProfile Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new OptionsException($"failed to read step profile '{path}': {e.Message}", e);
        }

        return Parse(text, path);
    }

    /// <summary>Parses profile YAML (see <see cref="Load"/>); <paramref name="source"/> names it in errors.</summary>
    public static StepProfile Parse(string yaml, string source = "step profile")
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new OptionsException($"failed to parse step profile '{source}': {e.Message}", e);
        }

        var profile = Default;
        if (stream.Documents.Count == 0)
        {
            return profile;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode map)
        {
            throw new OptionsException($"step profile '{source}' must be a mapping of coefficient names to milliseconds");
        }

        foreach (var (keyNode, valueNode) in map.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            var value = (valueNode as YamlScalarNode)?.Value;
            if (key == "name")
            {
                profile = profile with { Name = value ?? profile.Name };
                continue;
            }

            if (value is null || !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) || ms < 0 || double.IsInfinity(ms))
            {
                throw new OptionsException($"step profile '{source}': '{key}' must be a non-negative number of milliseconds (got '{value}')");
            }

            var time = TimeSpan.FromTicks((long)(ms * TimeSpan.TicksPerMillisecond));
            profile = key switch
            {
                "overhead-ms" => profile with { Overhead = time },
                "prefill-per-token-ms" => profile with { PrefillPerToken = time },
                "decode-per-sequence-ms" => profile with { DecodePerSequence = time },
                "kv-read-per-1k-tokens-ms" => profile with { KvReadPer1kTokens = time },
                _ => throw new OptionsException($"step profile '{source}': unknown key '{key}' (expected name, overhead-ms, prefill-per-token-ms, decode-per-sequence-ms, kv-read-per-1k-tokens-ms)"),
            };
        }

        if (profile.StepTime(0, 1, 0) <= TimeSpan.Zero)
        {
            throw new OptionsException($"step profile '{source}': a step must take time (overhead-ms or decode-per-sequence-ms must be positive)");
        }

        return profile;
    }
}
