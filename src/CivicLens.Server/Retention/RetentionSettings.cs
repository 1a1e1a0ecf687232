using System.Globalization;

namespace CivicLens.Server.Retention;

/// <summary>
/// How long each kind of personal data is kept (docs/privacy.md lists them all, the transparency register shows
/// them). Events and closed cases keep their own settings on <see cref="Hosting.ServerOptions"/>; sealed originals
/// theirs on the sealing settings. A legal hold overrides every one of these.
/// </summary>
public sealed record RetentionSettings
{
    /// <summary>A report, with its photos, is deleted this long after its case closed.</summary>
    public TimeSpan ReportsAfterCaseClosed { get; init; } = TimeSpan.FromDays(90);

    /// <summary>A report that never became a case is deleted this long after it was submitted.</summary>
    public TimeSpan ReportsWithoutCase { get; init; } = TimeSpan.FromDays(90);

    /// <summary>A reporter's contact is deleted when the case closes, or this long after the report if it has no case.</summary>
    public TimeSpan ContactsWithoutCase { get; init; } = TimeSpan.FromDays(30);

    /// <summary>
    /// After the case closed, a contact whose reporter asked to be told of the outcome waits at most this long for that
    /// one message to go out, then is deleted all the same.
    /// </summary>
    public TimeSpan ContactNoticeGrace { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Audit records are trimmed, oldest first, after this long (six years by default: kept longest).</summary>
    public TimeSpan AuditRecords { get; init; } = TimeSpan.FromDays(6 * 365 + 2);

    /// <summary>The names <c>serve --retention</c> takes, each with the property it sets.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["reports", "unlinked-reports", "contacts", "contact-notice", "audit"];

    /// <summary>
    /// Applies <c>KIND=DAYS</c> settings (<c>reports=120</c>, <c>audit=3650</c>) to the defaults; an unknown kind or a
    /// number of days outside 1..36500 is refused, never ignored.
    /// </summary>
    public static RetentionSettings Parse(IEnumerable<string> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var result = new RetentionSettings();
        foreach (var setting in settings)
        {
            var parts = setting.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var days) || days is < 1 or > 36500)
            {
                throw new ArgumentException($"--retention takes KIND=DAYS (1 to 36500 days), not '{setting}'.");
            }

            var span = TimeSpan.FromDays(days);
            result = parts[0] switch
            {
                "reports" => result with { ReportsAfterCaseClosed = span },
                "unlinked-reports" => result with { ReportsWithoutCase = span },
                "contacts" => result with { ContactsWithoutCase = span },
                "contact-notice" => result with { ContactNoticeGrace = span },
                "audit" => result with { AuditRecords = span },
                _ => throw new ArgumentException($"--retention: unknown kind '{parts[0]}' (one of {string.Join(", ", Kinds)})."),
            };
        }

        return result;
    }
}
