using System.Diagnostics;
using OrleansSim.Core.Configuration;
using YamlDotNet.RepresentationModel;

namespace OrleansSim.Cluster.Tests;

/// <summary>
/// The k8s/ overlays render with the real kustomize (kubectl kustomize), every rendered object validates against
/// the Kubernetes JSON schemas (k8s/validate, offline after npm ci), and the pieces agree with each other and with
/// the simulator: the ConfigMap's config.yaml loads, every rank port is exposed, and the grace period covers the drain.
/// </summary>
public sealed class ManifestTests
{
    private static readonly string Root = FindRoot();

    [Theory]
    [InlineData("single", 1, 1)]
    [InlineData("cluster", 3, 2)]
    public async Task OverlayRendersValidatesAndMatchesTheSimulator(string overlay, int replicas, int dataParallelSize)
    {
        var (renderExit, rendered, renderErr) = await RunAsync("kubectl", null, "kustomize", Path.Combine(Root, "k8s", "overlays", overlay));
        Assert.True(renderExit == 0, $"kubectl kustomize failed: {renderErr}");

        var validator = Path.Combine(Root, "k8s", "validate");
        Assert.True(Directory.Exists(Path.Combine(validator, "node_modules")), $"run `npm ci --prefix {validator}` first (test.sh does)");
        var (validExit, report, validErr) = await RunAsync("node", rendered, Path.Combine(validator, "validate.mjs"));
        Assert.True(validExit == 0, $"schema validation failed:\n{report}\n{validErr}");
        Assert.Contains("5 objects, 0 invalid", report, StringComparison.Ordinal);

        var docs = Parse(rendered);
        var deployment = docs.Single(d => Kind(d) == "Deployment" && Name(d) == "orleanssim");
        var spec = (YamlMappingNode)deployment["spec"];
        Assert.Equal(replicas.ToString(System.Globalization.CultureInfo.InvariantCulture), Scalar(spec, "replicas"));
        var pod = (YamlMappingNode)((YamlMappingNode)spec["template"])["spec"];
        var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"]).Children[0];

        // The mounted config.yaml is one the simulator accepts, in cluster mode, with the overlay's DP size.
        var configMap = docs.Single(d => Kind(d) == "ConfigMap");
        var options = await LoadConfigAsync(configMap);

        Assert.Equal(dataParallelSize, options.DataParallelSize);
        Assert.Equal(ClusterProvider.Redis, options.ClusterProvider);
        Assert.Equal("10.0.0.7", options.AdvertiseAddress);
        var redisService = docs.Single(d => Kind(d) == "Service" && Name(d) == "orleanssim-redis");
        Assert.StartsWith(Name(redisService) + ":", options.ClusterConnection, StringComparison.Ordinal);
        var volume = ((YamlSequenceNode)pod["volumes"]).Children.Cast<YamlMappingNode>().Single();
        Assert.Equal(Name(configMap), Scalar((YamlMappingNode)volume["configMap"], "name"));

        // Every rank port, the silo and the gateway port are declared; the Service exposes every rank port.
        var containerPorts = Ports((YamlSequenceNode)container["ports"], "containerPort");
        var rankPorts = Enumerable.Range(options.Port, options.DataParallelSize).ToList();
        Assert.Equal([.. rankPorts, options.SiloPort, options.GatewayPort], containerPorts.Order());
        var service = docs.Single(d => Kind(d) == "Service" && Name(d) == "orleanssim");
        Assert.Equal(rankPorts, Ports((YamlSequenceNode)((YamlMappingNode)service["spec"])["ports"], "port").Order());

        // Probes, and the pod identity the cluster mode needs from the downward API.
        Assert.Equal("/ready", Scalar((YamlMappingNode)((YamlMappingNode)container["readinessProbe"])["httpGet"], "path"));
        Assert.Equal("/health", Scalar((YamlMappingNode)((YamlMappingNode)container["livenessProbe"])["httpGet"], "path"));
        var env = ((YamlSequenceNode)container["env"]).Children.Cast<YamlMappingNode>()
            .ToDictionary(e => Scalar(e, "name"), e => Scalar((YamlMappingNode)((YamlMappingNode)e["valueFrom"])["fieldRef"], "fieldPath"));
        Assert.Equal("metadata.name", env["POD_NAME"]);
        Assert.Equal("metadata.namespace", env["POD_NAMESPACE"]);
        Assert.Equal("status.podIP", env["POD_IP"]);

        // A rolling update loses no in-flight request: preStop pause + drain + silo leave fit in the grace period.
        var grace = TimeSpan.FromSeconds(int.Parse(Scalar(pod, "terminationGracePeriodSeconds"), System.Globalization.CultureInfo.InvariantCulture));
        var preStop = ((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)container["lifecycle"])["preStop"])["exec"])["command"]).Children;
        Assert.Equal("sleep", preStop[0].ToString());
        var pause = TimeSpan.FromSeconds(int.Parse(preStop[1].ToString(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(pause + options.ShutdownTimeout + TimeSpan.FromSeconds(5) <= grace,
            $"terminationGracePeriodSeconds {grace.TotalSeconds} s must cover preStop {pause.TotalSeconds} s + shutdown-timeout {options.ShutdownTimeout.TotalSeconds} s + 5 s");
        Assert.Equal("0", Scalar((YamlMappingNode)((YamlMappingNode)spec["strategy"])["rollingUpdate"], "maxUnavailable"));
    }

    [Fact]
    public async Task TlsOverlayMountsTheSecretAndProbesOverHttps()
    {
        var (renderExit, rendered, renderErr) = await RunAsync("kubectl", null, "kustomize", Path.Combine(Root, "k8s", "overlays", "tls"));
        Assert.True(renderExit == 0, $"kubectl kustomize failed: {renderErr}");
        var (validExit, report, validErr) = await RunAsync("node", rendered, Path.Combine(Root, "k8s", "validate", "validate.mjs"));
        Assert.True(validExit == 0, $"schema validation failed:\n{report}\n{validErr}");
        Assert.Contains("5 objects, 0 invalid", report, StringComparison.Ordinal);

        var docs = Parse(rendered);
        var pod = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)docs.Single(d => Kind(d) == "Deployment" && Name(d) == "orleanssim")["spec"])["template"])["spec"];
        var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"]).Children[0];
        var volume = ((YamlSequenceNode)pod["volumes"]).Children.Cast<YamlMappingNode>().Single(v => v.Children.ContainsKey("secret"));
        Assert.Equal("orleanssim-tls", Scalar((YamlMappingNode)volume["secret"], "secretName"));
        var mount = ((YamlSequenceNode)container["volumeMounts"]).Children.Cast<YamlMappingNode>().Single(m => Scalar(m, "name") == Scalar(volume, "name"));
        var mountPath = Scalar(mount, "mountPath");

        // The args name the secret's tls.crt/tls.key, and the simulator accepts them together with the mounted config.
        var args = ((YamlSequenceNode)container["args"]).Children.Select(a => a.ToString()).ToList();
        Assert.Equal($"{mountPath}/tls.crt", args[args.IndexOf("--ssl-certfile") + 1]);
        Assert.Equal($"{mountPath}/tls.key", args[args.IndexOf("--ssl-keyfile") + 1]);
        var configFile = Path.Combine(Path.GetTempPath(), $"orleanssim-k8s-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(configFile, Scalar((YamlMappingNode)docs.Single(d => Kind(d) == "ConfigMap")["data"], "config.yaml"));
        try
        {
            args[args.IndexOf("--config") + 1] = configFile;
            var options = OptionsLoader.Load([.. args], new Dictionary<string, string?> { ["POD_NAME"] = "p", ["POD_IP"] = "10.0.0.7" });
            Assert.True(options.UsesTls);
        }
        finally
        {
            File.Delete(configFile);
        }

        // Probes speak HTTPS; the non-root user reads the secret through its group.
        Assert.Equal("HTTPS", Scalar((YamlMappingNode)((YamlMappingNode)container["readinessProbe"])["httpGet"], "scheme"));
        Assert.Equal("HTTPS", Scalar((YamlMappingNode)((YamlMappingNode)container["livenessProbe"])["httpGet"], "scheme"));
        var security = (YamlMappingNode)pod["securityContext"];
        Assert.Equal(Scalar(security, "runAsGroup"), Scalar(security, "fsGroup"));
    }

    /// <summary>
    /// Every rank port of every pod is scraped and nothing else is: the overlay rendered with the PodMonitor
    /// component validates (Prometheus Operator schema included), and the PodMonitor's and
    /// prometheus-kubernetes.yml's keep rules, evaluated as Prometheus evaluates them against the discovered
    /// container ports, keep exactly the rank ports; k8s/prometheus.yml passes promtool.
    /// </summary>
    [Theory]
    [InlineData("single", 1)]
    [InlineData("cluster", 2)]
    [InlineData("tls", 1)]
    public async Task EveryRankPortIsScraped(string overlay, int dataParallelSize)
    {
        var work = Directory.CreateTempSubdirectory("orleanssim-k8s-");
        string rendered;
        try
        {
            // kustomize wants relative paths to other kustomizations.
            var k8s = Path.GetRelativePath(work.FullName, Path.Combine(Root, "k8s"));
            await File.WriteAllTextAsync(Path.Combine(work.FullName, "kustomization.yaml"), $"""
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources:
                  - {k8s}/overlays/{overlay}
                components:
                  - {k8s}/components/podmonitor
                """);
            var (renderExit, output, renderErr) = await RunAsync("kubectl", null, "kustomize", work.FullName);
            Assert.True(renderExit == 0, $"kubectl kustomize failed: {renderErr}");
            rendered = output;
        }
        finally
        {
            work.Delete(recursive: true);
        }

        var (validExit, report, validErr) = await RunAsync("node", rendered, Path.Combine(Root, "k8s", "validate", "validate.mjs"));
        Assert.True(validExit == 0, $"schema validation failed:\n{report}\n{validErr}");
        Assert.Contains("valid: monitoring.coreos.com/v1/PodMonitor orleanssim", report, StringComparison.Ordinal);

        var docs = Parse(rendered);
        var options = await LoadConfigAsync(docs.Single(d => Kind(d) == "ConfigMap"));
        Assert.Equal(dataParallelSize, options.DataParallelSize);
        var rankPorts = Enumerable.Range(options.Port, options.DataParallelSize).ToList();
        var template = (YamlMappingNode)((YamlMappingNode)docs.Single(d => Kind(d) == "Deployment" && Name(d) == "orleanssim")["spec"])["template"];
        var podLabels = Map((YamlMappingNode)((YamlMappingNode)template["metadata"])["labels"]);
        var annotations = Map((YamlMappingNode)((YamlMappingNode)template["metadata"])["annotations"]);
        var container = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)template["spec"])["containers"]).Children[0];
        var ports = ((YamlSequenceNode)container["ports"]).Children.Cast<YamlMappingNode>()
            .Select(p => (Name: Scalar(p, "name"), Port: int.Parse(Scalar(p, "containerPort"), System.Globalization.CultureInfo.InvariantCulture))).ToList();
        Assert.Equal("true", annotations["prometheus.io/scrape"]);
        Assert.Equal("/metrics", annotations["prometheus.io/path"]);
        Assert.Equal(options.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), annotations["prometheus.io/port"]);
        // The scheme annotation says what the rank ports speak (TLS when the args name a certificate).
        var args = ((YamlSequenceNode)container["args"]).Children.Select(a => a.ToString()).ToList();
        var tls = args.Contains("--ssl-certfile") || args.Contains("--self-signed-certs");
        Assert.Equal(tls ? "https" : "http", annotations["prometheus.io/scheme"]);

        // What Prometheus' pod discovery knows of each target: one per container port.
        Dictionary<string, string> Target((string Name, int Port) port) => new(StringComparer.Ordinal)
        {
            ["__meta_kubernetes_pod_container_port_name"] = port.Name,
            ["__meta_kubernetes_pod_container_port_number"] = port.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] = annotations["prometheus.io/scrape"],
            ["__meta_kubernetes_pod_annotation_prometheus_io_path"] = annotations["prometheus.io/path"],
            ["__meta_kubernetes_pod_annotation_prometheus_io_scheme"] = annotations["prometheus.io/scheme"],
        };

        // Prometheus Operator: the PodMonitor selects the simulator's pods and keeps exactly the rank ports.
        var podMonitor = (YamlMappingNode)docs.Single(d => Kind(d) == "PodMonitor")["spec"];
        foreach (var (key, value) in Map((YamlMappingNode)((YamlMappingNode)podMonitor["selector"])["matchLabels"]))
        {
            Assert.Equal(value, podLabels[key]);
        }

        var endpoint = (YamlMappingNode)Assert.Single(((YamlSequenceNode)podMonitor["podMetricsEndpoints"]).Children);
        Assert.Equal("/metrics", Scalar(endpoint, "path"));
        var monitorRules = (YamlSequenceNode)endpoint["relabelings"];
        Assert.Equal(rankPorts, ports.Where(p => Kept(monitorRules, "sourceLabels", Target(p))).Select(p => p.Port).Order());

        // Prometheus with pod discovery (no operator): prometheus-kubernetes.yml does the same from the annotations.
        var kubernetesJob = (YamlMappingNode)Assert.Single(((YamlSequenceNode)LoadYaml(Path.Combine(Root, "k8s", "prometheus-kubernetes.yml"))["scrape_configs"]).Children);
        var jobRules = (YamlSequenceNode)kubernetesJob["relabel_configs"];
        Assert.Equal(rankPorts, ports.Where(p => Kept(jobRules, "source_labels", Target(p))).Select(p => p.Port).Order());
        var schemeRule = jobRules.Children.Cast<YamlMappingNode>().Single(r => r.Children.ContainsKey("target_label") && Scalar(r, "target_label") == "__scheme__");
        Assert.Equal("__meta_kubernetes_pod_annotation_prometheus_io_scheme", Assert.Single(((YamlSequenceNode)schemeRule["source_labels"]).Children).ToString());
        Assert.Matches($"^(?:{Scalar(schemeRule, "regex")})$", annotations["prometheus.io/scheme"]);
        // Every data-parallel size the simulator accepts (1..8) has its rank port names kept.
        for (var rank = 0; rank < 8; rank++)
        {
            Assert.True(Kept(jobRules, "source_labels", Target((rank == 0 ? "http" : $"http-rank{rank}", options.Port + rank))), $"rank {rank}");
            Assert.True(Kept(monitorRules, "sourceLabels", Target((rank == 0 ? "http" : $"http-rank{rank}", options.Port + rank))), $"rank {rank}");
        }

        // The local configuration is one Prometheus accepts.
        var (checkExit, checkOut, checkErr) = await RunAsync("promtool", null, "check", "config", Path.Combine(Root, "k8s", "prometheus.yml"));
        Assert.True(checkExit == 0, $"promtool check config failed:\n{checkOut}\n{checkErr}");
    }

    /// <summary>Prometheus' keep/drop relabeling: source label values joined by ';' fully matching the regex.</summary>
    private static bool Kept(YamlSequenceNode rules, string sourceKey, Dictionary<string, string> labels)
    {
        foreach (var rule in rules.Children.Cast<YamlMappingNode>())
        {
            var action = rule.Children.ContainsKey("action") ? Scalar(rule, "action") : "replace";
            if (action is not ("keep" or "drop"))
            {
                continue;
            }

            var value = string.Join(';', ((YamlSequenceNode)rule[sourceKey]).Children.Select(n => labels.GetValueOrDefault(n.ToString(), "")));
            var matches = System.Text.RegularExpressions.Regex.IsMatch(value, $"^(?:{Scalar(rule, "regex")})$");
            if (matches != (action == "keep"))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<SimulatorOptions> LoadConfigAsync(YamlMappingNode configMap)
    {
        var configFile = Path.Combine(Path.GetTempPath(), $"orleanssim-k8s-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(configFile, Scalar((YamlMappingNode)configMap["data"], "config.yaml"));
        try
        {
            return OptionsLoader.Load(["--config", configFile], new Dictionary<string, string?> { ["POD_NAME"] = "p", ["POD_IP"] = "10.0.0.7" });
        }
        finally
        {
            File.Delete(configFile);
        }
    }

    private static YamlMappingNode LoadYaml(string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static Dictionary<string, string> Map(YamlMappingNode node) =>
        node.Children.ToDictionary(c => c.Key.ToString(), c => c.Value.ToString(), StringComparer.Ordinal);

    private static List<YamlMappingNode> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    private static string Kind(YamlMappingNode doc) => Scalar(doc, "kind");

    private static string Name(YamlMappingNode doc) => Scalar((YamlMappingNode)doc["metadata"], "name");

    private static string Scalar(YamlMappingNode node, string key) => ((YamlScalarNode)node[key]).Value!;

    private static List<int> Ports(YamlSequenceNode ports, string key) =>
        [.. ports.Children.Cast<YamlMappingNode>().Select(p => int.Parse(Scalar(p, key), System.Globalization.CultureInfo.InvariantCulture))];

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string file, string? stdin, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansSim.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("OrleansSim.sln not found above " + AppContext.BaseDirectory);
    }
}
