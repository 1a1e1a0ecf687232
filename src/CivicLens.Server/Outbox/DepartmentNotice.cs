using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using CivicLens.Storage.Entities;

namespace CivicLens.Server.Outbox;

/// <summary>
/// What a department is told when routing hands it a case (opened, a report added, escalated, reopened): the
/// payload of an outbox row on a department channel (<c>email:DEPT</c>, <c>open311:DEPT</c>, or a named webhook).
/// It carries the problem, never the reporter: no name, no contact, no device location beyond the pin the
/// reporter chose to send.
/// </summary>
/// <param name="Id">Deterministic per case and change (<see cref="OutboxMessage.EventId"/> too): a receiver deduplicates by it.</param>
/// <param name="Kind"><c>case.opened</c>, <c>case.report-added</c>, <c>case.escalated</c>, <c>case.reopened</c>.</param>
/// <param name="Latitude">The problem's place (WGS84), when the case has one.</param>
/// <param name="PhotoUrl">The redacted photo, for authenticated staff only (a console link, never a public URL).</param>
/// <param name="CaseUrl">The case in the operator console.</param>
public sealed record DepartmentNotice(
    Guid Id,
    string Kind,
    long CaseId,
    string Department,
    string DepartmentName,
    string Category,
    string CategoryName,
    string Title,
    string? Description,
    string Area,
    string? Site,
    double? Latitude,
    double? Longitude,
    DateTimeOffset At,
    DateTimeOffset? DueAt,
    string? PhotoUrl,
    string? CaseUrl,
    string? Reason)
{
    // Derived for the channels' text, not part of the payload (webhook receivers get the fields above only).

    /// <summary>The site and area by name ("Plaza, Campus"), or the area alone.</summary>
    [JsonIgnore]
    public string Place => Site is { Length: > 0 } site ? $"{site}, {Area}" : Area;

    /// <summary>The pin, when the case has one that is a real position.</summary>
    [JsonIgnore]
    public (double Latitude, double Longitude)? Pin =>
        Latitude is { } lat && Longitude is { } lon && double.IsFinite(lat) && double.IsFinite(lon) ? (lat, lon) : null;

    /// <summary>A time as every channel writes it for people ("2026-11-23 14:05 UTC+00:00").</summary>
    public static string Time(DateTimeOffset t) => t.ToString("yyyy-MM-dd HH:mm 'UTC'zzz", CultureInfo.InvariantCulture);

    /// <summary>An outbox row's payload as a notice, or null when it is not one (a channel fails the row, never throws).</summary>
    public static DepartmentNotice? Parse(string payload)
    {
        try
        {
            return JsonSerializer.Deserialize<DepartmentNotice>(payload, JsonSerializerOptions.Web) is { Id: var id, Title: not null, CategoryName: not null } n && id != Guid.Empty ? n : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
