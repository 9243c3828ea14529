using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace OrleansSim.Server.Tests.Infrastructure;

public static class Http
{
    public static HttpRequestMessage Post(string path, string json) =>
        new(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    public static async Task<(HttpResponseMessage Response, JsonElement Body)> PostJsonAsync(this HttpClient client, string path, string json)
    {
        var response = await client.SendAsync(Post(path, json));
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length > 0 ? JsonDocument.Parse(text).RootElement : default;
        return (response, body);
    }

    public static async Task<HttpResponseMessage> PostStreamAsync(this HttpClient client, string path, string json)
    {
        var request = Post(path, json);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>Asserts a vLLM error body and returns its message.</summary>
    public static string AssertError(HttpResponseMessage response, JsonElement body, int status, string type)
    {
        Assert.Equal(status, (int)response.StatusCode);
        var error = body.GetProperty("error");
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.Equal(status, error.GetProperty("code").GetInt32());
        Assert.True(error.TryGetProperty("param", out _));
        return error.GetProperty("message").GetString()!;
    }
}
