using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using OrleansSim.Core.Chaos;

namespace OrleansSim.Ctl;

/// <summary><c>orleanssim-ctl chaos … --url</c>: the chaos API of any pod's rank port (the pod forwards into the cluster).</summary>
public sealed class HttpChaosControl : IChaosControl, IDisposable
{
    private readonly HttpClient _http;

    public HttpChaosControl(Uri url, string? adminToken)
    {
        _http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        if (adminToken is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        }
    }

    public async Task<ChaosFault> AddAsync(JsonObject body, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync("/admin/chaos", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), cancellationToken);
        return ChaosFault.FromWire(await ReadAsync(response, cancellationToken));
    }

    public async Task<bool> RemoveAsync(string id, CancellationToken cancellationToken)
    {
        using var response = await _http.DeleteAsync($"/admin/chaos/{Uri.EscapeDataString(id)}", cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }

        await ReadAsync(response, cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<ChaosFault>> ListAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync("/admin/chaos", cancellationToken);
        var body = await ReadAsync(response, cancellationToken);
        return [.. ((JsonArray)body["faults"]!).Select(f => ChaosFault.FromWire((JsonObject)f!))];
    }

    public async Task ClearAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.DeleteAsync("/admin/chaos", cancellationToken);
        await ReadAsync(response, cancellationToken);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The JSON body of a success; a failure becomes a <see cref="ChaosFormatException"/> with the server's message.</summary>
    private static async Task<JsonObject> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var json = text.Length > 0 ? JsonNode.Parse(text) as JsonObject : null;
        if (!response.IsSuccessStatusCode)
        {
            var message = json?["error"]?["message"]?.GetValue<string>() ?? text;
            throw new ChaosFormatException($"{(int)response.StatusCode} from {response.RequestMessage?.RequestUri}: {message}", json?["error"]?["param"]?.GetValue<string>());
        }

        return json ?? [];
    }
}
