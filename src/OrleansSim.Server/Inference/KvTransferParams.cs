using System.Text.Json;
using OrleansSim.Core.Configuration;
using OrleansSim.Server.Api;

namespace OrleansSim.Server.Inference;

/// <summary>
/// <c>kv_transfer_params</c> of a chat or text completion, as llm-d's P/D sidecar sends them: with
/// <c>do_remote_decode: true</c> this pod is the prefill pod (it answers after the prefill with one token, finish reason
/// <c>remote_decode</c>, and the parameters the decode pod needs); with <c>do_remote_prefill: true</c> it is the decode pod
/// (the prompt's KV comes from the prefill pod: the time to first token is the KV transfer time, not the prefill).
/// The other fields (<c>remote_engine_id</c>, <c>remote_block_ids</c>, <c>remote_host</c>, <c>remote_port</c>,
/// <c>tp_size</c>) are accepted as sent; nothing is transferred.
/// </summary>
public sealed record KvTransferParams(bool DoRemoteDecode, bool DoRemotePrefill)
{
    public const string Field = "kv_transfer_params";

    /// <summary>The finish reason of a prefill pod's answer (llm-d-inference-sim's).</summary>
    public const string RemoteDecodeFinishReason = "remote_decode";

    /// <summary>The request's parameters, or null when absent (or null). A streamed prefill request is refused, as llm-d's simulator does.</summary>
    public static KvTransferParams? Read(JsonElement body, bool stream)
    {
        if (!body.TryGetProperty(Field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.BadRequest($"'{Field}' must be an object.", Field);
        }

        var decode = Flag(value, "do_remote_decode");
        var prefill = Flag(value, "do_remote_prefill");
        if (decode && stream)
        {
            throw ApiException.BadRequest("Prefill does not support streaming", Field);
        }

        return decode || prefill ? new KvTransferParams(decode, prefill) : null;
    }

    private static bool Flag(JsonElement parameters, string name) =>
        !parameters.TryGetProperty(name, out var flag) ? false
        : flag.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False or JsonValueKind.Null => false,
            _ => throw ApiException.BadRequest($"'{Field}.{name}' must be a boolean.", Field),
        };
}

/// <summary>
/// What a prefill pod returns in <c>kv_transfer_params</c> for the decode pod, with the fields vLLM's NixlConnector
/// returns: this rank's engine id, the prompt's KV block ids (one per <c>--block-size</c> tokens), the pod's address and
/// the rank's NIXL side-channel port (vLLM's default 5600 + data-parallel rank), tensor-parallel size 1.
/// </summary>
public sealed record KvTransferResult(string EngineId, int[] BlockIds, string Host, int Port)
{
    private static readonly JsonEncodedText FieldName = JsonEncodedText.Encode(KvTransferParams.Field);

    public const int NixlSideChannelPort = 5600;

    /// <param name="rankKey">The rank grain's key, <c>&lt;pod&gt;/&lt;rank&gt;</c>.</param>
    public static KvTransferResult For(SimulatorOptions options, string rankKey, int promptTokens)
    {
        var slash = rankKey.LastIndexOf('/');
        var rank = int.Parse(rankKey.AsSpan(slash + 1), System.Globalization.CultureInfo.InvariantCulture);
        var blocks = (promptTokens + options.BlockSize - 1) / options.BlockSize;
        return new KvTransferResult($"{options.PodName}-dp{rank}", [.. Enumerable.Range(0, blocks)], options.AdvertiseAddress, NixlSideChannelPort + rank);
    }

    /// <summary>Writes the response's <c>kv_transfer_params</c> (null when the request was not a prefill-only one).</summary>
    public static void Write(Utf8JsonWriter w, KvTransferResult? result)
    {
        if (result is null)
        {
            w.WriteNull(FieldName);
            return;
        }

        w.WriteStartObject(FieldName);
        w.WriteBoolean("do_remote_decode", false);
        w.WriteBoolean("do_remote_prefill", true);
        w.WriteString("remote_engine_id", result.EngineId);
        w.WriteStartArray("remote_block_ids");
        foreach (var id in result.BlockIds)
        {
            w.WriteNumberValue(id);
        }

        w.WriteEndArray();
        w.WriteString("remote_host", result.Host);
        w.WriteNumber("remote_port", result.Port);
        w.WriteNumber("tp_size", 1);
        w.WriteEndObject();
    }
}
