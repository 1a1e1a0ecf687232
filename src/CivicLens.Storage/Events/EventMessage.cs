using System.Text.Json;
using System.Text.Json.Serialization;
using CivicLens.Storage.Entities;

namespace CivicLens.Storage.Events;

/// <summary>What leaves the server about an event (API, outbox, live feed): no stream URL, nothing about a person.</summary>
/// <remarks>Not sealed: the API's event detail adds other cameras' views to it.</remarks>
public record EventMessage(
    Guid Id,
    string Kind,
    string Phase,
    string Camera,
    string Rule,
    string Category,
    string? Zone,
    string? Line,
    string? Site,
    string Area,
    DateTimeOffset At,
    Guid? Incident,
    string? Label,
    int? Count,
    float Confidence,
    string? Box,
    double? DurationSeconds,
    string? Direction,
    string? Detail,
    bool HasSnapshot,
    string State,
    long? CaseId)
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static EventMessage From(EventRecord e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new(e.Id, e.Kind, e.Phase, e.CameraId, e.Rule, e.Category, e.Zone, e.Line, e.SiteId, e.AreaId,
            DateTimeOffset.FromUnixTimeMilliseconds(e.At), e.IncidentId, e.Label, e.Count, e.Confidence, e.Box,
            e.DurationMs / 1000.0, e.Direction, e.Detail, e.Snapshot is not null, e.State, e.CaseId);
    }
}
