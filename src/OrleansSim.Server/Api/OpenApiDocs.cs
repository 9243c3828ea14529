using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace OrleansSim.Server.Api;

/// <summary>
/// An example JSON request body for an endpoint, shown in the OpenAPI document and Swagger UI. Endpoints
/// read their bodies themselves (so every field error names the field), which leaves the generated
/// document without a request body; this metadata puts one back without restricting content types.
/// </summary>
public sealed record JsonRequestExample(string Json)
{
    /// <summary>Further named examples (summary → body), listed after <see cref="Json"/> as "default" in Swagger UI's example menu.</summary>
    public IReadOnlyList<(string Name, string Summary, string Json)> More { get; init; } = [];
}

/// <summary>An example value and a description of a query parameter, shown in the OpenAPI document and Swagger UI.</summary>
public sealed record QueryParameterExample(string Name, string Value, string Description);

public static class OpenApiDocs
{
    /// <summary>Documents the query parameter <paramref name="name"/> with a runnable example value.</summary>
    public static RouteHandlerBuilder WithQueryExample(this RouteHandlerBuilder builder, string name, string value, string description) =>
        builder.WithMetadata(new QueryParameterExample(name, value, description));

    public static RouteHandlerBuilder WithJsonExample(this RouteHandlerBuilder builder, string json) =>
        builder.WithMetadata(new JsonRequestExample(json));

    /// <summary>A default example plus named ones (OpenAPI <c>examples</c>; Swagger UI offers them in a menu).</summary>
    public static RouteHandlerBuilder WithJsonExamples(this RouteHandlerBuilder builder, string json, IReadOnlyList<(string Name, string Summary, string Json)> more) =>
        builder.WithMetadata(new JsonRequestExample(json) { More = more });

    /// <summary>Adds the documented request bodies (application/json with the example) to the document.</summary>
    public static OpenApiOptions AddJsonRequestExamples(this OpenApiOptions options) =>
        options.AddOperationTransformer((operation, context, _) =>
        {
            foreach (var query in context.Description.ActionDescriptor.EndpointMetadata.OfType<QueryParameterExample>())
            {
                if (operation.Parameters?.OfType<OpenApiParameter>().FirstOrDefault(p => p.Name == query.Name && p.In == ParameterLocation.Query) is { } parameter)
                {
                    parameter.Example = JsonValue.Create(query.Value);
                    parameter.Description = query.Description;
                }
            }

            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<JsonRequestExample>().FirstOrDefault() is { } example)
            {
                var media = new OpenApiMediaType();
                if (example.More.Count == 0)
                {
                    media.Example = JsonNode.Parse(example.Json);
                }
                else
                {
                    // OpenAPI allows "example" or "examples", not both.
                    media.Examples = new Dictionary<string, IOpenApiExample>
                    {
                        ["default"] = new OpenApiExample { Summary = "plain request", Value = JsonNode.Parse(example.Json) },
                    };
                    foreach (var (name, summary, json) in example.More)
                    {
                        media.Examples[name] = new OpenApiExample { Summary = summary, Value = JsonNode.Parse(json) };
                    }
                }

                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = media },
                };
            }

            return Task.CompletedTask;
        });
}
