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
    string? Reason);
