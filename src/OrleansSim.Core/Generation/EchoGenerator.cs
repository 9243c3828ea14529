using OrleansSim.Core.Tokenization;

namespace OrleansSim.Core.Generation;

/// <summary>
/// Echo mode: the output is the request's echo text, cut to <c>max_tokens</c> tokens ("length"), or repeated up
/// to exactly <c>max_tokens</c> tokens with <c>ignore_eos</c>. Stop strings cut the output ("stop").
/// </summary>
public sealed class EchoGenerator(ISimTokenizer tokenizer) : ITextGenerator
{
    public GeneratedText Generate(GenerationRequest request, SimRandom random)
    {
        var source = tokenizer.SplitTokens(request.EchoText);
        int? max = request.MaxTokens;
        List<string> pieces;
        string finish;

        if (source.Count == 0)
        {
            pieces = [];
            finish = GenerationHelpers.Stop;
        }
        else if (max is int limit && request.IgnoreEos)
        {
            limit = Math.Max(limit, 0);
            pieces = new List<string>(limit);
            for (int i = 0; i < limit; i++)
            {
                pieces.Add(source[i % source.Count]);
            }

            finish = GenerationHelpers.Length;
        }
        else if (max is int cap && source.Count >= cap)
        {
            cap = Math.Max(cap, 0);
            pieces = new List<string>(cap);
            for (int i = 0; i < cap; i++)
            {
                pieces.Add(source[i]);
            }

            finish = GenerationHelpers.Length;
        }
        else
        {
            pieces = [.. source];
            finish = GenerationHelpers.Stop;
        }

        if (GenerationHelpers.TryCutAtStop(pieces, request.Stop, out var cut, out var matched))
        {
            return new GeneratedText(cut, GenerationHelpers.Stop) { StopReason = matched };
        }

        return new GeneratedText(pieces, finish);
    }
}
