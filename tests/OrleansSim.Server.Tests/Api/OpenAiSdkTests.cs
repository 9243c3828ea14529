using System.ClientModel;
using OpenAI;
using OpenAI.Chat;
using OrleansSim.Server.Tests.Infrastructure;

namespace OrleansSim.Server.Tests.Api;

/// <summary>The official OpenAI .NET SDK against the simulator, as a user would point it.</summary>
public sealed class OpenAiSdkTests(EchoHostFixture fixture) : IClassFixture<EchoHostFixture>
{
    private ChatClient Client => new("test-model", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Host.BaseUri(), "/v1") });

    [Fact]
    public async Task ChatCompletes()
    {
        ChatCompletion completion = await Client.CompleteChatAsync([new UserChatMessage("Hello from the SDK")]);
        Assert.Equal("Hello from the SDK", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.Equal(SimHost.SharedTokenizer.CountTokens("Hello from the SDK"), completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task ChatStreams()
    {
        var text = new System.Text.StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in Client.CompleteChatStreamingAsync([new UserChatMessage("streaming via the SDK")], new ChatCompletionOptions { MaxOutputTokenCount = 100 }))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("streaming via the SDK", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(SimHost.SharedTokenizer.CountTokens("streaming via the SDK"), usage!.OutputTokenCount);
    }

    [Fact]
    public async Task ChatLogprobsAreReadByTheSdk()
    {
        const string prompt = "log probabilities via the SDK";
        ChatCompletion completion = await Client.CompleteChatAsync(
            [new UserChatMessage(prompt)],
            new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 2 });

        var tokens = completion.ContentTokenLogProbabilities;
        Assert.Equal(SimHost.SharedTokenizer.SplitTokens(prompt), tokens.Select(t => t.Token));
        foreach (var token in tokens)
        {
            Assert.True(token.LogProbability < 0);
            Assert.Equal(System.Text.Encoding.UTF8.GetBytes(token.Token), token.Utf8Bytes?.ToArray());
            Assert.Equal(2, token.TopLogProbabilities.Count);
            Assert.Equal(token.Token, token.TopLogProbabilities[0].Token);
            Assert.NotEqual(token.Token, token.TopLogProbabilities[1].Token);
            Assert.True(token.TopLogProbabilities[1].LogProbability < token.LogProbability);
        }
    }

    [Fact]
    public async Task UnknownModelSurfacesAs404()
    {
        var other = new ChatClient("missing-model", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Host.BaseUri(), "/v1") });
        var error = await Assert.ThrowsAsync<ClientResultException>(() => other.CompleteChatAsync([new UserChatMessage("x")]));
        Assert.Equal(404, error.Status);
    }
}
