using System.Globalization;
using System.Text;

namespace OrleansSim.Core.Configuration;

/// <summary>
/// Duration text as the flags take it: a plain number means milliseconds (<c>200</c>, <c>1.5</c>);
/// otherwise a Go-style duration (<c>200ms</c>, <c>1.5s</c>, <c>1m30s</c>, <c>500us</c>, <c>2h</c>).
/// </summary>
internal static class DurationText
{
    private const decimal NanosPerTick = 100m;

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string s = text.Trim();
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double ms))
        {
            if (!double.IsFinite(ms) || Math.Abs(ms) >= TimeSpan.MaxValue.TotalMilliseconds)
            {
                return false;
            }

            value = TimeSpan.FromTicks((long)Math.Round(ms * TimeSpan.TicksPerMillisecond));
            return true;
        }

        return TryParseGo(s, out value);
    }

    private static bool TryParseGo(string s, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        int i = 0;
        bool negative = false;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            i++;
        }

        if (i >= s.Length)
        {
            return false;
        }

        decimal totalNanos = 0;
        try
        {
            while (i < s.Length)
            {
                int start = i;
                while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
                {
                    i++;
                }

                if (i == start || !decimal.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number))
                {
                    return false;
                }

                int unitStart = i;
                while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
                {
                    i++;
                }

                decimal? scale = s[unitStart..i] switch
                {
                    "ns" => 1m,
                    "us" or "µs" or "μs" => 1_000m,
                    "ms" => 1_000_000m,
                    "s" => 1_000_000_000m,
                    "m" => 60_000_000_000m,
                    "h" => 3_600_000_000_000m,
                    _ => null,
                };
                if (scale is null)
                {
                    return false;
                }

                totalNanos += number * scale.Value;
            }

            decimal ticks = decimal.Truncate(totalNanos / NanosPerTick);
            if (ticks > long.MaxValue)
            {
                return false;
            }

            value = TimeSpan.FromTicks(negative ? -(long)ticks : (long)ticks);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    /// <summary>Formats like Go's <c>time.Duration.String()</c> (with <c>us</c> instead of <c>µs</c>): <c>0s</c>, <c>200ms</c>, <c>1.5s</c>, <c>1m30s</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        decimal nanos = Math.Abs((decimal)value.Ticks * NanosPerTick);
        var sb = new StringBuilder();
        if (value < TimeSpan.Zero)
        {
            sb.Append('-');
        }

        if (nanos < 1_000m)
        {
            sb.Append(Number(nanos)).Append("ns");
        }
        else if (nanos < 1_000_000m)
        {
            sb.Append(Number(nanos / 1_000m)).Append("us");
        }
        else if (nanos < 1_000_000_000m)
        {
            sb.Append(Number(nanos / 1_000_000m)).Append("ms");
        }
        else
        {
            decimal hours = decimal.Truncate(nanos / 3_600_000_000_000m);
            nanos -= hours * 3_600_000_000_000m;
            decimal minutes = decimal.Truncate(nanos / 60_000_000_000m);
            nanos -= minutes * 60_000_000_000m;
            if (hours > 0)
            {
                sb.Append(Number(hours)).Append('h');
            }

            if (hours > 0 || minutes > 0)
            {
                sb.Append(Number(minutes)).Append('m');
            }

            sb.Append(Number(nanos / 1_000_000_000m)).Append('s');
        }

        return sb.ToString();
    }

    private static string Number(decimal d) => d.ToString("0.#########", CultureInfo.InvariantCulture);
}
