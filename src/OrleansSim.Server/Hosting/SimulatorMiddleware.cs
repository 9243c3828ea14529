using OrleansSim.Core.Configuration;
using OrleansSim.Server.Api;

namespace OrleansSim.Server.Hosting;

/// <summary>
/// Cross-cutting request handling: response headers routers read (x-request-id, x-inference-*),
/// 503 for new inference work while draining, and every error answered in vLLM's body — including
/// the framework's own 404/405 and bad-request failures.
/// </summary>
public sealed class SimulatorMiddleware(RequestDelegate next, SimulatorOptions options, Readiness readiness, ILogger<SimulatorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var requestId = RequestIdentity.Assign(context);
        var headers = context.Response.Headers;
        if (options.EnableRequestIdHeaders)
        {
            headers["x-request-id"] = requestId; // vLLM's XRequestIdMiddleware, only with --enable-request-id-headers
        }

        if (options.EmitPodHeaders)
        {
            headers["x-inference-pod"] = options.PodName;
            headers["x-inference-namespace"] = options.PodNamespace;
            headers["x-inference-port"] = context.Connection.LocalPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var tracked = context.Request.Path.StartsWithSegments("/v1");
        if (tracked && readiness.IsDraining && context.Request.Method == HttpMethods.Post)
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "The server is shutting down.");
            return;
        }

        if (tracked && readiness.IsDatasetPending && context.Request.Method == HttpMethods.Post
            && (context.Request.Path.StartsWithSegments("/v1/chat/completions") || context.Request.Path.StartsWithSegments("/v1/completions")))
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "The server is not ready yet: the dataset is still loading.");
            return;
        }

        if (tracked)
        {
            readiness.Enter();
        }

        try
        {
            await next(context);
        }
        catch (ApiException error) when (!context.Response.HasStarted)
        {
            await ApiErrors.WriteAsync(context, error);
            return;
        }
        catch (BadHttpRequestException error) when (!context.Response.HasStarted)
        {
            await ApiErrors.WriteAsync(context, error.StatusCode, error.Message);
            return;
        }
        catch (ClientGoneException gone)
        {
            // A client leaving mid-body is normal: no answer to write, no failure to log.
            logger.LogDebug("Request {RequestId}: the client left while sending its body ({Reason})", requestId, gone.InnerException?.Message);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (Exception error) when (!context.Response.HasStarted)
        {
            logger.LogError(error, "Request {RequestId} failed", requestId);
            await ApiErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, $"Internal server error: {error.Message}");
            return;
        }
        finally
        {
            if (tracked)
            {
                readiness.Exit();
            }
        }

        // Framework answers without a body (no route: 404, wrong method: 405) get vLLM's error body too.
        if (!context.Response.HasStarted && context.Response.StatusCode is 404 or 405 && context.Response.ContentLength is null or 0)
        {
            var status = context.Response.StatusCode;
            var message = status == 404
                ? $"Not Found: {context.Request.Method} {context.Request.Path}"
                : $"Method Not Allowed: {context.Request.Method} {context.Request.Path}";
            await ApiErrors.WriteAsync(context, status, message);
        }
    }
}
