using System.Globalization;

namespace CivicLens.District.Cameras;

/// <summary>
/// Text to values, the same for a CSV cell and a GeoJSON string. A value that cannot be read is reported and marked,
/// and only short plain values are repeated in the message (a misplaced stream URL must never be echoed).
/// </summary>
internal static class CameraValueParser
{
    /// <summary>Reads <paramref name="raw"/> into the field; empty (after trimming) leaves it null.</summary>
    public static void Assign(RowCheck check, CameraValues v, CameraField f, ReadOnlySpan<char> raw)
    {
        var s = raw.Trim();
        if (s.IsEmpty) return;
        switch (f)
        {
            case CameraField.Latitude or CameraField.Longitude or CameraField.Heading or CameraField.FieldOfView or CameraField.Range:
                SetNumber(v, f, Number(check, v, f, s));
                break;
            case CameraField.RetentionDays:
                v.RetentionDays = Days(check, v, s);
                break;
            case CameraField.Enabled:
                v.Enabled = Flag(check, v, s);
                break;
            case CameraField.Purpose or CameraField.LegalBasis or CameraField.Department or CameraField.Site or CameraField.Area:
                SetText(v, f, check.Pool.Get(s));
                break;
            default:
                SetText(v, f, s.ToString());
                break;
        }
    }

    public static void SetText(CameraValues v, CameraField f, string? text)
    {
        switch (f)
        {
            case CameraField.Id: v.Id = text; break;
            case CameraField.Name: v.Name = text; break;
            case CameraField.Source: v.Source = text; break;
            case CameraField.Purpose: v.Purpose = text; break;
            case CameraField.LegalBasis: v.LegalBasis = text; break;
            case CameraField.Department: v.Department = text; break;
            case CameraField.Site: v.Site = text; break;
            case CameraField.Area: v.Area = text; break;
            default: throw new ArgumentOutOfRangeException(nameof(f), f, "not a text field");
        }
    }

    public static void SetNumber(CameraValues v, CameraField f, double? value)
    {
        switch (f)
        {
            case CameraField.Latitude: v.Latitude = value; break;
            case CameraField.Longitude: v.Longitude = value; break;
            case CameraField.Heading: v.Heading = value; break;
            case CameraField.FieldOfView: v.FieldOfView = value; break;
            case CameraField.Range: v.Range = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(f), f, "not a number field");
        }
    }

    public static bool IsText(CameraField f) => f is CameraField.Id or CameraField.Name or CameraField.Source or CameraField.Purpose
        or CameraField.LegalBasis or CameraField.Department or CameraField.Site or CameraField.Area;

    public static bool IsNumber(CameraField f) => f is CameraField.Latitude or CameraField.Longitude or CameraField.Heading
        or CameraField.FieldOfView or CameraField.Range;

    private static double? Number(RowCheck check, CameraValues v, CameraField f, ReadOnlySpan<char> s)
    {
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
        var hint = s.Contains(',') ? " (use a point for decimals, like 51.5)" : "";
        check.Add(f, $"{check.Name(f)}{Echo(s)} is not a number{hint}");
        v.MarkReported(f);
        return null;
    }

    /// <summary>Whole days: <c>30</c> or <c>30d</c>.</summary>
    private static int? Days(RowCheck check, CameraValues v, ReadOnlySpan<char> s)
    {
        var digits = s is [.., 'd' or 'D'] ? s[..^1].TrimEnd() : s;
        if (int.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var days)) return days;
        check.Add(CameraField.RetentionDays, $"{check.Name(CameraField.RetentionDays)}{Echo(s)} is not a whole number of days (like 30 or 30d)");
        v.MarkReported(CameraField.RetentionDays);
        return null;
    }

    private static bool? Flag(RowCheck check, CameraValues v, ReadOnlySpan<char> s)
    {
        if (s.Equals("true", StringComparison.OrdinalIgnoreCase) || s.Equals("yes", StringComparison.OrdinalIgnoreCase) || s.Equals("y", StringComparison.OrdinalIgnoreCase)
            || s.Equals("on", StringComparison.OrdinalIgnoreCase) || s is "1")
        {
            return true;
        }

        if (s.Equals("false", StringComparison.OrdinalIgnoreCase) || s.Equals("no", StringComparison.OrdinalIgnoreCase) || s.Equals("n", StringComparison.OrdinalIgnoreCase)
            || s.Equals("off", StringComparison.OrdinalIgnoreCase) || s is "0")
        {
            return false;
        }

        check.Add(CameraField.Enabled, $"{check.Name(CameraField.Enabled)}{Echo(s)} is not true or false (yes/no, 1/0 and on/off are accepted too)");
        v.MarkReported(CameraField.Enabled);
        return null;
    }

    /// <summary>" 'north'" for a short plain value, nothing for anything that could be a URL or a secret.</summary>
    public static string Echo(ReadOnlySpan<char> s)
    {
        if (s.Length > 20) return "";
        foreach (var c in s)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is ' ' or '.' or ',' or '+' or '-')) return "";
        }

        return $" '{s}'";
    }
}
