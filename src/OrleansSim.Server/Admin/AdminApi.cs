using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansSim.Core.Configuration;
using OrleansSim.Server.Api;

namespace OrleansSim.Server.Admin;

/// <summary>
/// <c>/admin/*</c> on every rank port: llm-d-inference-sim's <c>GET/POST /admin/config</c>. With
/// <c>--admin-token</c> every admin endpoint needs <c>Authorization: Bearer &lt;token&gt;</c>.
/// </summary>
public static class AdminApi
{
    public static RouteGroupBuilder MapAdminGroup(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").AddEndpointFilter(RequireToken);
        admin.MapGet("/config", GetConfig).WithName("GetAdminConfig")
            .WithSummary("The live configuration as JSON (the startup dump's keys)");
        admin.MapPost("/config", UpdateConfigAsync).WithName("UpdateAdminConfig")
            .WithSummary("Partial update of the runtime-configurable keys (failure injection, fake metrics, latency fields) for every rank of this pod; any other key is a 400 and a rejected update changes nothing")
            .WithJsonExample("""{"time-to-first-token":"200ms","inter-token-latency":"20ms","failure-injection-rate":10,"failure-types":["rate_limit","server_error"]}""");
        return admin;
    }

    private static async ValueTask<object?> RequireToken(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var options = context.HttpContext.RequestServices.GetRequiredService<SimulatorOptions>();
        if (options.AdminToken is { } token && !Authorized(context.HttpContext.Request.Headers.Authorization.ToString(), token))
        {
            throw new ApiException(StatusCodes.Status401Unauthorized, "Unauthorized: the admin endpoints need 'Authorization: Bearer <admin token>' (--admin-token).");
        }

        return await next(context);
    }

    private static bool Authorized(string header, string token)
    {
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var given = Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim());
        var expected = Encoding.UTF8.GetBytes(token);
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }

    private static Task GetConfig(HttpContext context, RuntimeSettings settings) => WriteConfigAsync(context, settings.ToJson());

    private static async Task UpdateConfigAsync(HttpContext context, RuntimeSettings settings, ILoggerFactory logs)
    {
        using var document = await RequestBody.ReadJsonAsync(context);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.BadRequest("The request body must be a JSON object of configuration keys.");
        }

        var patch = JsonNode.Parse(document.RootElement.GetRawText())!.AsObject();
        try
        {
            settings.Update(patch);
        }
        catch (OptionsException ex)
        {
            throw ApiException.BadRequest(ex.Message, FieldOf(ex.Message));
        }

        logs.CreateLogger("OrleansSim.Admin").LogInformation("admin config updated: {Keys}", string.Join(", ", patch.Select(p => p.Key)));
        await WriteConfigAsync(context, settings.ToJson());
    }

    /// <summary>The key named in an update error (<c>field 'x' …</c>), for the error body's <c>param</c>.</summary>
    private static string? FieldOf(string message)
    {
        var start = message.IndexOf('\'', StringComparison.Ordinal);
        var end = start < 0 ? -1 : message.IndexOf('\'', start + 1);
        return end > start ? message[(start + 1)..end] : null;
    }

    private static async Task WriteConfigAsync(HttpContext context, string json)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json, context.RequestAborted);
    }
}
