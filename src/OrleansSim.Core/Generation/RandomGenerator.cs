using OrleansSim.Core.Tokenization;

namespace OrleansSim.Core.Generation;

/// <summary>
/// Random mode: fluent English assembled from preset sentences picked with the request's <see cref="Random"/>.
/// The sentences are split into token pieces once, at construction, so a request only copies references.
/// Length: exactly <c>max_tokens</c> with <c>ignore_eos</c>; a bucket histogram over [1, max_tokens] when
/// <c>max_tokens</c> is given; otherwise about Normal(40, 20) bounded by max-model-len minus the prompt.
/// </summary>
public sealed class RandomGenerator : ITextGenerator
{
    public const int DefaultMaxModelLen = 1024;

    private const double LengthMean = 40;
    private const double LengthStdDev = 20;

    /// <summary>Probability of each length bucket; the last bucket means exactly max_tokens.</summary>
    private static readonly double[] BucketProbabilities = [0.2, 0.3, 0.2, 0.05, 0.1, 0.15];

    private static readonly string[] Sentences =
    [
        "The quick answer depends on how much detail you need, so let me start with the essentials.",
        "A small garden on the balcony can supply fresh herbs for most of the summer.",
        "Good documentation explains not only what a function does but also why it exists.",
        "The train left the station a few minutes late, yet it still reached the coast on time.",
        "Most bugs are found by reading the code slowly rather than by staring at the logs.",
        "On clear winter nights the stars look sharper because the cold air holds less moisture.",
        "If you break a large task into smaller steps, each step becomes much easier to test.",
        "The library closes early on Fridays, so plan to return your books before four o'clock.",
        "Caching can make a service faster, but it also adds another place where data can go stale.",
        "She poured the tea, opened the window, and listened to the rain for a while.",
        "A well chosen name for a variable often saves more time than a long comment.",
        "Mountains create their own weather, which is why hikers should carry an extra layer.",
        "The museum added a new wing that displays old maps and hand drawn travel journals.",
        "When two teams share a deadline, a short daily check-in keeps surprises to a minimum.",
        "Fresh bread tastes best on the day it is baked, although it makes excellent toast later.",
        "Every measurement carries some error, and a careful report says how large that error is.",
        "The river was calm in the morning, reflecting the bridge and the trees along its banks.",
        "Learning a new language is easier when you practice a little every day instead of cramming.",
    ];

    private readonly string[][] _firstPieces;
    private readonly string[][] _nextPieces;
    private readonly int _maxModelLen;

    public RandomGenerator(ISimTokenizer tokenizer, int maxModelLen = DefaultMaxModelLen)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _maxModelLen = maxModelLen;
        _firstPieces = [.. Sentences.Select(s => tokenizer.SplitTokens(s).ToArray())];
        _nextPieces = [.. Sentences.Select(s => tokenizer.SplitTokens(" " + s).ToArray())];
    }

    public GeneratedText Generate(GenerationRequest request, SimRandom random)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(random);
        (int count, string finish) = ChooseLength(request, random);
        var pieces = Assemble(count, random);
        if (GenerationHelpers.TryCutAtStop(pieces, request.Stop, out var cut, out var matched))
        {
            return new GeneratedText(cut, GenerationHelpers.Stop) { StopReason = matched };
        }

        return new GeneratedText(pieces, finish);
    }

    private (int Count, string Finish) ChooseLength(GenerationRequest request, SimRandom random)
    {
        if (request.MaxTokens is int max)
        {
            if (max <= 0)
            {
                return (0, GenerationHelpers.Length);
            }

            if (request.IgnoreEos)
            {
                return (max, GenerationHelpers.Length);
            }

            int len = LengthFromHistogram(max, random);
            return (len, len == max ? GenerationHelpers.Length : GenerationHelpers.Stop);
        }

        int limit = Math.Max(1, _maxModelLen - request.PromptTokens);
        int n = limit <= LengthMean + (2 * LengthStdDev)
            ? random.Next(1, limit + 1)
            : Math.Clamp((int)Math.Round(LengthMean + (LengthStdDev * StandardNormal(random))), 1, limit);
        return (n, n == limit ? GenerationHelpers.Length : GenerationHelpers.Stop);
    }

    /// <summary>
    /// Picks a bucket with <see cref="BucketProbabilities"/>. The first five buckets split [1, max-1] into equal
    /// ranges and the length is uniform inside the chosen one; the last bucket is exactly <paramref name="max"/>.
    /// </summary>
    internal static int LengthFromHistogram(int max, SimRandom random)
    {
        if (max <= 1)
        {
            return max;
        }

        double r = random.NextDouble();
        int bucket = BucketProbabilities.Length - 1;
        double cumulative = 0;
        for (int i = 0; i < BucketProbabilities.Length; i++)
        {
            cumulative += BucketProbabilities[i];
            if (r < cumulative)
            {
                bucket = i;
                break;
            }
        }

        if (bucket == BucketProbabilities.Length - 1)
        {
            return max;
        }

        int span = max - 1; // lengths 1..max-1 shared by the first buckets
        int buckets = BucketProbabilities.Length - 1;
        int lo = 1 + (int)((long)span * bucket / buckets);
        int hi = (int)((long)span * (bucket + 1) / buckets); // inclusive
        if (hi < lo)
        {
            return random.Next(1, max); // fewer lengths than buckets
        }

        return random.Next(lo, hi + 1);
    }

    private static double StandardNormal(SimRandom random)
    {
        double u1 = 1.0 - random.NextDouble(); // (0, 1]
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary><paramref name="count"/> token pieces of preset text (what datasets pad <c>ignore_eos</c> responses with).</summary>
    public IReadOnlyList<string> PresetPieces(int count, SimRandom random) => Assemble(Math.Max(count, 0), random);

    private List<string> Assemble(int count, SimRandom random)
    {
        var pieces = new List<string>(count);
        bool first = true;
        while (pieces.Count < count)
        {
            int index = random.Next(Sentences.Length);
            string[] sentence = first ? _firstPieces[index] : _nextPieces[index];
            first = false;
            int take = Math.Min(sentence.Length, count - pieces.Count);
            for (int i = 0; i < take; i++)
            {
                pieces.Add(sentence[i]);
            }
        }

        return pieces;
    }
}
