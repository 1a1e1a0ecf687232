using System.Buffers;
using System.Globalization;
using CivicLens.Domain;

namespace CivicLens.District.Cameras;

/// <summary>
/// The checks every camera row passes, whichever file it came from: id, position, optics, retention, text and
/// source. <see cref="CameraCsv"/> and <see cref="CameraGeoJson"/> run them on each row; <see cref="Validate"/> runs
/// them on a row built elsewhere.
/// </summary>
public static class CameraRowValidator
{
    public const int MaxIdLength = 64;
    public const int MaxTextLength = 500;

    /// <summary>A source longer than this is refused (a signed URL is long, but not this long).</summary>
    public const int MaxSourceLength = 2048;

    /// <summary>What a refused source is told, after the field's name.</summary>
    public const string NotAVideoStream = "is not a video stream (rtsp://, rtsps://, http(s):// or a video file)";

    /// <summary>Extensions of the video files a camera can be replayed from (lower case, no dot).</summary>
    public static readonly IReadOnlyList<string> VideoFileExtensions = ["mp4", "mkv", "avi", "mov", "ts", "m4v", "webm"];

    /// <summary>The prefix a file path may start with instead of '/': the CivicLens data folder.</summary>
    public static readonly string HomePrefix = "${" + CivicLensHome.EnvironmentVariable + "}/";

    // What an http(s) URL must not end in: a page, a picture or a document is not a video stream.
    private static readonly HashSet<string> NotVideoExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        "html", "htm", "xhtml", "jpg", "jpeg", "png", "gif", "bmp", "webp", "svg", "ico", "tif", "tiff", "txt", "csv",
        "json", "xml", "pdf", "css", "js", "zip",
    };

    // Control characters (C0, DEL, C1) and the text-direction overrides that can make a name read backwards.
    private const string Controls =
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000B\u000C\u000D\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015"
        + "\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\u007F\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089"
        + "\u008A\u008B\u008C\u008D\u008E\u008F\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009A\u009B\u009C\u009D\u009E"
        + "\u009F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069";

    private static readonly SearchValues<char> ProseForbidden = SearchValues.Create(Controls);
    private static readonly SearchValues<char> LineForbidden = SearchValues.Create(Controls + "\n");
    private static readonly SearchValues<char> SourceForbidden = SearchValues.Create(Controls + "\n \u00A0\u2028\u2029");

    private static readonly HashSet<string> VideoExtensions = new(VideoFileExtensions, StringComparer.OrdinalIgnoreCase);

    /// <summary>Every problem with <paramref name="row"/>, reported against <see cref="CameraRow.Row"/> and the documented column names.</summary>
    public static IReadOnlyList<ImportProblem> Validate(CameraRow row)
    {
        var problems = new List<ImportProblem>();
        var check = new RowCheck(ImportLocation.Row, problems);
        check.Begin(row.Row);
        var v = new CameraValues
        {
            Id = row.Id,
            Name = row.Name,
            Latitude = row.Latitude,
            Longitude = row.Longitude,
            Heading = row.Heading,
            FieldOfView = row.FieldOfView,
            Range = row.Range,
            Source = row.Source,
            Purpose = row.Purpose,
            LegalBasis = row.LegalBasis,
            Department = row.Department,
            RetentionDays = row.RetentionDays,
            Site = row.Site,
            Area = row.Area,
            Enabled = row.Enabled,
        };
        Check(check, v);
        return problems;
    }

    /// <summary>^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$, without a regex.</summary>
    public static bool IsValidId(ReadOnlySpan<char> id)
    {
        if (id.IsEmpty || id.Length > MaxIdLength || !char.IsAsciiLetterOrDigit(id[0])) return false;
        foreach (var c in id[1..])
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')) return false;
        }

        return true;
    }

    /// <summary>
    /// Whether a camera can serve <paramref name="source"/>: an <c>rtsp://</c>, <c>rtsps://</c>, <c>http://</c> or
    /// <c>https://</c> URL with a host (an http(s) URL must not point at a page, picture or document such as .html,
    /// .jpg or .png), or an absolute path, or a path under <c>${CIVICLENS_HOME}/</c>, to a video file (.mp4, .mkv,
    /// .avi, .mov, .ts, .m4v, .webm). <c>${VARIABLE}</c>s in a URL are allowed (credentials kept in the
    /// environment). Everything else is refused, srt:// and udp:// too: the frame source reads only these.
    /// </summary>
    public static bool IsVideoSource(string? source)
    {
        var s = source.AsSpan().Trim();
        if (s.IsEmpty || s.Length > MaxSourceLength) return false;
        if (s.ContainsAny(SourceForbidden)) return false;
        if (s[0] == '/') return IsVideoFile(s);
        if (s.StartsWith(HomePrefix, StringComparison.Ordinal)) return IsVideoFile(s[HomePrefix.Length..]);
        return IsStreamUrl(s);
    }

    private static bool IsVideoFile(ReadOnlySpan<char> path)
    {
        var name = path[(path.LastIndexOf('/') + 1)..];
        var dot = name.LastIndexOf('.');
        if (dot <= 0 || path.Contains("${", StringComparison.Ordinal)) return false;
        return VideoExtensions.GetAlternateLookup<ReadOnlySpan<char>>().Contains(name[(dot + 1)..]);
    }

    private static bool IsStreamUrl(ReadOnlySpan<char> s)
    {
        var sep = s.IndexOf("://", StringComparison.Ordinal);
        if (sep <= 0) return false;
        var scheme = s[..sep];
        var http = scheme.Equals("http", StringComparison.OrdinalIgnoreCase) || scheme.Equals("https", StringComparison.OrdinalIgnoreCase);
        if (!http && !scheme.Equals("rtsp", StringComparison.OrdinalIgnoreCase) && !scheme.Equals("rtsps", StringComparison.OrdinalIgnoreCase)) return false;

        var rest = s[(sep + 3)..];
        var end = rest.IndexOfAny('/', '?', '#');
        var authority = end < 0 ? rest : rest[..end];
        // The last '@' ends the credentials, as ffmpeg reads them (a password may hold an '@').
        var host = authority[(authority.LastIndexOf('@') + 1)..];
        if (!IsHostAndPort(host)) return false;
        if (!http || end < 0) return true;

        var path = rest[end..];
        var query = path.IndexOfAny('?', '#');
        if (query >= 0) path = path[..query];
        var last = path[(path.LastIndexOf('/') + 1)..];
        var dot = last.LastIndexOf('.');
        return dot < 0 || !NotVideoExtensions.GetAlternateLookup<ReadOnlySpan<char>>().Contains(last[(dot + 1)..]);
    }

    /// <summary>A DNS name or IPv4 address, or [IPv6], with an optional :port; ${VARIABLE}s may stand for any part.</summary>
    private static bool IsHostAndPort(ReadOnlySpan<char> hostPort)
    {
        ReadOnlySpan<char> host;
        ReadOnlySpan<char> port = default;
        if (hostPort is ['[', ..])
        {
            var close = hostPort.IndexOf(']');
            if (close < 2) return false;
            foreach (var c in hostPort[1..close])
            {
                if (!(char.IsAsciiHexDigit(c) || c is ':' or '.' or '%')) return false;
            }

            var after = hostPort[(close + 1)..];
            if (after.IsEmpty) return true;
            if (after[0] != ':') return false;
            port = after[1..];
            host = "ipv6";
        }
        else
        {
            var colon = LastColonOutsideVariables(hostPort);
            host = colon < 0 ? hostPort : hostPort[..colon];
            if (colon >= 0) port = hostPort[(colon + 1)..];
        }

        if (host.IsEmpty || !IsHostName(host)) return false;
        return port.IsEmpty || IsVariable(port)
            || (int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 65535);
    }

    private static int LastColonOutsideVariables(ReadOnlySpan<char> s)
    {
        var depth = 0;
        var last = -1;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '{') depth++;
            else if (s[i] == '}') depth--;
            else if (s[i] == ':' && depth == 0) last = i;
        }

        return last;
    }

    private static bool IsHostName(ReadOnlySpan<char> host)
    {
        for (var i = 0; i < host.Length; i++)
        {
            var c = host[i];
            if (c == '$')
            {
                var close = host[i..].IndexOf('}');
                if (close < 0 || !IsVariable(host.Slice(i, close + 1))) return false;
                i += close;
                continue;
            }

            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_')) return false;
        }

        return host[0] != '.' && host[0] != '-';
    }

    /// <summary>Exactly one ${NAME}, NAME being [A-Za-z_][A-Za-z0-9_]*.</summary>
    private static bool IsVariable(ReadOnlySpan<char> s)
    {
        if (s.Length < 4 || !s.StartsWith("${", StringComparison.Ordinal) || s[^1] != '}') return false;
        var name = s[2..^1];
        if (!(char.IsAsciiLetter(name[0]) || name[0] == '_')) return false;
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_')) return false;
        }

        return true;
    }

    /// <summary>The shared checks on values a reader has read; the row when there is no problem with it, else null.</summary>
    internal static CameraRow? Check(RowCheck check, CameraValues v)
    {
        var id = v.Id?.Trim();
        if (string.IsNullOrEmpty(id))
        {
            if (!v.IsReported(CameraField.Id)) check.Add(CameraField.Id, $"{check.Name(CameraField.Id)} is required");
            id = null;
        }
        else if (!IsValidId(id))
        {
            check.Add(CameraField.Id, $"{check.Name(CameraField.Id)} must be 1 to {MaxIdLength} letters, digits, '_', '.' or '-', starting with a letter or digit");
            id = null;
        }

        var latitude = Coordinate(check, v, CameraField.Latitude, v.Latitude, 90);
        var longitude = Coordinate(check, v, CameraField.Longitude, v.Longitude, 180);
        if (latitude == 0 && longitude == 0)
        {
            var both = check.Name(CameraField.Latitude) == check.Name(CameraField.Longitude)
                ? $"{check.Name(CameraField.Latitude)} is [0, 0]"
                : $"{check.Name(CameraField.Latitude)} and {check.Name(CameraField.Longitude)} are both 0";
            check.Add(CameraField.Latitude, $"{both} (Null Island, in the Gulf of Guinea): the position is probably missing");
        }

        var heading = Optional(check, CameraField.Heading, v.Heading, 0, 360, "degrees");
        var fieldOfView = Optional(check, CameraField.FieldOfView, v.FieldOfView, 1, 360, "degrees");
        var range = Optional(check, CameraField.Range, v.Range, 1, 10_000, "metres");
        int? retention = v.RetentionDays;
        if (retention is < 1 or > 3650)
        {
            check.Add(CameraField.RetentionDays, $"{check.Name(CameraField.RetentionDays)} {retention} is out of range (1 to 3650 days)");
            retention = null;
        }

        var name = Text(check, CameraField.Name, v.Name, multiline: false);
        var purpose = Text(check, CameraField.Purpose, v.Purpose, multiline: true);
        var legalBasis = Text(check, CameraField.LegalBasis, v.LegalBasis, multiline: true);
        var department = Text(check, CameraField.Department, v.Department, multiline: false);
        var site = Text(check, CameraField.Site, v.Site, multiline: false);
        var area = Text(check, CameraField.Area, v.Area, multiline: false);
        var source = v.Source?.Trim();
        if (string.IsNullOrEmpty(source)) source = null;
        else if (!IsVideoSource(source)) check.Add(CameraField.Source, $"{check.Name(CameraField.Source)} {NotAVideoStream}");

        if (v.Enabled == true)
        {
            var missing = new List<string>(4);
            if (string.IsNullOrWhiteSpace(v.Purpose)) missing.Add(check.Name(CameraField.Purpose));
            if (string.IsNullOrWhiteSpace(v.LegalBasis)) missing.Add(check.Name(CameraField.LegalBasis));
            if (string.IsNullOrWhiteSpace(v.Department)) missing.Add(check.Name(CameraField.Department));
            if (v.RetentionDays is null && !v.IsReported(CameraField.RetentionDays)) missing.Add(check.Name(CameraField.RetentionDays));
            if (missing.Count > 0)
            {
                check.Add(CameraField.Enabled,
                    $"{check.Name(CameraField.Enabled)} is true but {(missing.Count == 1 ? missing[0] : string.Join(", ", missing[..^1]) + " and " + missing[^1])} {(missing.Count == 1 ? "is" : "are")} missing: a camera runs only with a purpose, a legal basis, a responsible department and a retention");
            }
        }

        if (!check.Ok || id is null || latitude is null || longitude is null) return null;
        return new CameraRow(id, latitude.Value, longitude.Value)
        {
            Row = check.Row,
            Name = name,
            Heading = heading,
            FieldOfView = fieldOfView,
            Range = range,
            Source = source,
            Purpose = purpose,
            LegalBasis = legalBasis,
            Department = department,
            RetentionDays = retention,
            Site = site,
            Area = area,
            Enabled = v.Enabled,
        };
    }

    private static double? Coordinate(RowCheck check, CameraValues v, CameraField f, double? value, double limit)
    {
        if (value is not { } d)
        {
            if (!v.IsReported(f)) check.Add(f, $"{check.Name(f)} is required");
            return null;
        }

        // GeoJSON writes both in geometry.coordinates: say which.
        var named = check.Name(f).Contains("coordinates", StringComparison.Ordinal)
            ? $"{(f == CameraField.Latitude ? "latitude" : "longitude")} in {check.Name(f)}"
            : check.Name(f);
        if (!double.IsFinite(d)) check.Add(f, $"{named} is not a finite number");
        else if (d < -limit || d > limit) check.Add(f, $"{named} {Format(d)} is out of range (-{limit} to {limit} degrees)");
        else return d;
        return null;
    }

    private static double? Optional(RowCheck check, CameraField f, double? value, double min, double max, string unit)
    {
        if (value is not { } d) return null;
        if (!double.IsFinite(d)) check.Add(f, $"{check.Name(f)} is not a finite number");
        else if (d < min || d > max) check.Add(f, $"{check.Name(f)} {Format(d)} is out of range ({Format(min)} to {Format(max)} {unit})");
        else return d;
        return null;
    }

    /// <summary>Trimmed, empty as null, at most <see cref="MaxTextLength"/> characters, no control characters (line breaks only in prose).</summary>
    private static string? Text(RowCheck check, CameraField f, string? raw, bool multiline)
    {
        var s = raw?.Trim();
        if (string.IsNullOrEmpty(s)) return null;
        if (multiline && s.Contains('\r', StringComparison.Ordinal)) s = s.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        if (s.Length > MaxTextLength)
        {
            check.Add(f, $"{check.Name(f)} is {s.Length} characters long (at most {MaxTextLength})");
            return null;
        }

        var at = s.AsSpan().IndexOfAny(multiline ? ProseForbidden : LineForbidden);
        if (at < 0) return s;
        var c = s[at];
        var what = c is '\n' or '\r' ? "a line break (allowed only in purpose and legal_basis)"
            : char.IsControl(c) ? "a control character" : "a text-direction override";
        check.Add(f, $"{check.Name(f)} contains {what}");
        return null;
    }

    private static string Format(double d) => d.ToString("R", CultureInfo.InvariantCulture);
}
