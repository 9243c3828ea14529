using System.Net.Sockets;
using Orleans.Configuration;
using Microsoft.Extensions.Options;

namespace OrleansSim.Server.Cluster;

/// <summary>
/// Refuses to join a cluster in which a live pod of the same name (<c>POD_NAME</c>) already serves. A pod's rank
/// grains are keyed and placed by pod name, so a second pod of that name would silently take over (or share) the
/// first pod's ranks. Runs just before the silo becomes active: the membership table has been read, and nothing has
/// been placed here yet. A same-named entry still marked active in the table but not answering on its silo port is
/// a pod that died without leaving (killed, its node gone); membership declares it dead soon, so it does not count.
/// Two pods started at once resolve it by age: the older silo (generation, then address) stays, the younger leaves.
/// </summary>
public sealed class UniquePodName(
    IClusterMembershipService membership,
    ILocalSiloDetails local,
    IOptions<ClusterOptions> cluster,
    ILogger<UniquePodName> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(UniquePodName), ServiceLifecycleStage.BecomeActive - 1, CheckAsync);

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        await membership.Refresh(default, cancellationToken);
        var me = local.SiloAddress;
        var rivals = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Name == local.Name && !m.SiloAddress.Equals(me) && IsOlder(m.SiloAddress, me)
                && m.Status is SiloStatus.Active or SiloStatus.Joining
                && !m.SiloAddress.Endpoint.Equals(me.Endpoint)) // an older generation of this very endpoint is this pod restarted
            .ToList();
        foreach (var rival in rivals)
        {
            if (await AnswersAsync(rival.SiloAddress, cancellationToken))
            {
                throw new DuplicatePodException(
                    $"pod name '{local.Name}' is already taken in cluster '{cluster.Value.ClusterId}' by the live silo at {rival.SiloAddress.Endpoint}; "
                    + "give every pod its own POD_NAME");
            }

            logger.LogInformation("Pod name {Pod} is listed for {Silo}, which does not answer; taking it over", local.Name, rival.SiloAddress);
        }
    }

    private static bool IsOlder(SiloAddress other, SiloAddress me) =>
        other.Generation != me.Generation
            ? other.Generation < me.Generation
            : string.CompareOrdinal(other.ToString(), me.ToString()) < 0;

    private static async Task<bool> AnswersAsync(SiloAddress silo, CancellationToken cancellationToken)
    {
        using var socket = new Socket(silo.Endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            await socket.ConnectAsync(silo.Endpoint, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }
}

/// <summary>A second pod with a name that a live pod of the cluster already has: the process exits with this message.</summary>
public sealed class DuplicatePodException(string message) : Exception(message);
