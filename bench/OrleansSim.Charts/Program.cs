using System.Globalization;
using System.Text.Json;
using ScottPlot;

// Charts of an offered-load sweep: one series per bench label (e.g. constant, step), x = offered rate (req/s).
//   OrleansSim.Charts --in sweep.jsonl --out PREFIX [--title TEXT] [--reference NAME=FILE.csv]
// Writes PREFIX-throughput.png, PREFIX-ttft.png and PREFIX-itl.png. A reference CSV (header rate,ttft_ms,itl_ms; a
// value may be empty) is drawn as markers on the TTFT and ITL charts, e.g. numbers read off a published curve.
string? input = null, prefix = null, title = null;
var references = new List<(string Name, string Path)>();
for (var i = 0; i < args.Length; i++)
{
    string Value() => ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value");
    switch (args[i])
    {
        case "--in": input = Value(); break;
        case "--out": prefix = Value(); break;
        case "--title": title = Value(); break;
        case "--reference":
            var spec = Value();
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            references.Add(eq > 0 ? (spec[..eq], spec[(eq + 1)..]) : ("reference", spec));
            break;
        default:
            Console.Error.WriteLine($"unknown flag {args[i]}\nusage: OrleansSim.Charts --in sweep.jsonl --out PREFIX [--title TEXT] [--reference NAME=FILE.csv]");
            return 2;
    }
}

if (input is null || prefix is null)
{
    Console.Error.WriteLine("usage: OrleansSim.Charts --in sweep.jsonl --out PREFIX [--title TEXT] [--reference NAME=FILE.csv]");
    return 2;
}

var runs = File.ReadLines(input).Where(l => l.Trim().Length > 0).Select(Run.Parse).Where(r => r.Rate is not null).ToList();
if (runs.Count == 0)
{
    Console.Error.WriteLine($"{input}: no run with an offered rate");
    return 1;
}

var series = runs.GroupBy(r => r.Label).Select(g => (Label: g.Key, Runs: g.OrderBy(r => r.Rate).ToArray())).ToArray();
var refs = references.Select(r => (r.Name, Rows: ReferenceRow.Read(r.Path))).ToArray();
var heading = title is null ? "" : title + ": ";

Chart("throughput", "output tokens/s", plot =>
{
    var maxRate = runs.Max(r => r.Rate!.Value);
    var perRequest = runs[0].OutputTokens;
    var ideal = plot.Add.Scatter(new[] { 0.0, maxRate }, new[] { 0.0, maxRate * perRequest });
    ideal.LegendText = $"offered ({perRequest} tokens/request)";
    ideal.LinePattern = LinePattern.Dotted;
    ideal.Color = Colors.Gray;
    ideal.MarkerSize = 0;
    for (var s = 0; s < series.Length; s++)
    {
        Line(plot, s, series[s].Runs, r => r.OutputTokensPerSecond, series[s].Label, dashed: false);
    }
});
Chart("ttft", "time to first token (ms)", plot => Percentiles(plot, r => r.Ttft, refs.Select(r => (r.Name, r.Rows.Where(x => x.TtftMs is not null).Select(x => (x.Rate, x.TtftMs!.Value)).ToArray()))));
Chart("itl", "inter-token latency (ms)", plot => Percentiles(plot, r => r.Itl, refs.Select(r => (r.Name, r.Rows.Where(x => x.ItlMs is not null).Select(x => (x.Rate, x.ItlMs!.Value)).ToArray()))));
return 0;

void Percentiles(Plot plot, Func<Run, (double P50, double P99)> of, IEnumerable<(string Name, (double Rate, double Ms)[] Points)> reference)
{
    for (var s = 0; s < series.Length; s++)
    {
        Line(plot, s, series[s].Runs, r => of(r).P50, series[s].Label + " p50", dashed: false);
        Line(plot, s, series[s].Runs, r => of(r).P99, series[s].Label + " p99", dashed: true);
    }

    var k = series.Length;
    foreach (var (name, points) in reference)
    {
        if (points.Length == 0)
        {
            continue;
        }

        var marks = plot.Add.Scatter(points.Select(p => p.Rate).ToArray(), points.Select(p => p.Ms).ToArray());
        marks.LegendText = name;
        marks.Color = plot.Add.Palette.GetColor(k++);
        marks.LineWidth = 0;
        marks.MarkerSize = 11;
        marks.MarkerShape = MarkerShape.FilledDiamond;
    }
}

void Line(Plot plot, int index, Run[] points, Func<Run, double> y, string label, bool dashed)
{
    var line = plot.Add.Scatter(points.Select(r => r.Rate!.Value).ToArray(), points.Select(y).ToArray());
    line.LegendText = label;
    line.Color = plot.Add.Palette.GetColor(index);
    line.LineWidth = 2;
    line.MarkerSize = 6;
    line.LinePattern = dashed ? LinePattern.Dashed : LinePattern.Solid;
}

void Chart(string name, string yLabel, Action<Plot> draw)
{
    var plot = new Plot();
    draw(plot);
    plot.Title(heading + yLabel + " vs offered load");
    plot.XLabel("offered load (requests/s, Poisson)");
    plot.YLabel(yLabel);
    plot.Axes.AutoScale();
    var top = plot.Axes.GetLimits().Top;
    plot.Axes.SetLimitsY(0, top); // from zero: the low-load level and the rise read true
    plot.ShowLegend(Alignment.UpperLeft);
    var path = $"{prefix}-{name}.png";
    plot.SavePng(path, 900, 560);
    Console.WriteLine($"wrote {path}");
}

/// <summary>One bench run as OrleansSim.Bench's <c>--jsonl</c> writes it (snake_case).</summary>
internal sealed record Run(string Label, double? Rate, int OutputTokens, double OutputTokensPerSecond, (double P50, double P99) Ttft, (double P50, double P99) Itl)
{
    public static Run Parse(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        static (double, double) P(JsonElement e) => (Number(e.GetProperty("p50")), Number(e.GetProperty("p99")));
        return new Run(
            root.GetProperty("label").GetString() ?? "",
            root.TryGetProperty("offered_rate", out var rate) && rate.ValueKind == JsonValueKind.Number ? rate.GetDouble() : null,
            root.GetProperty("output_tokens").GetInt32(),
            Number(root.GetProperty("output_tokens_per_second")),
            P(root.GetProperty("ttft")),
            P(root.GetProperty("itl")));
    }

    // NaN is written as the string "NaN" (AllowNamedFloatingPointLiterals).
    private static double Number(JsonElement e) => e.ValueKind == JsonValueKind.Number ? e.GetDouble() : double.NaN;
}

/// <summary>A row of a reference CSV: <c>rate,ttft_ms,itl_ms</c>.</summary>
internal sealed record ReferenceRow(double Rate, double? TtftMs, double? ItlMs)
{
    public static ReferenceRow[] Read(string path) =>
        [.. File.ReadLines(path).Skip(1).Where(l => l.Trim().Length > 0 && !l.StartsWith('#')).Select(line =>
        {
            var cells = line.Split(',');
            double? Cell(int i) => i < cells.Length && cells[i].Trim().Length > 0 ? double.Parse(cells[i], CultureInfo.InvariantCulture) : null;
            return new ReferenceRow(Cell(0) ?? throw new FormatException($"{path}: a row needs a rate: '{line}'"), Cell(1), Cell(2));
        })];
}
