using OrleansSim.Core.Configuration;
using OrleansSim.Core.Generation;
using OrleansSim.Core.Generation.Tools;
using OrleansSim.Core.Tokenization;

namespace OrleansSim.Server.Inference;

/// <summary>
/// The plan step of the run loop: draws every choice's tokens and finish reason from the seed the rank handed out.
/// One place for what a request's output is (the generator's text, cut to the context window; nothing for
/// surfaces that generate no tokens; tool calls or JSON when the request has tools or a structured-output constraint),
/// whatever surface writes it.
/// </summary>
public sealed class OutputPlanner(SimulatorOptions options, ITextGenerator generator, ISimTokenizer tokenizer)
{
    private readonly ConstrainedOutputPlanner _constrained = new(options.ToolCalls, tokenizer);

    private static readonly GeneratedText NoTokens = new([], "stop");

    /// <summary>Choices prompt-major: n per prompt.</summary>
    public GeneratedText[] Plan(InferenceRequest request, SimRandom random)
    {
        var choices = new GeneratedText[request.ChoiceCount];
        var c = 0;
        foreach (var prompt in request.Prompts)
        {
            // Without max_tokens the output may fill the context window, as in vLLM.
            var room = options.MaxModelLen - prompt.PromptTokens;
            var maxTokens = request.MaxTokens ?? (request.IgnoreEos ? room : null);
            var generation = new GenerationRequest(prompt.EchoText, prompt.PromptTokens, maxTokens, request.IgnoreEos, request.Stop) { PromptTokenIds = prompt.TokenIds };
            for (var i = 0; i < request.N; i++)
            {
                if (!request.GeneratesTokens)
                {
                    choices[c++] = NoTokens; // a pooling request: the prompt is all there is
                    continue;
                }

                if (request.MaxTokens == 0)
                {
                    choices[c++] = new GeneratedText([], "length"); // echo without generation
                    continue;
                }

                if (request.KvTransfer?.DoRemoteDecode == true)
                {
                    // P/D prefill side: one token, then the decode pod takes over (llm-d-inference-sim's finish reason).
                    var first = generator.Generate(generation with { MaxTokens = 1 }, random);
                    choices[c++] = new GeneratedText([.. first.Tokens.Take(1)], KvTransferParams.RemoteDecodeFinishReason);
                    continue;
                }

                if ((request.Tools is not null || request.StructuredOutput is not null)
                    && _constrained.Plan(request.Tools, request.StructuredOutput, Math.Min(maxTokens ?? room, room), random) is { } constrained)
                {
                    choices[c++] = constrained; // tool calls, or JSON text
                    continue;
                }

                var text = generator.Generate(generation, random);
                choices[c++] = text.Tokens.Count > room ? new GeneratedText(text.Tokens.Take(room).ToArray(), "length") : text;
            }
        }

        return choices;
    }
}
