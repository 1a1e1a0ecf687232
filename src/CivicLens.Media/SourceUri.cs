using CivicLens.Domain.Frames;

namespace CivicLens.Media;

/// <summary>A validated source: a local file, or an rtsp/rtsps/http/https stream.</summary>
public sealed record SourceUri(string Value, bool IsFile, bool IsRtsp)
{
    private static readonly string[] Schemes = ["rtsp", "rtsps", "http", "https"];

    /// <summary>Validates the source; throws with the reason when it cannot be used at all.</summary>
    public static SourceUri Parse(string source)
    {
        if (string.IsNullOrWhiteSpace(source)) throw new FrameSourceException("No source given.");
        if (source.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(source, UriKind.Absolute, out var uri) || (!uri.IsFile && string.IsNullOrEmpty(uri.Host)))
            {
                throw new FrameSourceException($"'{Redact(source)}' is not a valid URL.");
            }

            if (uri.IsFile) return FromFile(uri.LocalPath);
            if (!Schemes.Contains(uri.Scheme, StringComparer.OrdinalIgnoreCase))
            {
                throw new FrameSourceException($"Unsupported source scheme '{uri.Scheme}': use a file path, rtsp://, rtsps://, http:// or https://.");
            }

            return new SourceUri(source, false, uri.Scheme.StartsWith("rtsp", StringComparison.OrdinalIgnoreCase));
        }

        return FromFile(source);
    }

    private static SourceUri FromFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new FrameSourceException($"{full} is a folder, not a video file.");
        if (!File.Exists(full)) throw new FrameSourceException($"File not found: {full}");
        return new SourceUri(full, true, false);
    }

    /// <summary>The source as it may be logged: credentials in a URL are replaced by "***".</summary>
    public string Display => Redact(Value);

    public static string Redact(string text)
    {
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0) return text;
        // The last '@' before the path ends the credentials, as ffmpeg reads them (a password may hold an '@').
        var slash = text.IndexOf('/', scheme + 3);
        var end = slash < 0 ? text.Length : slash;
        var at = text.LastIndexOf('@', end - 1, end - (scheme + 3));
        return at > 0 ? string.Concat(text.AsSpan(0, scheme + 3), "***", text.AsSpan(at)) : text;
    }
}
