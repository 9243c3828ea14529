using System.Buffers.Binary;
using System.Text;
using MessagePack;
using NetMQ;
using NetMQ.Sockets;

namespace OrleansSim.Server.Tests.Infrastructure;

/// <summary>One received KV event message, decoded with MessagePack-CSharp (an independent msgpack reader).</summary>
public sealed record KvMessage(string Topic, ulong Seq, byte[] Payload)
{
    /// <summary>The decoded <c>[ts, [event…], data_parallel_rank]</c>.</summary>
    public object?[] Batch { get; } = (object?[])MessagePackSerializer.Deserialize<object>(Payload)!;

    public object?[] Events => (object?[])Batch[1]!;

    public int DataParallelRank => Convert.ToInt32(Batch[2], System.Globalization.CultureInfo.InvariantCulture);

    public static ulong U64(object? value) => Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture);

    public static ulong[] U64s(object? value) => [.. ((object?[])value!).Select(U64)];
}

/// <summary>
/// A real ZeroMQ SUB socket that binds, as llm-d's KV-cache indexer does; the simulator's PUB socket connects to it.
/// </summary>
public sealed class KvSubscriber : IDisposable
{
    private readonly SubscriberSocket _socket = new();

    private KvSubscriber(int port)
    {
        Port = port;
        _socket.Options.Linger = TimeSpan.Zero;
        _socket.Bind(Endpoint);
        _socket.Subscribe("kv@");
    }

    public int Port { get; }

    public string Endpoint => $"tcp://127.0.0.1:{Port}";

    public static KvSubscriber Bind(int? port = null) => new(port ?? FreePorts.One());

    /// <summary>The next message, or null when none came within <paramref name="timeout"/>.</summary>
    public KvMessage? TryReceive(TimeSpan timeout)
    {
        NetMQMessage? message = null;
        if (!_socket.TryReceiveMultipartMessage(timeout, ref message))
        {
            return null;
        }

        Assert.Equal(3, message.FrameCount);
        Assert.Equal(8, message[1].BufferSize);
        return new KvMessage(Encoding.UTF8.GetString(message[0].ToByteArray()), BinaryPrimitives.ReadUInt64BigEndian(message[1].ToByteArray()), message[2].ToByteArray());
    }

    public KvMessage Receive(double seconds = 5) =>
        TryReceive(TimeSpan.FromSeconds(seconds)) ?? throw new TimeoutException($"no KV event message within {seconds}s");

    /// <summary>
    /// Sends one-block requests with fresh prompts until their events arrive (the PUB connect and the subscription
    /// take a moment; until then ZeroMQ drops messages), then drains what is left.
    /// </summary>
    public async Task WarmUpAsync(HttpClient client, int blockSize = 16)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        var first = 150_000; // fresh ids inside the o200k vocabulary (out-of-vocabulary ids are a 400)
        while (DateTime.UtcNow < deadline)
        {
            await client.PostJsonAsync("/v1/completions", Completion([.. Enumerable.Range(first, blockSize + 1)]));
            first += blockSize + 1;
            if (TryReceive(TimeSpan.FromSeconds(1.5)) is not null)
            {
                while (TryReceive(TimeSpan.FromMilliseconds(1500)) is not null)
                {
                }

                return;
            }
        }

        throw new TimeoutException("the simulator's KV events never reached the subscriber");
    }

    public static string Completion(int[] ids, int maxTokens = 1) =>
        $$"""{"model":"test-model","prompt":[{{string.Join(',', ids)}}],"max_tokens":{{maxTokens}}}""";

    public void Dispose() => _socket.Dispose();
}
