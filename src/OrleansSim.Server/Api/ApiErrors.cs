using System.Text.Json;

namespace OrleansSim.Server.Api;

/// <summary>
/// A request that must be answered with an error. Thrown anywhere before the first response byte;
/// turned into vLLM's body by <see cref="ApiErrors"/>.
/// </summary>
public sealed class ApiException(int statusCode, string message, string? param = null, string? type = null) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public string? Param { get; } = param;

    /// <summary>The error <c>type</c> when vLLM names it differently from the status (e.g. <c>InvalidUserInput</c>).</summary>
    public string? Type { get; } = type;

    public static ApiException BadRequest(string message, string? param = null) => new(StatusCodes.Status400BadRequest, message, param);
}

/// <summary>
/// The one place that builds vLLM's error body: <c>{"error":{"message","type","param","code"}}</c>
/// (vllm/entrypoints/openai/protocol.py ErrorResponse/ErrorInfo; type from the status as vLLM names it).
/// </summary>
public static class ApiErrors
{
    /// <summary>
    /// Writer options for every response body: non-ASCII text and characters such as <c>`</c> or <c>'</c>
    /// are written as they are (as vLLM's pydantic JSON does), not as <c>\uXXXX</c> escapes.
    /// </summary>
    public static readonly JsonWriterOptions WireOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string TypeFor(int status) => status switch
    {
        400 => "BadRequestError",
        401 => "AuthenticationError",
        403 => "PermissionDeniedError",
        404 => "NotFoundError",
        405 => "MethodNotAllowedError",
        409 => "ConflictError",
        413 => "RequestEntityTooLargeError",
        422 => "UnprocessableEntityError",
        429 => "RateLimitError",
        501 => "NotImplementedError",
        503 => "ServiceUnavailableError",
        >= 500 => "InternalServerError",
        _ => "BadRequestError",
    };

    /// <summary>Writes the <c>{"message",...}</c> object's contents wrapped in <c>"error"</c>.</summary>
    public static void WriteBody(Utf8JsonWriter writer, int status, string message, string? param, string? type = null)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        writer.WriteString("type", type ?? TypeFor(status));
        if (param is null)
        {
            writer.WriteNull("param");
        }
        else
        {
            writer.WriteString("param", param);
        }

        writer.WriteNumber("code", status);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Answers the request with the error (only valid before the response has started).</summary>
    public static Task WriteAsync(HttpContext context, int status, string message, string? param = null, string? type = null) =>
        JsonResponse.WriteAsync(context, (status, message, param, type), static (w, e) => WriteBody(w, e.status, e.message, e.param, e.type), status);

    public static Task WriteAsync(HttpContext context, ApiException error) =>
        WriteAsync(context, error.StatusCode, error.Message, error.Param, error.Type);
}
