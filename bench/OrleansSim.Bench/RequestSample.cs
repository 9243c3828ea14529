namespace OrleansSim.Bench;

/// <summary>What one request measured. Times in milliseconds from the moment it was sent.</summary>
public sealed class RequestSample
{
    public int Target { get; init; }

    public long StartedAt { get; init; }

    /// <summary>Sent after the warm-up: counts in the latency figures.</summary>
    public bool Measured { get; init; }

    public long EndedAt { get; set; }

    public string? Error { get; set; }

    public double TtftMs { get; set; }

    public double E2eMs { get; set; }

    public int OutputTokens { get; set; }

    /// <summary>Gaps between consecutive token events (streaming only).</summary>
    public List<double> ItlMs { get; } = [];
}
