using System.Globalization;
using System.Text;

namespace CivicLens.Server.Api;

/// <summary>A page of results and the cursor of the next page (null at the end).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

/// <summary>
/// Keyset cursors for time-ordered lists (newest first): the time of the last item and how many items at exactly
/// that time were already returned. Deep pages cost the same as the first; ids need no ordering.
/// </summary>
public static class TimeCursor
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 500;

    public static string Encode(long at, int skip) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{at}:{skip}"))).TrimEnd('=');

    public static bool TryDecode(string? cursor, out long at, out int skip)
    {
        at = long.MaxValue;
        skip = 0;
        if (string.IsNullOrEmpty(cursor)) return true;
        try
        {
            var padded = cursor.PadRight(cursor.Length + (4 - cursor.Length % 4) % 4, '=');
            var parts = Encoding.ASCII.GetString(Convert.FromBase64String(padded)).Split(':');
            return parts.Length == 2 && long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out at)
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out skip) && skip < 1_000_000;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The cursor after <paramref name="page"/> (which was read with one extra item to know if more follow).</summary>
    public static string? Next<T>(List<T> page, int limit, Func<T, long> at, long cursorAt, int cursorSkip)
    {
        if (page.Count <= limit) return null;
        page.RemoveAt(limit);
        var last = at(page[^1]);
        var sameAsLast = page.Count(x => at(x) == last);
        return Encode(last, last == cursorAt ? cursorSkip + sameAsLast : sameAsLast);
    }
}
