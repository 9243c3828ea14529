using System.Buffers;

namespace OrleansSim.Server.Api;

/// <summary>Reads a whole request body (bounded by Kestrel's MaxRequestBodySize).</summary>
public static class RequestBody
{
    public static async Task<ReadOnlyMemory<byte>> ReadAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted);
            if (result.IsCompleted || result.IsCanceled)
            {
                var bytes = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return bytes;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}

/// <summary>The request id: the client's X-Request-Id, else a new one (vLLM's _base_request_id).</summary>
public static class RequestIdentity
{
    private const string Key = "orleanssim.request-id";

    public static string Of(HttpContext context)
    {
        if (context.Items[Key] is string id)
        {
            return id;
        }

        id = context.Request.Headers["X-Request-Id"].ToString();
        if (string.IsNullOrEmpty(id))
        {
            id = Guid.NewGuid().ToString("N");
        }

        context.Items[Key] = id;
        return id;
    }
}
