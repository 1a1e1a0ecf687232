using System.Globalization;

namespace CivicLens.Media;

/// <summary>How serious an ffmpeg log line is, from the tag that <c>-loglevel level+…</c> puts on every line.</summary>
internal enum FfmpegLogLevel
{
    /// <summary>panic, fatal or error; also a line without a tag.</summary>
    Error,
    Warning,
    /// <summary>info or chattier.</summary>
    Info,
}

/// <summary>The decoded picture size changed mid-stream (ffmpeg's buffer source saw a frame unlike its first).</summary>
/// <param name="PtsSeconds">The changed frame's time on the decoding ffmpeg's timeline; null when it had none.</param>
internal readonly record struct FrameSizeChange(int FromWidth, int FromHeight, int ToWidth, int ToHeight, double? PtsSeconds);

/// <summary>Reads ffmpeg's stderr lines.</summary>
internal static class FfmpegLog
{
    private const string Incoming = "incoming frame - w: ";
    private const string Context = "filter context - w: ";

    /// <summary>Splits off the level tag: "[mpegts @ 0x1] [warning] text" gives Warning and "[mpegts @ 0x1] text".</summary>
    public static FfmpegLogLevel Parse(string line, out string text)
    {
        var rest = line.AsSpan();
        var prefix = 0;
        if (rest.StartsWith("[") && rest.IndexOf(']') is var end and > 0 && rest[..end].Contains(" @ ", StringComparison.Ordinal))
        {
            prefix = end + 1; // "[context @ 0x…]"
            while (prefix < line.Length && line[prefix] == ' ') prefix++;
        }

        rest = line.AsSpan(prefix);
        var close = rest.StartsWith("[") ? rest.IndexOf(']') : -1;
        var level = close > 0 ? Level(rest[1..close]) : null;
        if (level is null)
        {
            text = line;
            return FfmpegLogLevel.Error; // untagged: keep it where an operator sees it
        }

        var after = prefix + close + 1;
        if (after < line.Length && line[after] == ' ') after++;
        text = string.Concat(line.AsSpan(0, prefix), line.AsSpan(after));
        return level.Value;
    }

    private static FfmpegLogLevel? Level(ReadOnlySpan<char> tag) => tag switch
    {
        "panic" or "fatal" or "error" => FfmpegLogLevel.Error,
        "warning" => FfmpegLogLevel.Warning,
        "info" or "verbose" or "debug" or "trace" => FfmpegLogLevel.Info,
        _ => null,
    };

    /// <summary>
    /// Recognises the line ffmpeg's buffer source writes, with <c>-reinit_filter 0</c>, for a frame whose size or pixel
    /// format differs from the one the filter graph was built for:
    /// "filter context - w: 768 h: 576 fmt: 0, incoming frame - w: 640 h: 360 fmt: 0 pts_time: 5". ffmpeg 5.1 writes it at
    /// info level for every such frame; newer releases add colour fields and write it at warning level for the first one
    /// only (debug for the rest). Only the sizes and pts_time are read.
    /// </summary>
    public static bool TryParseSizeChange(string text, out FrameSizeChange change)
    {
        change = default;
        var incoming = text.IndexOf(Incoming, StringComparison.Ordinal);
        var context = text.IndexOf(Context, StringComparison.Ordinal);
        if (incoming < 0 || context < 0 || context > incoming) return false;
        if (!TryReadSize(text.AsSpan(context + Context.Length), out var fromW, out var fromH)
            || !TryReadSize(text.AsSpan(incoming + Incoming.Length), out var toW, out var toH))
        {
            return false;
        }

        double? pts = null;
        var at = text.IndexOf("pts_time: ", incoming, StringComparison.Ordinal);
        if (at >= 0)
        {
            var value = text.AsSpan(at + "pts_time: ".Length);
            var stop = value.IndexOf(' ');
            if (stop >= 0) value = value[..stop];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds)) pts = seconds;
        }

        change = new FrameSizeChange(fromW, fromH, toW, toH, pts);
        return true;
    }

    /// <summary>Reads "768 h: 576" (what follows "w: ").</summary>
    private static bool TryReadSize(ReadOnlySpan<char> s, out int width, out int height)
    {
        height = 0;
        var space = s.IndexOf(' ');
        if (space <= 0 || !int.TryParse(s[..space], NumberStyles.None, CultureInfo.InvariantCulture, out width))
        {
            width = 0;
            return false;
        }

        s = s[(space + 1)..];
        if (!s.StartsWith("h: ")) return false;
        s = s[3..];
        var stop = s.IndexOfAnyExceptInRange('0', '9');
        return stop != 0 && int.TryParse(stop < 0 ? s : s[..stop], NumberStyles.None, CultureInfo.InvariantCulture, out height);
    }
}
