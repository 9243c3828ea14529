namespace OrleansSim.Core.Generation;

/// <summary>
/// Synthetic embeddings: a deterministic unit-length vector per prompt. The vector is a function of the prompt's
/// token ids and the dimension count only, so the same text (or the same token ids) always gets the same vector, on
/// every rank and pod; different prompts get unrelated vectors.
/// </summary>
public static class EmbeddingGenerator
{
    /// <summary>Writes the embedding of <paramref name="tokenIds"/> into <paramref name="vector"/> (its length is the dimension count).</summary>
    public static void Embed(ReadOnlySpan<int> tokenIds, Span<float> vector)
    {
        // FNV-1a over the ids and the dimension count seeds a SplitMix64 stream of components in [-1, 1).
        var state = 14695981039346656037UL;
        foreach (var id in tokenIds)
        {
            state = (state ^ (uint)id) * 1099511628211UL;
        }

        state = (state ^ (uint)vector.Length) * 1099511628211UL;
        double squares = 0;
        for (var i = 0; i < vector.Length; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            var component = ((z >> 11) * (1.0 / (1UL << 53)) * 2) - 1;
            vector[i] = (float)component;
            squares += component * component;
        }

        // Unit length (an all-zero draw cannot happen in practice; guard it anyway).
        var norm = squares > 0 ? Math.Sqrt(squares) : 1;
        if (squares == 0)
        {
            vector[0] = 1;
        }

        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = (float)(vector[i] / norm);
        }
    }

    public static float[] Embed(ReadOnlySpan<int> tokenIds, int dimensions)
    {
        var vector = new float[dimensions];
        Embed(tokenIds, vector);
        return vector;
    }
}
