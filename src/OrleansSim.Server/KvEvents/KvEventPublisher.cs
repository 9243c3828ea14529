using System.Buffers.Binary;
using System.Globalization;
using System.Threading.Channels;
using NetMQ;
using NetMQ.Sockets;
using OrleansSim.Core.Configuration;
using OrleansSim.Core.KvCache;

namespace OrleansSim.Server.KvEvents;

/// <summary>
/// The process's <see cref="IKvEventSink"/>: one <see cref="RankEventPublisher"/> per data-parallel rank, each with a
/// bounded queue and its own thread that owns the ZeroMQ sockets. <see cref="Publish"/> only enqueues (and drops
/// when the queue is full), so a slow or absent subscriber never stalls a rank grain.
/// </summary>
public sealed class KvEventPublisher : IKvEventSink, IHostedService, IDisposable
{
    private readonly RankEventPublisher[] _ranks;

    public KvEventPublisher(SimulatorOptions options, TimeProvider time, ILogger<KvEventPublisher> logger)
    {
        _ranks = [.. Enumerable.Range(0, options.DataParallelSize).Select(r => new RankEventPublisher(options, r, time, logger))];
    }

    public void Publish(int rank, KvCacheEvent kvEvent) => _ranks[rank].Enqueue(kvEvent);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var rank in _ranks)
        {
            rank.Start();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var rank in _ranks)
        {
            rank.Stop();
        }

        return Task.CompletedTask;
    }

    public void Dispose()
    {
        foreach (var rank in _ranks)
        {
            rank.Stop();
        }
    }

    /// <summary>
    /// vLLM's <c>offset_endpoint_port</c>: rank r uses the endpoint's port + r (tcp), or a <c>_dp{r}</c> suffix (inproc/ipc).
    /// </summary>
    public static string OffsetEndpoint(string endpoint, int rank)
    {
        if (rank == 0)
        {
            return endpoint;
        }

        var colon = endpoint.LastIndexOf(':');
        return endpoint.StartsWith("tcp://", StringComparison.Ordinal) && colon > 5
            && int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            ? string.Create(CultureInfo.InvariantCulture, $"{endpoint[..colon]}:{port + rank}")
            : $"{endpoint}_dp{rank}";
    }

    /// <summary>The topic llm-d's indexer splits on '@': <c>kv@&lt;POD_IP&gt;:&lt;rank port&gt;@&lt;--model&gt;</c>.</summary>
    public static string Topic(SimulatorOptions options, int rank) =>
        string.Create(CultureInfo.InvariantCulture, $"kv@{options.PodIp}:{options.Port + rank}@{options.Model}");
}

/// <summary>
/// One rank's publisher thread: batches events (<c>--event-batch-size</c>, or whatever is pending once the oldest
/// event is a second old), sends <c>[topic, 8-byte big-endian sequence from 1, msgpack KVEventBatch]</c> on a PUB
/// socket, keeps the last <c>--kv-events-replay-queue-size</c> batches and serves them on the replay ROUTER socket.
/// </summary>
internal sealed class RankEventPublisher
{
    private const int QueueCapacity = 65536;
    private static readonly TimeSpan FlushAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    private readonly SimulatorOptions _options;
    private readonly int _rank;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<KvCacheEvent> _queue = Channel.CreateBounded<KvCacheEvent>(
        new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly ManualResetEventSlim _signal = new(false);
    private readonly Queue<(ulong Seq, byte[] Payload)> _retained = new();
    private readonly byte[] _topic;
    private volatile bool _stopping;
    private Thread? _thread;
    private ulong _seq;

    public RankEventPublisher(SimulatorOptions options, int rank, TimeProvider time, ILogger logger)
    {
        _options = options;
        _rank = rank;
        _time = time;
        _logger = logger;
        _topic = System.Text.Encoding.UTF8.GetBytes(KvEventPublisher.Topic(options, rank));
    }

    public void Enqueue(KvCacheEvent kvEvent)
    {
        _queue.Writer.TryWrite(kvEvent);
        _signal.Set();
    }

    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = $"kv-events-{_rank}" };
        _thread.Start();
    }

    public void Stop()
    {
        _stopping = true;
        _signal.Set();
        _thread?.Join(TimeSpan.FromSeconds(5));
        _thread = null;
    }

    private void Run()
    {
        using var pub = OpenPublisher();
        using var router = OpenReplay();
        var batch = new List<KvCacheEvent>(_options.EventBatchSize);
        var oldest = 0L;
        while (!_stopping)
        {
            while (batch.Count < _options.EventBatchSize && _queue.Reader.TryRead(out var e))
            {
                if (batch.Count == 0)
                {
                    oldest = _time.GetTimestamp();
                }

                batch.Add(e);
            }

            if (batch.Count >= _options.EventBatchSize || (batch.Count > 0 && _time.GetElapsedTime(oldest) >= FlushAfter))
            {
                Send(pub, batch);
                batch.Clear();
                continue;
            }

            if (router is not null)
            {
                ServeReplay(router);
            }

            _signal.Wait(Tick);
            _signal.Reset();
        }
    }

    private PublisherSocket? OpenPublisher()
    {
        if (_options.ZmqEndpoint.Length == 0)
        {
            return null;
        }

        var endpoint = KvEventPublisher.OffsetEndpoint(_options.ZmqEndpoint, _rank);
        var socket = new PublisherSocket();
        socket.Options.Linger = TimeSpan.Zero;
        try
        {
            if (_options.ZmqBind)
            {
                socket.Bind(endpoint);
            }
            else
            {
                // A connecting PUB socket reconnects on its own, forever; until then messages are dropped.
                socket.Connect(endpoint);
            }

            _logger.LogInformation("rank {Rank} KV events: {Mode} {Endpoint}, topic {Topic}", _rank, _options.ZmqBind ? "bound to" : "connecting to", endpoint, KvEventPublisher.Topic(_options, _rank));
            return socket;
        }
        catch (NetMQException ex)
        {
            _logger.LogError("rank {Rank} KV events disabled: cannot use {Endpoint}: {Message}", _rank, endpoint, ex.Message);
            socket.Dispose();
            return null;
        }
    }

    private RouterSocket? OpenReplay()
    {
        if (_options.KvEventsReplayEndpoint is not { } configured)
        {
            return null;
        }

        var endpoint = KvEventPublisher.OffsetEndpoint(configured, _rank);
        var socket = new RouterSocket();
        socket.Options.Linger = TimeSpan.Zero;
        try
        {
            socket.Bind(endpoint);
            _logger.LogInformation("rank {Rank} KV event replay: bound to {Endpoint}", _rank, endpoint);
            return socket;
        }
        catch (NetMQException ex)
        {
            _logger.LogError("rank {Rank} KV event replay disabled: cannot bind {Endpoint}: {Message}", _rank, endpoint, ex.Message);
            socket.Dispose();
            return null;
        }
    }

    private void Send(PublisherSocket? pub, List<KvCacheEvent> batch)
    {
        var timestamp = _time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        var payload = KvEventEncoder.EncodeBatch(batch, timestamp, _rank, _options.KvEventsMapFormat);
        var seq = ++_seq;
        if (_options.KvEventsReplayEndpoint is not null)
        {
            if (_retained.Count >= _options.KvEventsReplayQueueSize)
            {
                _retained.Dequeue();
            }

            _retained.Enqueue((seq, payload));
        }

        if (pub is null)
        {
            return;
        }

        var message = new NetMQMessage(3);
        message.Append(_topic);
        message.Append(SeqBytes(seq));
        message.Append(payload);
        // PUB never blocks: without a subscriber, or past the high-water mark, the message is dropped.
        pub.TrySendMultipartMessage(message);
    }

    /// <summary>
    /// Answers each replay request <c>[identity, "", start seq (8 bytes BE)]</c> with every retained batch from that
    /// sequence on as <c>[identity, "", topic, seq, payload]</c>, then the end marker <c>[identity, "", "", 0xFF×8, ""]</c>.
    /// </summary>
    private void ServeReplay(RouterSocket router)
    {
        var request = new NetMQMessage();
        while (router.TryReceiveMultipartMessage(ref request))
        {
            if (request.FrameCount != 3 || request[2].BufferSize < 8)
            {
                continue;
            }

            var identity = request[0].ToByteArray();
            var start = BinaryPrimitives.ReadUInt64BigEndian(request[2].Buffer);
            foreach (var (seq, payload) in _retained)
            {
                if (seq >= start)
                {
                    var reply = new NetMQMessage(5);
                    reply.Append(identity);
                    reply.AppendEmptyFrame();
                    reply.Append(_topic);
                    reply.Append(SeqBytes(seq));
                    reply.Append(payload);
                    router.TrySendMultipartMessage(reply);
                }
            }

            var end = new NetMQMessage(5);
            end.Append(identity);
            end.AppendEmptyFrame();
            end.AppendEmptyFrame();
            end.Append(SeqBytes(ulong.MaxValue));
            end.AppendEmptyFrame();
            router.TrySendMultipartMessage(end);
            request = new NetMQMessage();
        }
    }

    private static byte[] SeqBytes(ulong seq)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, seq);
        return bytes;
    }
}
