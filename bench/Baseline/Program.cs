using System.Net;
using OrleansSim.Bench.Baseline;

// Minimal raw Kestrel app answering /v1/chat/completions and /v1/completions with the simulator's
// wire shapes: one JSON body, or SSE chunks on the simulator's timer (TTFT, then one ITL per token,
// absolute deadlines from the request's start). Flags use the simulator's names.
var settings = BaselineSettings.Parse(args);
var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
builder.WebHost.UseKestrelCore();
builder.WebHost.ConfigureKestrel(k =>
{
    k.AddServerHeader = false;
    for (var r = 0; r < settings.Ranks; r++)
    {
        k.Listen(IPAddress.Loopback, settings.Port + r);
    }
});
var app = builder.Build();
var handler = new CompletionHandler(settings);
app.Run(handler.HandleAsync);
await app.StartAsync();
Console.Out.WriteLine($"baseline listening on 127.0.0.1:{settings.Port}..{settings.Port + settings.Ranks - 1} ttft={settings.TimeToFirstToken.TotalMilliseconds}ms itl={settings.InterTokenLatency.TotalMilliseconds}ms");
await app.WaitForShutdownAsync();
