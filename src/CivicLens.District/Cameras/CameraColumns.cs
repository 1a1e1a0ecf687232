namespace CivicLens.District.Cameras;

/// <summary>The values a camera row can carry, in column order.</summary>
internal enum CameraField
{
    Id, Name, Latitude, Longitude, Heading, FieldOfView, Range, Source, Purpose, LegalBasis, Department, RetentionDays, Site, Area, Enabled,
}

/// <summary>
/// Column (CSV) and property (GeoJSON) names: compared ignoring case, '_', '-' and spaces, so <c>legal_basis</c>,
/// <c>Legal Basis</c> and <c>legalBasis</c> are one column; <c>lat</c>, <c>lon</c>/<c>lng</c> and <c>retention</c>
/// are accepted as well.
/// </summary>
internal static class CameraColumns
{
    public const int Count = (int)CameraField.Enabled + 1;

    /// <summary>The documented spelling of each column, by <see cref="CameraField"/>.</summary>
    public static readonly string[] Canonical =
    [
        "id", "name", "latitude", "longitude", "heading", "field_of_view", "range", "source", "purpose", "legal_basis",
        "department", "retention_days", "site", "area", "enabled",
    ];

    public static readonly string List = string.Join(", ", Canonical);

    private static readonly Dictionary<string, CameraField> ByKey = Build();
    private static readonly Dictionary<string, CameraField>.AlternateLookup<ReadOnlySpan<char>> ByKeySpan = ByKey.GetAlternateLookup<ReadOnlySpan<char>>();

    private static Dictionary<string, CameraField> Build()
    {
        var d = new Dictionary<string, CameraField>(StringComparer.Ordinal);
        for (var i = 0; i < Count; i++) d[Normalize(Canonical[i])] = (CameraField)i;
        d["lat"] = CameraField.Latitude;
        d["lon"] = CameraField.Longitude;
        d["lng"] = CameraField.Longitude;
        d["retention"] = CameraField.RetentionDays;
        return d;
    }

    private static string Normalize(string name)
    {
        Span<char> buffer = stackalloc char[64];
        return buffer[..Normalize(name, buffer)].ToString();
    }

    /// <summary>Lower-case ASCII without '_', '-' and spaces into <paramref name="into"/>; -1 when it does not fit.</summary>
    private static int Normalize(ReadOnlySpan<char> name, Span<char> into)
    {
        var n = 0;
        foreach (var c in name.Trim())
        {
            if (c is '_' or '-' or ' ') continue;
            if (n == into.Length) return -1;
            into[n++] = char.ToLowerInvariant(c);
        }

        return n;
    }

    public static bool TryGet(ReadOnlySpan<char> written, out CameraField field)
    {
        Span<char> buffer = stackalloc char[64];
        var n = Normalize(written, buffer);
        field = default;
        return n >= 0 && ByKeySpan.TryGetValue(buffer[..n], out field);
    }

    /// <summary>
    /// The name as it may appear in a problem: a header that is really a data row could hold a stream URL with its
    /// credentials, so anything long or URL-like is shown as its position instead.
    /// </summary>
    public static string Safe(string written, int position)
    {
        var t = written.Trim();
        if (t.Length is 0 or > 40) return $"column {position + 1}";
        foreach (var c in t)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or ' ' or '.')) return $"column {position + 1}";
        }

        return t;
    }

    /// <summary>The documented column a typo most likely meant (at most two edits away), or null.</summary>
    public static string? Suggest(string written)
    {
        Span<char> buffer = stackalloc char[64];
        var n = Normalize(written, buffer);
        if (n <= 1) return null;
        string? best = null;
        var bestDistance = 3;
        foreach (var (key, field) in ByKey)
        {
            var d = Distance(buffer[..n], key);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = Canonical[(int)field];
            }
        }

        return best;
    }

    private static int Distance(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        if (Math.Abs(a.Length - b.Length) > 2) return int.MaxValue;
        Span<int> previous = stackalloc int[b.Length + 1];
        Span<int> current = stackalloc int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            current.CopyTo(previous);
        }

        return previous[b.Length];
    }
}
