using System.Numerics;
using System.Runtime.CompilerServices;

namespace OrleansSim.Core.Generation;

/// <summary>
/// The simulator's seeded pseudo-random source: xoshiro256** with its state expanded from a 64-bit seed by
/// SplitMix64. Every request draws its text, tool calls and latency jitter from one of these, seeded by the
/// request's seed, so that the same seed and request order reproduce the same output.
/// </summary>
/// <remarks>
/// <see cref="Random"/> built with a seed runs .NET's compatibility generator, whose construction fills a
/// 56-entry table (a measurable share of a zero-latency request's CPU); this one costs four multiplications to
/// seed. Bounded draws use Lemire's multiply-and-reject method, so they carry no modulo bias.
/// </remarks>
public sealed class SimRandom
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>Creates a generator whose sequence is fixed by <paramref name="seed"/>.</summary>
    public SimRandom(long seed)
    {
        ulong x = unchecked((ulong)seed);
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>A generator seeded from the shared non-deterministic source.</summary>
    public static SimRandom Unseeded() => new(Random.Shared.NextInt64(long.MinValue, long.MaxValue));

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = unchecked(x += 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 uniformly distributed bits.</summary>
    public ulong NextUInt64()
    {
        ulong s0 = _s0, s1 = _s1, s2 = _s2, s3 = _s3;
        ulong result = unchecked(BitOperations.RotateLeft(s1 * 5, 7) * 9);
        ulong t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = BitOperations.RotateLeft(s3, 45);
        _s0 = s0;
        _s1 = s1;
        _s2 = s2;
        _s3 = s3;
        return result;
    }

    /// <summary>A non-negative integer below <see cref="int.MaxValue"/>.</summary>
    public int Next() => (int)NextUInt64Bounded(int.MaxValue);

    /// <summary>An integer in [0, <paramref name="maxValue"/>); 0 when <paramref name="maxValue"/> is 0.</summary>
    public int Next(int maxValue) => (int)NextInt64(maxValue);

    /// <summary>An integer in [<paramref name="minValue"/>, <paramref name="maxValue"/>).</summary>
    public int Next(int minValue, int maxValue) => (int)NextInt64(minValue, maxValue);

    /// <summary>A non-negative 64-bit integer below <see cref="long.MaxValue"/>.</summary>
    public long NextInt64() => (long)NextUInt64Bounded(long.MaxValue);

    /// <summary>A 64-bit integer in [0, <paramref name="maxValue"/>).</summary>
    public long NextInt64(long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return maxValue <= 1 ? 0 : (long)NextUInt64Bounded((ulong)maxValue);
    }

    /// <summary>A 64-bit integer in [<paramref name="minValue"/>, <paramref name="maxValue"/>).</summary>
    public long NextInt64(long minValue, long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        ulong range = unchecked((ulong)(maxValue - minValue));
        return range <= 1 ? minValue : unchecked(minValue + (long)NextUInt64Bounded(range));
    }

    /// <summary>A double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Fills <paramref name="buffer"/> with random bytes.</summary>
    public void NextBytes(Span<byte> buffer)
    {
        while (buffer.Length >= sizeof(ulong))
        {
            Unsafe.WriteUnaligned(ref buffer[0], NextUInt64());
            buffer = buffer[sizeof(ulong)..];
        }

        if (!buffer.IsEmpty)
        {
            ulong last = NextUInt64();
            for (int i = 0; i < buffer.Length; i++)
            {
                buffer[i] = (byte)(last >> (8 * i));
            }
        }
    }

    private ulong NextUInt64Bounded(ulong bound)
    {
        ulong high = Math.BigMul(NextUInt64(), bound, out ulong low);
        if (low < bound)
        {
            ulong threshold = unchecked(0 - bound) % bound;
            while (low < threshold)
            {
                high = Math.BigMul(NextUInt64(), bound, out low);
            }
        }

        return high;
    }
}
