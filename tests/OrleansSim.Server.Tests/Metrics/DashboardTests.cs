using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Metrics;

/// <summary>
/// k8s/grafana/orleanssim.json is importable as is (datasource variable, unique panel ids, every query on that
/// datasource), every query is PromQL that Prometheus parses (promtool check rules), and every metric it queries
/// is one a running simulator serves, with only labels the simulator or the scrape config puts on it.
/// </summary>
public sealed partial class DashboardTests
{
    // Labels Prometheus adds at scrape time (the PodMonitor and the k8s/ scrape configs set pod).
    private static readonly string[] ScrapeLabels = ["pod", "instance", "namespace", "job", "container"];

    [Fact]
    public async Task EveryQueriedMetricIsServedAndEveryQueryParses()
    {
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepoRoot.Path, "k8s", "grafana", "orleanssim.json")));
        var root = dashboard.RootElement;
        Assert.False(string.IsNullOrEmpty(root.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(root.GetProperty("uid").GetString()));
        Assert.True(root.GetProperty("schemaVersion").GetInt32() >= 30);
        var variables = root.GetProperty("templating").GetProperty("list").EnumerateArray().ToList();
        Assert.Contains(variables, v => v.GetProperty("type").GetString() == "datasource" && v.GetProperty("query").GetString() == "prometheus" && v.GetProperty("name").GetString() == "datasource");

        var panels = root.GetProperty("panels").EnumerateArray().ToList();
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        var queries = new List<string>();
        foreach (var panel in panels.Where(p => p.GetProperty("type").GetString() != "row"))
        {
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                Assert.Equal("${datasource}", target.GetProperty("datasource").GetProperty("uid").GetString());
                queries.Add(target.GetProperty("expr").GetString()!);
            }
        }

        // Query variables: label_values(selector, label) — the selector is PromQL, the label must exist.
        foreach (var variable in variables.Where(v => v.GetProperty("type").GetString() == "query"))
        {
            var match = LabelValues().Match(variable.GetProperty("query").GetProperty("query").GetString()!);
            Assert.True(match.Success, $"variable {variable.GetProperty("name")}: not label_values(selector, label)");
            queries.Add(match.Groups["selector"].Value);
            queries.Add($"count by ({match.Groups["label"].Value}) ({match.Groups["selector"].Value})");
        }

        // The families the dashboard is for are all on it.
        var metrics = queries.SelectMany(q => MetricName().Matches(q).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);
        foreach (var family in new[]
                 {
                     "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:time_to_first_token_seconds_bucket",
                     "vllm:inter_token_latency_seconds_bucket", "vllm:e2e_request_latency_seconds_bucket", "vllm:prompt_tokens_total",
                     "vllm:generation_tokens_total", "vllm:lora_requests_info", "orleanssim:chaos_active",
                 })
        {
            Assert.Contains(family, metrics);
        }

        // Every queried metric is served (LoRA and KV cache on, so every family has a series), with the labels used.
        await using var host = await SimHost.StartAsync(o => o with { LoraModules = [new("sql-lora", "/adapters/sql")], EnableKvCache = true, ZmqEndpoint = "" });
        await host.Client.PostJsonAsync("/v1/completions", """{"model":"sql-lora","prompt":"x y","max_tokens":2}""");
        var (fault, faultBody) = await host.Client.PostJsonAsync("/admin/chaos", """{"kind":"latency","ttft_ms":1}""");
        Assert.True(fault.StatusCode == System.Net.HttpStatusCode.Created, faultBody.ToString()); // so orleanssim:chaos_active has a series
        var scrape = await PromText.ScrapeAsync(host.Client);
        foreach (var metric in metrics)
        {
            Assert.True(scrape.Samples.Any(s => s.Name == metric), $"the dashboard queries {metric}, which the simulator does not serve");
        }

        var served = scrape.Samples.Where(s => metrics.Contains(s.Name)).SelectMany(s => s.Labels.Keys).ToHashSet(StringComparer.Ordinal);
        foreach (var query in queries)
        {
            foreach (Match grouping in Grouping().Matches(query))
            {
                foreach (var label in grouping.Groups["labels"].Value.Split(',', StringSplitOptions.TrimEntries))
                {
                    Assert.True(served.Contains(label) || ScrapeLabels.Contains(label), $"{query}: label {label} is neither served nor added by the scrape");
                }
            }

            foreach (Match matcher in Matcher().Matches(query))
            {
                var label = matcher.Groups["label"].Value;
                Assert.True(served.Contains(label) || ScrapeLabels.Contains(label), $"{query}: label {label} is neither served nor added by the scrape");
            }
        }

        await AssertPromtoolParsesAsync(queries);
    }

    /// <summary>Grafana's variables replaced by values, each query made a recording rule, checked by promtool.</summary>
    private static async Task AssertPromtoolParsesAsync(List<string> queries)
    {
        var rules = new System.Text.StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        for (var i = 0; i < queries.Count; i++)
        {
            var expr = queries[i].Replace("$__rate_interval", "1m", StringComparison.Ordinal)
                .Replace("$model_name", ".*", StringComparison.Ordinal).Replace("$pod", ".*", StringComparison.Ordinal);
            Assert.DoesNotContain("$", expr, StringComparison.Ordinal);
            rules.Append($"      - record: dashboard:query_{i}\n        expr: {JsonSerializer.Serialize(expr)}\n");
        }

        var file = Path.Combine(Path.GetTempPath(), $"orleanssim-dashboard-{Guid.NewGuid():N}.yml");
        await File.WriteAllTextAsync(file, rules.ToString());
        try
        {
            using var promtool = Process.Start(new ProcessStartInfo("promtool", ["check", "rules", file]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = await promtool.StandardOutput.ReadToEndAsync() + await promtool.StandardError.ReadToEndAsync();
            await promtool.WaitForExitAsync();
            Assert.True(promtool.ExitCode == 0, $"promtool rejected a dashboard query:\n{output}\n{rules}");
            Assert.Contains($"SUCCESS: {queries.Count} rules found", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [GeneratedRegex(@"(?<![\w:])(?:vllm|orleanssim):[a-zA-Z0-9_:]+")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"\b(?:by|without)\s*\((?<labels>[^)]*)\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"[{,]\s*(?<label>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")]
    private static partial Regex Matcher();

    [GeneratedRegex(@"^label_values\((?<selector>.+),\s*(?<label>[a-zA-Z_][a-zA-Z0-9_]*)\)$")]
    private static partial Regex LabelValues();
}
