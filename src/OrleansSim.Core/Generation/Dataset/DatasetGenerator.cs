using OrleansSim.Core.Tokenization;

namespace OrleansSim.Core.Generation.Dataset;

/// <summary>
/// Random mode with a dataset (llm-d-inference-sim's CustomDataset). The response budget is <c>max_tokens</c>, else the
/// context window left after the prompt.
/// <list type="bullet">
/// <item>Hit (a response recorded for this prompt's hash): a random one that fits the budget, else a longer one cut
/// to it. With <c>ignore_eos</c> exactly the budget: one of that length, else a longer one cut, else a shorter one
/// padded with preset tokens.</item>
/// <item>Miss: a random response that fits (with <c>ignore_eos</c>: of exactly the budget), else any response, cut to
/// the budget (padded with <c>ignore_eos</c>).</item>
/// </list>
/// finish_reason is <c>length</c> when the output has exactly the budget's length, else <c>stop</c>; stop strings
/// still cut the output.
/// </summary>
public sealed class DatasetGenerator(SqliteDataset dataset, ISimTokenizer tokenizer, RandomGenerator presets, int maxModelLen) : ITextGenerator
{
    public GeneratedText Generate(GenerationRequest request, SimRandom random)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(random);
        var budget = request.MaxTokens ?? (maxModelLen - request.PromptTokens);
        if (budget <= 0)
        {
            return new GeneratedText([], GenerationHelpers.Length);
        }

        var pieces = Choose(request, budget, random);
        if (GenerationHelpers.TryCutAtStop(pieces, request.Stop, out var cut, out var matched))
        {
            return new GeneratedText(cut, GenerationHelpers.Stop) { StopReason = matched };
        }

        return new GeneratedText(pieces, pieces.Count == budget ? GenerationHelpers.Length : GenerationHelpers.Stop);
    }

    private List<string> Choose(GenerationRequest request, int budget, SimRandom random)
    {
        var hits = dataset.ResponsesFor(PromptHash.Compute(request.PromptTokenIds));
        if (hits.Count > 0)
        {
            var fits = hits.Where(h => h.Length <= budget).ToList();
            var longer = hits.Where(h => h.Length > budget).ToList();
            if (request.IgnoreEos)
            {
                var exact = fits.Where(h => h.Length == budget).ToList();
                return exact.Count > 0 ? Pieces(Pick(exact, random), budget, false, random)
                    : longer.Count > 0 ? Pieces(Pick(longer, random), budget, false, random)
                    : Pieces(Pick(fits, random), budget, true, random);
            }

            return Pieces(fits.Count > 0 ? Pick(fits, random) : Pick(longer, random), budget, false, random);
        }

        var entry = dataset.RandomWithLength(budget, request.IgnoreEos, random)
            ?? dataset.RandomAny(random)
            ?? throw new DatasetException("Dataset is empty");
        return Pieces(entry, budget, request.IgnoreEos, random);
    }

    private static DatasetEntry Pick(List<DatasetEntry> entries, SimRandom random) => entries[random.Next(entries.Count)];

    /// <summary>The entry's text pieces cut to <paramref name="budget"/>, and padded up to it with preset tokens when asked.</summary>
    private List<string> Pieces(DatasetEntry entry, int budget, bool pad, SimRandom random)
    {
        IEnumerable<string> source = entry.Strings.Count > 0 || entry.Tokens.Count == 0
            ? entry.Strings
            : entry.Tokens.Select(id => tokenizer.Decode([id]));
        var pieces = source.Take(budget).ToList();
        if (pad && pieces.Count < budget)
        {
            pieces.AddRange(presets.PresetPieces(budget - pieces.Count, random));
        }

        return pieces;
    }
}
