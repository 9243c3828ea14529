using System.Text.Json;
using OrleansSim.Core.Lora;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Lora;

/// <summary>LoRA adapters: load/unload with vLLM's answers, /v1/models, requests, residency under --max-loras.</summary>
public sealed class LoraTests
{
    private static string Load(string name, string path) => $$"""{"lora_name":"{{name}}","lora_path":"{{path}}"}""";

    private static string Completion(string model, int maxTokens = 2) => $$"""{"model":"{{model}}","prompt":"alpha beta gamma","max_tokens":{{maxTokens}}}""";

    private static async Task<List<JsonElement>> ModelsAsync(HttpClient client)
    {
        var response = await client.GetAsync("/v1/models");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return [.. body.GetProperty("data").EnumerateArray()];
    }

    [Fact]
    public async Task LoadListRequestUnload()
    {
        await using var host = await SimHost.StartAsync();

        var load = await host.Client.SendAsync(Http.Post("/v1/load_lora_adapter", Load("sql-lora", "/adapters/sql")));
        Assert.Equal(200, (int)load.StatusCode);
        Assert.Equal("Success: LoRA adapter 'sql-lora' added successfully.", await load.Content.ReadAsStringAsync());

        var models = await ModelsAsync(host.Client);
        Assert.Equal(["test-model", "alias-model", "sql-lora"], models.Select(m => m.GetProperty("id").GetString()));
        var card = models[2];
        Assert.Equal("/adapters/sql", card.GetProperty("root").GetString());
        Assert.Equal("test-model", card.GetProperty("parent").GetString());
        Assert.Equal(JsonValueKind.Null, card.GetProperty("max_model_len").ValueKind);

        var (response, body) = await host.Client.PostJsonAsync("/v1/completions", Completion("sql-lora"));
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("sql-lora", body.GetProperty("model").GetString());
        var stream = await host.Client.PostStreamAsync("/v1/chat/completions",
            """{"model":"sql-lora","stream":true,"max_tokens":2,"messages":[{"role":"user","content":"hi"}]}""");
        var events = await Sse.ReadAllAsync(stream);
        Assert.Equal("sql-lora", events[0].Json.GetProperty("model").GetString());

        var unload = await host.Client.SendAsync(Http.Post("/v1/unload_lora_adapter", """{"lora_name":"sql-lora"}"""));
        Assert.Equal(200, (int)unload.StatusCode);
        Assert.Equal("Success: LoRA adapter 'sql-lora' removed successfully.", await unload.Content.ReadAsStringAsync());
        Assert.Equal(2, (await ModelsAsync(host.Client)).Count);

        var (gone, goneBody) = await host.Client.PostJsonAsync("/v1/completions", Completion("sql-lora"));
        Assert.Equal("The model `sql-lora` does not exist.", Http.AssertError(gone, goneBody, 404, "NotFoundError"));
    }

    [Fact]
    public async Task EveryErrorPathAnswersLikeVllm()
    {
        await using var host = await SimHost.StartAsync(o => o with { LoraModules = [new LoraModule("static-lora", "/adapters/static")] });

        var (dup, dupBody) = await host.Client.PostJsonAsync("/v1/load_lora_adapter", Load("static-lora", "/elsewhere"));
        Assert.Equal("The lora adapter 'static-lora' has already been loaded.", Http.AssertError(dup, dupBody, 400, "InvalidUserInput"));

        var (noPath, noPathBody) = await host.Client.PostJsonAsync("/v1/load_lora_adapter", """{"lora_name":"x"}""");
        Assert.Equal("Both 'lora_name' and 'lora_path' must be provided.", Http.AssertError(noPath, noPathBody, 400, "InvalidUserInput"));

        var (emptyName, emptyNameBody) = await host.Client.PostJsonAsync("/v1/load_lora_adapter", """{"lora_name":"","lora_path":"/p"}""");
        Assert.Equal("Both 'lora_name' and 'lora_path' must be provided.", Http.AssertError(emptyName, emptyNameBody, 400, "InvalidUserInput"));

        var (unknown, unknownBody) = await host.Client.PostJsonAsync("/v1/unload_lora_adapter", """{"lora_name":"never-loaded"}""");
        Assert.Equal("The lora adapter 'never-loaded' cannot be found.", Http.AssertError(unknown, unknownBody, 404, "NotFoundError"));

        var (noName, noNameBody) = await host.Client.PostJsonAsync("/v1/unload_lora_adapter", "{}");
        Assert.Equal("either 'lora_name' and 'lora_int_id' needs to be provided.", Http.AssertError(noName, noNameBody, 400, "InvalidUserInput"));

        var (badJson, badJsonBody) = await host.Client.PostJsonAsync("/v1/load_lora_adapter", "{not json");
        Http.AssertError(badJson, badJsonBody, 400, "BadRequestError");

        var (wrongType, wrongTypeBody) = await host.Client.PostJsonAsync("/v1/load_lora_adapter", """{"lora_name":5,"lora_path":"/p"}""");
        Assert.Contains("lora_name", Http.AssertError(wrongType, wrongTypeBody, 400, "BadRequestError"), StringComparison.Ordinal);

        var (baseName, baseNameBody) = await host.Client.PostJsonAsync("/v1/load_lora_adapter", Load("test-model", "/p"));
        Assert.Contains("served base model name", Http.AssertError(baseName, baseNameBody, 400, "InvalidUserInput"), StringComparison.Ordinal);

        var get = await host.Client.GetAsync("/v1/load_lora_adapter");
        Assert.Equal(405, (int)get.StatusCode);

        // The static adapter is served; its list entry stays after the failed calls.
        var (ok, okBody) = await host.Client.PostJsonAsync("/v1/completions", Completion("static-lora"));
        Assert.Equal(200, (int)ok.StatusCode);
        Assert.Equal("static-lora", okBody.GetProperty("model").GetString());
        Assert.Single(await ModelsAsync(host.Client), m => m.GetProperty("id").GetString() == "static-lora");
    }

    [Fact]
    public async Task LoadsAndUnloadsApplyToEveryRankAndAreSafeUnderConcurrency()
    {
        await using var host = await SimHost.StartAsync(ranks: 2);
        var names = Enumerable.Range(0, 24).Select(i => $"lora-{i}").ToList();
        var loads = await Task.WhenAll(names.Select((n, i) => host.ClientFor(i % 2).SendAsync(Http.Post("/v1/load_lora_adapter", Load(n, "/adapters/" + n)))));
        Assert.All(loads, r => Assert.Equal(200, (int)r.StatusCode));
        // The same name loaded twice at once: exactly one wins.
        var twins = await Task.WhenAll(Enumerable.Range(0, 2).Select(r => host.ClientFor(r).SendAsync(Http.Post("/v1/load_lora_adapter", Load("twin", "/t")))));
        Assert.Equal([200, 400], twins.Select(r => (int)r.StatusCode).Order());

        var onRank1 = (await ModelsAsync(host.ClientFor(1))).Select(m => m.GetProperty("id").GetString()!).ToHashSet();
        Assert.True(onRank1.IsSupersetOf(names.Append("twin")));

        // Requests on both ranks while half the adapters are unloaded.
        var requests = names.Select((n, i) => host.ClientFor(i % 2).PostJsonAsync("/v1/completions", Completion(n)));
        var unloads = names.Where((_, i) => i % 2 == 0).Select(n => host.ClientFor(1).SendAsync(Http.Post("/v1/unload_lora_adapter", $$"""{"lora_name":"{{n}}"}""")));
        var answered = await Task.WhenAll(requests);
        Assert.All(await Task.WhenAll(unloads), r => Assert.Equal(200, (int)r.StatusCode));
        Assert.All(answered, a => Assert.True((int)a.Response.StatusCode is 200 or 404));

        var left = (await ModelsAsync(host.ClientFor(0))).Select(m => m.GetProperty("id").GetString()!).ToList();
        Assert.Equal(["test-model", "alias-model"], left[..2]);
        Assert.Equal([.. names.Where((_, i) => i % 2 == 1).Append("twin").Order(StringComparer.Ordinal)], left[2..].Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task SecondAdapterWaitsWhileMaxLorasAreInUseAndLoraInfoShowsIt()
    {
        await using var host = await SimHost.StartAsync(o => o with
        {
            MaxNumSeqs = 4,
            MaxLoras = 1,
            TimeToFirstToken = TimeSpan.FromMilliseconds(100),
            InterTokenLatency = TimeSpan.FromMilliseconds(50),
            LoraModules = [new LoraModule("lora-a", "/a"), new LoraModule("lora-b", "/b")],
        });
        // lora-a is a long stream that holds its adapter until the test lets it go (no race with a timer on a busy machine).
        using var a = await RawHttp.PostAsync(host.Options.Port, "/v1/completions",
            """{"model":"lora-a","prompt":"alpha","max_tokens":1000,"ignore_eos":true,"stream":true}""");
        Assert.True(await a.ReadUntilAsync("data: "), a.Received);
        Assert.Contains("\"model\":\"lora-a\"", a.Received, StringComparison.Ordinal);
        var b = host.Client.PostJsonAsync("/v1/completions", Completion("lora-b", maxTokens: 1));
        var baseModel = host.Client.PostJsonAsync("/v1/completions", Completion("test-model", maxTokens: 1));

        // lora-b waits although three slots are free; the base model runs past it.
        Assert.Equal(200, (int)(await baseModel).Response.StatusCode);
        var during = await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
            s => s.Value("vllm:num_requests_waiting") == 1 && s.Value("vllm:num_requests_running") == 1,
            TimeSpan.FromSeconds(30), "lora-b waiting next to lora-a");
        var latest = Latest(during);
        Assert.Equal("lora-a", latest.Labels["running_lora_adapters"]);
        Assert.Equal("lora-b", latest.Labels["waiting_lora_adapters"]);
        Assert.Equal("1", latest.Labels["max_lora"]);
        Assert.InRange(latest.Value, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.False(b.IsCompleted, "lora-b was answered while lora-a held the only adapter place");

        // lora-a's client leaves: its adapter is unloaded and lora-b runs.
        a.Close(reset: false);
        var (bResponse, bBody) = await b;
        Assert.Equal(200, (int)bResponse.StatusCode);
        Assert.Equal("lora-b", bBody.GetProperty("model").GetString());

        var after = await Poll.UntilAsync(() => PromText.ScrapeAsync(host.Client),
            s => Latest(s).Labels["running_lora_adapters"] == "" && Latest(s).Labels["waiting_lora_adapters"] == "",
            what: "no adapters in use");
        // Every combination the rank went through is a series stamped with its latest time, as in vLLM.
        var series = after.All("vllm:lora_requests_info").OrderBy(s => s.Value)
            .Select(s => (s.Labels["running_lora_adapters"], s.Labels["waiting_lora_adapters"])).ToList();
        Assert.Equal([("lora-a", ""), ("lora-a", "lora-b"), ("lora-b", ""), ("", "")], series);
        Assert.True(after.Value("vllm:request_queue_time_seconds_sum") > 0); // lora-b queued (how long depends on when it arrived)
    }

    private static PromText.Sample Latest(PromText scrape) =>
        scrape.All("vllm:lora_requests_info").MaxBy(s => s.Value)!;
}
