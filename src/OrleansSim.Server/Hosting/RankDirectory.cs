using OrleansSim.Core.Configuration;
using OrleansSim.Grains.Ranks;

namespace OrleansSim.Server.Hosting;

/// <summary>
/// Maps a front-end listener to its rank: port <c>--port + r</c> serves rank r and talks only to this
/// pod's rank grain r.
/// </summary>
public sealed class RankDirectory
{
    private readonly IRankGrain[] _grains;
    private readonly int _basePort;

    public RankDirectory(SimulatorOptions options, IGrainFactory grains)
    {
        _basePort = options.Port;
        _grains = new IRankGrain[options.DataParallelSize];
        for (var r = 0; r < _grains.Length; r++)
        {
            _grains[r] = grains.GetGrain<IRankGrain>(RankKey.For(options.PodName, r));
        }
    }

    public int Count => _grains.Length;

    public IRankGrain this[int rank] => _grains[rank];

    /// <summary>The rank whose port accepted this connection (rank 0 for any other port).</summary>
    public int RankOf(HttpContext context)
    {
        var rank = context.Connection.LocalPort - _basePort;
        return (uint)rank < (uint)_grains.Length ? rank : 0;
    }
}
