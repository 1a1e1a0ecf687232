using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace CivicLens.Server.Outbox;

/// <summary>
/// The one message a reporter who left a contact and agreed is owed when their problem is fixed or closed: the
/// payload of an outbox row on <see cref="ReporterEmailChannel"/>. It names the category, the place (site and area
/// by name), the outcome and which report it is about, nothing else: no contact (unsealed from the report only
/// when the message is sent), no description, no other reporter.
/// </summary>
/// <param name="Id">Deterministic per report: the reporter is told once, and a re-delivery is the same message.</param>
/// <param name="Outcome"><c>fixed</c> or <c>closed</c>.</param>
public sealed record ReporterUpdate(Guid Id, long ReportId, long CaseId, string CategoryName, string Place, string Outcome, DateTimeOffset At)
{
    public static Guid IdFor(long reportId) => new(SHA256.HashData(Encoding.UTF8.GetBytes($"report:{reportId}:outcome")).AsSpan(0, 16));

    /// <summary>An outbox row's payload as an update, or null when it is not one (the channel fails the row, never throws).</summary>
    public static ReporterUpdate? Parse(string payload)
    {
        try
        {
            return JsonSerializer.Deserialize<ReporterUpdate>(payload, JsonSerializerOptions.Web) is { Id: var id, CategoryName: not null, Place: not null, Outcome: not null } u
                && id != Guid.Empty ? u : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
