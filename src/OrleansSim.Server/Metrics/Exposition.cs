using System.Globalization;
using System.Text;

namespace OrleansSim.Server.Metrics;

/// <summary>The two text formats prometheus_client writes (and so vLLM serves).</summary>
public enum ExpositionFormat
{
    /// <summary>Prometheus text format 0.0.4: <c>_created</c> samples in gauge families of their own.</summary>
    Text,

    /// <summary>OpenMetrics 1.0.0: <c>_created</c> samples inside their family, <c># EOF</c> at the end.</summary>
    OpenMetrics,
}

/// <summary>
/// A minimal Prometheus client that writes the text exposition format 0.0.4 and OpenMetrics 1.0.0 exactly
/// as Python's prometheus_client (what vLLM serves) does: metric names with colons; in text 0.0.4 counters as
/// <c>name_total</c> followed by a <c>name_created</c> gauge block, in OpenMetrics one <c>counter</c> family
/// <c>name</c> whose children each write <c>name_total</c> then <c>name_created</c>; histogram samples in
/// bucket/count/sum(/created) order, labels sorted by name, and numbers spelled like Python (<c>1.0</c>,
/// <c>0.001</c>, <c>1.7e+09</c>). prometheus-net rejects the colons in vLLM's names, hence this.
/// </summary>
public sealed class MetricsRegistry(TimeProvider time)
{
    private readonly List<MetricFamily> _families = [];
    private readonly List<Func<CancellationToken, Task>> _beforeCollect = [];

    public TimeProvider Time { get; } = time;

    public CounterFamily Counter(string name, string help, params string[] labelNames) => Add(new CounterFamily(this, name, help, labelNames));

    public GaugeFamily Gauge(string name, string help, params string[] labelNames) => Add(new GaugeFamily(this, name, help, labelNames));

    public HistogramFamily Histogram(string name, string help, double[] buckets, params string[] labelNames) =>
        Add(new HistogramFamily(this, name, help, buckets, labelNames));

    /// <summary>Runs before every collection (e.g. to read gauges from their owner).</summary>
    public void BeforeCollect(Func<CancellationToken, Task> callback) => _beforeCollect.Add(callback);

    public Task<string> CollectAsync(CancellationToken cancellationToken) => CollectAsync(ExpositionFormat.Text, cancellationToken);

    public async Task<string> CollectAsync(ExpositionFormat format, CancellationToken cancellationToken)
    {
        foreach (var callback in _beforeCollect)
        {
            await callback(cancellationToken);
        }

        var openMetrics = format == ExpositionFormat.OpenMetrics;
        var text = new StringBuilder(16 * 1024);
        foreach (var family in _families)
        {
            family.Write(text, openMetrics);
        }

        if (openMetrics)
        {
            text.Append("# EOF\n");
        }

        return text.ToString();
    }

    internal double Now() => Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;

    private T Add<T>(T family)
        where T : MetricFamily
    {
        _families.Add(family);
        return family;
    }
}

/// <summary>A metric family: name, help, label names and its labelled children in creation order.</summary>
public abstract class MetricFamily
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly List<(string[] Values, object Child)> _children = [];

    private protected MetricFamily(MetricsRegistry registry, string name, string help, string[] labelNames)
    {
        Registry = registry;
        Name = name;
        Help = help;
        LabelNames = labelNames;
    }

    public string Name { get; }

    public string Help { get; }

    public IReadOnlyList<string> LabelNames { get; }

    private protected MetricsRegistry Registry { get; }

    private protected TChild GetOrAdd<TChild>(string[] values, Func<TChild> create)
        where TChild : class
    {
        if (values.Length != LabelNames.Count)
        {
            throw new ArgumentException($"{Name} takes {LabelNames.Count} label values, got {values.Length}.", nameof(values));
        }

        var key = string.Join('\u0001', values);
        lock (_lock)
        {
            if (_index.TryGetValue(key, out var at))
            {
                return (TChild)_children[at].Child;
            }

            var child = create();
            _index[key] = _children.Count;
            _children.Add(((string[])values.Clone(), child));
            return child;
        }
    }

    private protected List<(string[] Values, object Child)> Snapshot()
    {
        lock (_lock)
        {
            return [.. _children];
        }
    }

    /// <summary>Writes the family; <paramref name="openMetrics"/> selects OpenMetrics 1.0.0 over text 0.0.4.</summary>
    internal abstract void Write(StringBuilder text, bool openMetrics);

    /// <summary># HELP and # TYPE; OpenMetrics also escapes double quotes in the help text (as prometheus_client does).</summary>
    private protected static void WriteHeader(StringBuilder text, string name, string help, string type, bool openMetrics = false)
    {
        var escaped = help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        if (openMetrics)
        {
            escaped = escaped.Replace("\"", "\\\"", StringComparison.Ordinal);
        }

        text.Append("# HELP ").Append(name).Append(' ').Append(escaped).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    private protected void WriteSample(StringBuilder text, string name, string[] values, double value, string? le = null)
    {
        text.Append(name);
        var labels = new List<KeyValuePair<string, string>>(values.Length + 1);
        for (var i = 0; i < values.Length; i++)
        {
            labels.Add(new(LabelNames[i], values[i]));
        }

        if (le is not null)
        {
            labels.Add(new("le", le));
        }

        if (labels.Count > 0)
        {
            labels.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            text.Append('{');
            for (var i = 0; i < labels.Count; i++)
            {
                if (i > 0)
                {
                    text.Append(',');
                }

                text.Append(labels[i].Key).Append("=\"")
                    .Append(labels[i].Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal))
                    .Append('"');
            }

            text.Append('}');
        }

        text.Append(' ').Append(PythonFloat.Format(value)).Append('\n');
    }

    private protected void WriteCreated(StringBuilder text, List<(string[] Values, object Child)> children, Func<object, double> createdOf)
    {
        if (children.Count == 0)
        {
            return;
        }

        WriteHeader(text, Name + "_created", Help, "gauge");
        foreach (var (values, child) in children)
        {
            WriteSample(text, Name + "_created", values, createdOf(child));
        }
    }

    /// <summary>A double updated without locks.</summary>
    internal struct AtomicDouble
    {
        private long _bits;

        public readonly double Value => BitConverter.Int64BitsToDouble(Volatile.Read(in _bits));

        public void Set(double value) => Interlocked.Exchange(ref _bits, BitConverter.DoubleToInt64Bits(value));

        public void Add(double delta)
        {
            while (true)
            {
                var seen = Volatile.Read(ref _bits);
                var next = BitConverter.DoubleToInt64Bits(BitConverter.Int64BitsToDouble(seen) + delta);
                if (Interlocked.CompareExchange(ref _bits, next, seen) == seen)
                {
                    return;
                }
            }
        }
    }
}

/// <summary>Counter: written as <c>name_total</c> plus <c>name_created</c>.</summary>
public sealed class CounterFamily : MetricFamily
{
    internal CounterFamily(MetricsRegistry registry, string name, string help, string[] labelNames)
        : base(registry, name, help, labelNames)
    {
    }

    public Counter WithLabels(params string[] values) => GetOrAdd(values, () => new Counter(Registry.Now()));

    internal override void Write(StringBuilder text, bool openMetrics)
    {
        var children = Snapshot();
        if (openMetrics)
        {
            WriteHeader(text, Name, Help, "counter", openMetrics: true);
            foreach (var (values, child) in children)
            {
                WriteSample(text, Name + "_total", values, ((Counter)child).Value);
                WriteSample(text, Name + "_created", values, ((Counter)child).Created);
            }

            return;
        }

        WriteHeader(text, Name + "_total", Help, "counter");
        foreach (var (values, child) in children)
        {
            WriteSample(text, Name + "_total", values, ((Counter)child).Value);
        }

        WriteCreated(text, children, c => ((Counter)c).Created);
    }

    public sealed class Counter(double created)
    {
        private AtomicDouble _value;

        public double Created { get; } = created;

        public double Value => _value.Value;

        public void Inc(double amount = 1)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(amount);
            _value.Add(amount);
        }
    }
}

public sealed class GaugeFamily : MetricFamily
{
    internal GaugeFamily(MetricsRegistry registry, string name, string help, string[] labelNames)
        : base(registry, name, help, labelNames)
    {
    }

    public Gauge WithLabels(params string[] values) => GetOrAdd(values, () => new Gauge());

    internal override void Write(StringBuilder text, bool openMetrics)
    {
        WriteHeader(text, Name, Help, "gauge", openMetrics);
        foreach (var (values, child) in Snapshot())
        {
            WriteSample(text, Name, values, ((Gauge)child).Value);
        }
    }

    public sealed class Gauge
    {
        private AtomicDouble _value;

        public double Value => _value.Value;

        public void Set(double value) => _value.Set(value);
    }
}

public sealed class HistogramFamily : MetricFamily
{
    private readonly double[] _bounds;
    private readonly string[] _boundLabels;

    internal HistogramFamily(MetricsRegistry registry, string name, string help, double[] buckets, string[] labelNames)
        : base(registry, name, help, labelNames)
    {
        for (var i = 1; i < buckets.Length; i++)
        {
            if (buckets[i] <= buckets[i - 1])
            {
                throw new ArgumentException($"{name}: buckets must increase.", nameof(buckets));
            }
        }

        _bounds = [.. buckets, double.PositiveInfinity];
        _boundLabels = [.. _bounds.Select(PythonFloat.Format)];
    }

    public IReadOnlyList<double> Buckets => _bounds;

    public Histogram WithLabels(params string[] values) => GetOrAdd(values, () => new Histogram(_bounds, Registry.Now()));

    internal override void Write(StringBuilder text, bool openMetrics)
    {
        var children = Snapshot();
        WriteHeader(text, Name, Help, "histogram", openMetrics);
        foreach (var (values, child) in children)
        {
            var histogram = (Histogram)child;
            var counts = histogram.Counts();
            double cumulative = 0;
            for (var i = 0; i < _bounds.Length; i++)
            {
                cumulative += counts[i];
                WriteSample(text, Name + "_bucket", values, cumulative, _boundLabels[i]);
            }

            WriteSample(text, Name + "_count", values, cumulative);
            WriteSample(text, Name + "_sum", values, histogram.Sum);
            if (openMetrics)
            {
                WriteSample(text, Name + "_created", values, histogram.Created);
            }
        }

        if (!openMetrics)
        {
            WriteCreated(text, children, h => ((Histogram)h).Created);
        }
    }

    public sealed class Histogram(double[] bounds, double created)
    {
        private readonly long[] _counts = new long[bounds.Length];
        private AtomicDouble _sum;

        public double Created { get; } = created;

        public double Sum => _sum.Value;

        public void Observe(double value)
        {
            // prometheus_client: the first bucket whose upper bound is >= value.
            var i = 0;
            while (value > bounds[i])
            {
                i++;
            }

            Interlocked.Increment(ref _counts[i]);
            _sum.Add(value);
        }

        /// <summary>Adds samples in bulk: <paramref name="counts"/> per bucket (not cumulative, +Inf last) and their sum.</summary>
        public void AddBuckets(IReadOnlyList<long> counts, double sum)
        {
            ArgumentOutOfRangeException.ThrowIfNotEqual(counts.Count, _counts.Length);
            for (var i = 0; i < counts.Count; i++)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(counts[i]);
                Interlocked.Add(ref _counts[i], counts[i]);
            }

            _sum.Add(sum);
        }

        internal long[] Counts()
        {
            var copy = new long[_counts.Length];
            for (var i = 0; i < copy.Length; i++)
            {
                copy[i] = Interlocked.Read(ref _counts[i]);
            }

            return copy;
        }
    }
}

/// <summary>prometheus_client's floatToGoString: Python's repr of a float, with Go's earlier switch to exponents.</summary>
public static class PythonFloat
{
    public static string Format(double value)
    {
        if (double.IsPositiveInfinity(value))
        {
            return "+Inf";
        }

        if (double.IsNegativeInfinity(value))
        {
            return "-Inf";
        }

        if (double.IsNaN(value))
        {
            return "NaN";
        }

        var s = Repr(value);
        var dot = s.IndexOf('.', StringComparison.Ordinal);
        if (value > 0 && dot > 6)
        {
            var mantissa = $"{s[0]}.{s[1..dot]}{s[(dot + 1)..]}".TrimEnd('0', '.');
            return $"{mantissa}e+0{dot - 1}";
        }

        return s;
    }

    /// <summary>Python's repr(float): shortest round-trip digits, exponent form below 1e-4 and from 1e16.</summary>
    private static string Repr(double value)
    {
        var r = value.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
        {
            return r.Contains('.', StringComparison.Ordinal) ? r : r + ".0";
        }

        var mantissa = r[..e];
        var exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        if (exponent is >= -4 and < 16)
        {
            // .NET switches to exponents at 1e15; Python only at 1e16.
            var plain = ((decimal)value).ToString(CultureInfo.InvariantCulture);
            return plain.Contains('.', StringComparison.Ordinal) ? plain : plain + ".0";
        }

        return $"{mantissa}e{(exponent < 0 ? '-' : '+')}{Math.Abs(exponent):00}";
    }
}
