using System.Globalization;
using System.Text;

namespace CivicLens.Server.Transparency;

/// <summary>
/// The inventory as CSV (RFC 4180: a header row, CRLF line ends, fields with a comma, quote or line break quoted and
/// their quotes doubled). A text cell that a spreadsheet would run as a formula (= + - @, or a tab or carriage
/// return first) is prefixed with an apostrophe; numbers are written by the server, invariant, and left as they are.
/// </summary>
public static class RegisterCsv
{
    public static readonly IReadOnlyList<string> Header =
    [
        "id", "name", "area_id", "area", "site_id", "site", "latitude", "longitude", "heading_deg", "field_of_view_deg", "range_m",
        "purpose", "legal_basis", "department_id", "department", "department_contact", "retention_days", "analytics",
    ];

    /// <summary>Analytics (rule types) are joined with this inside their one cell.</summary>
    public const char AnalyticsSeparator = ';';

    public static async Task WriteAsync(TextWriter writer, IAsyncEnumerable<RegisterCamera> cameras, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(cameras);
        await writer.WriteAsync(string.Join(',', Header.Select(Text)) + "\r\n");
        await foreach (var c in cameras.WithCancellation(ct))
        {
            await writer.WriteAsync(Row(c));
        }

        await writer.FlushAsync(ct);
    }

    public static string Row(RegisterCamera c)
    {
        ArgumentNullException.ThrowIfNull(c);
        string[] cells =
        [
            Text(c.Id), Text(c.Name), Text(c.Area.Id), Text(c.Area.Name), Text(c.Site?.Id), Text(c.Site?.Name),
            Number(c.Latitude), Number(c.Longitude), Number(c.Heading), Number(c.FieldOfView), Number(c.Range),
            Text(c.Purpose), Text(c.LegalBasis), Text(c.Department.Id), Text(c.Department.Name), Text(c.Department.Contact),
            c.RetentionDays.ToString(CultureInfo.InvariantCulture), Text(string.Join(AnalyticsSeparator, c.Analytics.Select(a => a.Type))),
        ];
        return string.Join(',', cells) + "\r\n";
    }

    /// <summary>A text cell: neutralised if a spreadsheet would take it for a formula, then quoted if it must be.</summary>
    public static string Text(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r') value = "'" + value;
        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0) return value;
        var sb = new StringBuilder(value.Length + 8).Append('"');
        foreach (var ch in value)
        {
            if (ch == '"') sb.Append('"');
            sb.Append(ch);
        }

        return sb.Append('"').ToString();
    }

    private static string Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";
}
