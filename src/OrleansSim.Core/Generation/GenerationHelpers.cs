namespace OrleansSim.Core.Generation;

/// <summary>Finish reasons and the stop-string cut shared by the generators.</summary>
internal static class GenerationHelpers
{
    public const string Stop = "stop";
    public const string Length = "length";

    /// <summary>
    /// When the concatenated <paramref name="pieces"/> contain one of <paramref name="stops"/>, returns the pieces
    /// before the earliest occurrence (the last one cut short if the stop string starts inside it), the stop
    /// string that matched (vLLM's <c>stop_reason</c>) and true.
    /// </summary>
    public static bool TryCutAtStop(List<string> pieces, IReadOnlyList<string> stops, out List<string> cut, out string? matched)
    {
        cut = pieces;
        matched = null;
        if (stops.Count == 0 || pieces.Count == 0)
        {
            return false;
        }

        string text = string.Concat(pieces);
        int earliest = -1;
        foreach (string stop in stops)
        {
            if (string.IsNullOrEmpty(stop))
            {
                continue;
            }

            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (earliest < 0 || at < earliest))
            {
                earliest = at;
                matched = stop;
            }
        }

        if (earliest < 0)
        {
            return false;
        }

        cut = new List<string>(pieces.Count);
        int pos = 0;
        foreach (string piece in pieces)
        {
            if (pos + piece.Length <= earliest)
            {
                cut.Add(piece);
                pos += piece.Length;
                continue;
            }

            if (earliest > pos)
            {
                cut.Add(piece[..(earliest - pos)]);
            }

            break;
        }

        return true;
    }
}
