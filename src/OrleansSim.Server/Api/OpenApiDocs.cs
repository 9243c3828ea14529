using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace OrleansSim.Server.Api;

/// <summary>
/// An example JSON request body for an endpoint, shown in the OpenAPI document and Swagger UI. Endpoints
/// read their bodies themselves (so every field error names the field), which leaves the generated
/// document without a request body; this metadata puts one back without restricting content types.
/// </summary>
public sealed record JsonRequestExample(string Json);

public static class OpenApiDocs
{
    public static RouteHandlerBuilder WithJsonExample(this RouteHandlerBuilder builder, string json) =>
        builder.WithMetadata(new JsonRequestExample(json));

    /// <summary>Adds the documented request bodies (application/json with the example) to the document.</summary>
    public static OpenApiOptions AddJsonRequestExamples(this OpenApiOptions options) =>
        options.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<JsonRequestExample>().FirstOrDefault() is { } example)
            {
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/json"] = new() { Example = JsonNode.Parse(example.Json) },
                    },
                };
            }

            return Task.CompletedTask;
        });
}
