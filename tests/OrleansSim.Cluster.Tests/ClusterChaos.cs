using System.Net;
using System.Text;
using System.Text.Json;
using OrleansSim.Cluster.Tests.Infrastructure;

namespace OrleansSim.Cluster.Tests;

/// <summary>HTTP helpers for the chaos tests of <see cref="ClusterTests"/> (which share its three-pod cluster).</summary>
internal static class ClusterChaos
{
    public const string Chat = """{"model":"m","messages":[{"role":"user","content":"chaos"}],"max_tokens":3}""";

    public static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient http, int port, string path, string json)
    {
        using var response = await http.PostAsync($"http://127.0.0.1:{port}{path}", new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement : default);
    }

    public static async Task<string> AddAsync(HttpClient http, int port, string json)
    {
        var (status, body) = await PostAsync(http, port, "/admin/chaos", json);
        Assert.True(status == HttpStatusCode.Created, $"{(int)status}: {body}");
        return body.GetProperty("id").GetString()!;
    }

    public static async Task<List<string>> ListAsync(HttpClient http, int port)
    {
        var body = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/admin/chaos")).RootElement;
        return [.. body.GetProperty("faults").EnumerateArray().Select(f => f.GetProperty("id").GetString()!)];
    }

    public static async Task<HttpStatusCode> StatusAsync(HttpClient http, int port, string path = "/v1/chat/completions")
    {
        if (path.StartsWith("/v1", StringComparison.Ordinal))
        {
            return (await PostAsync(http, port, path, Chat)).Status;
        }

        using var response = await http.GetAsync($"http://127.0.0.1:{port}{path}");
        return response.StatusCode;
    }

    /// <summary>The value of <c>orleanssim:chaos_active</c> for the fault on the rank behind <paramref name="port"/> (null: no series).</summary>
    public static async Task<double?> ChaosMetricAsync(HttpClient http, int port, string id)
    {
        var text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("orleanssim:chaos_active{", StringComparison.Ordinal) && l.Contains($"fault_id=\"{id}\"", StringComparison.Ordinal));
        return line is null ? null : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
