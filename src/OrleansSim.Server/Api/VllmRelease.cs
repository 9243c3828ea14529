using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using OrleansSim.Core.Configuration;

namespace OrleansSim.Server.Api;

/// <summary>
/// The one vLLM release whose wire format OrleansSim matches (README, "vLLM wire version"): <c>GET /version</c> reports
/// it and the OpenAI surfaces stamp it into <c>system_fingerprint</c>.
/// </summary>
public static class VllmRelease
{
    /// <summary>The pinned vLLM version, as vLLM's <c>GET /version</c> answers it.</summary>
    public const string Version = "0.33.0";

    /// <summary>
    /// vLLM's default (<c>--fingerprint-mode full</c>) system_fingerprint: <c>vllm-&lt;version&gt;[-dp&lt;N&gt;]-&lt;hash8&gt;</c>.
    /// vLLM's hash8 is the head of its config hash; here it is the head of a SHA-256 over the settings that identify the
    /// served model (name, context window, slots, ranks), so it is stable across restarts of the same configuration.
    /// </summary>
    public static string Fingerprint(SimulatorOptions options)
    {
        var identity = string.Join('\n', options.Model, options.MaxModelLen.ToString(CultureInfo.InvariantCulture),
            options.MaxNumSeqs.ToString(CultureInfo.InvariantCulture), options.DataParallelSize.ToString(CultureInfo.InvariantCulture));
        var hash8 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..8];
        return options.DataParallelSize > 1
            ? $"vllm-{Version}-dp{options.DataParallelSize}-{hash8}"
            : $"vllm-{Version}-{hash8}";
    }
}
