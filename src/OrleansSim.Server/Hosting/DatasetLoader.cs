using OrleansSim.Core.Configuration;
using OrleansSim.Core.Generation;
using OrleansSim.Core.Generation.Dataset;
using OrleansSim.Core.Tokenization;

namespace OrleansSim.Server.Hosting;

/// <summary>
/// Opens <c>--dataset-path</c> once the listeners are up (downloading it first from <c>--dataset-url</c> when the file is
/// missing), then serves as the process's <see cref="ITextGenerator"/>. Until the dataset is open <c>/ready</c> answers 503
/// and completions are refused with 503 (<see cref="SimulatorMiddleware"/>); if it cannot be opened the error is
/// reported and the process stops with a non-zero exit code.
/// </summary>
public sealed class DatasetLoader(SimulatorOptions options, ISimTokenizer tokenizer, Readiness readiness, IHostApplicationLifetime lifetime, ILogger<DatasetLoader> logger)
    : BackgroundService, ITextGenerator
{
    private volatile DatasetGenerator? _generator;
    private SqliteDataset? _dataset;

    public GeneratedText Generate(GenerationRequest request, SimRandom random) =>
        (_generator ?? throw new Api.ApiException(StatusCodes.Status503ServiceUnavailable, "The server is not ready yet: the dataset is still loading.", null))
            .Generate(request, random);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var path = options.DatasetPath!;
        try
        {
            if (options.DatasetUrl is { } url)
            {
                using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
                var downloader = new DatasetDownloader(http, Console.Out, interactive: !Console.IsOutputRedirected);
                await downloader.DownloadAsync(url, path, stoppingToken);
            }

            _dataset = SqliteDataset.Open(path, options.DatasetTableName, options.DatasetInMemory);
            _generator = new DatasetGenerator(_dataset, tokenizer, new RandomGenerator(tokenizer, options.MaxModelLen), options.MaxModelLen);
            readiness.DatasetOpened();
            logger.LogInformation("dataset {Path} open ({Mode}): {Count} records in table {Table}",
                path, options.DatasetInMemory ? "in memory" : "read-only", _dataset.Count, options.DatasetTableName);
        }
        catch (DatasetException ex)
        {
            readiness.FailStartup(ex.Message);
            logger.LogError("dataset {Path}: {Message}", path, ex.Message);
            lifetime.StopApplication();
        }
    }

    public override void Dispose()
    {
        _dataset?.Dispose();
        base.Dispose();
    }
}
