using CivicLens.Server.Accounts;
using CivicLens.Server.Live;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Events;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Api;

/// <summary>An event posted by an analysis node; <see cref="Id"/> is the node's deterministic id.</summary>
public sealed record IngestEvent(
    Guid Id,
    string Kind,
    string Phase,
    string Camera,
    string Rule,
    string Category,
    DateTimeOffset At,
    string? Zone = null,
    string? Line = null,
    string? Site = null,
    Guid? Incident = null,
    string? Label = null,
    int? Count = null,
    float Confidence = 0,
    string? Box = null,
    double? DurationSeconds = null,
    string? Direction = null,
    string? Detail = null);

public sealed record IngestBatch(IReadOnlyList<IngestEvent> Events);

/// <summary>How many of a batch were stored now; the rest were stored before (a retry).</summary>
public sealed record IngestResult(int Accepted, int New);

/// <summary>
/// Batched, idempotent event ingest for analysis nodes (API key with the ingest scope). 200 means committed:
/// a node may forget a batch once it has this answer, and may resend any batch it is unsure of.
/// </summary>
public static class IngestEndpoints
{
    public const int MaxBatch = 1000;
    private static readonly string[] Phases = ["instant", "start", "update", "end"];

    public static void MapIngest(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/ingest/events", IngestAsync).WithTags("ingest").RequireAuthorization(Policies.Ingest)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<Results<Ok<IngestResult>, ValidationProblem>> IngestAsync(IngestBatch batch, IDbContextFactory<CivicLensDb> dbs, EventStore store,
        LiveNotifier live, Cases.CaseVerifier verifier, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (batch.Events is null || batch.Events.Count == 0) errors["events"] = ["must hold at least one event"];
        else if (batch.Events.Count > MaxBatch) errors["events"] = [$"at most {MaxBatch} events a batch"];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        await using var db = await dbs.CreateDbContextAsync(ct);
        var cameraIds = batch.Events!.Select(e => e.Camera).Distinct().ToList();
        var areas = await db.Cameras.AsNoTracking().Where(c => cameraIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id, c => c.AreaId, ct);
        var records = new List<EventRecord>(batch.Events!.Count);
        for (var i = 0; i < batch.Events.Count; i++)
        {
            var e = batch.Events[i];
            var problems = new List<string>();
            if (e.Id == Guid.Empty) problems.Add("id is required");
            if (string.IsNullOrWhiteSpace(e.Kind) || e.Kind.Length > 64) problems.Add("kind is required (at most 64 characters)");
            if (!Phases.Contains(e.Phase)) problems.Add("phase must be instant, start, update or end");
            if (e.Camera is null || !areas.ContainsKey(e.Camera)) problems.Add($"camera '{e.Camera}' is not in the registry");
            if (string.IsNullOrWhiteSpace(e.Rule) || string.IsNullOrWhiteSpace(e.Category)) problems.Add("rule and category are required");
            if (e.Confidence is < 0 or > 1 || float.IsNaN(e.Confidence)) problems.Add("confidence must be between 0 and 1");
            if ((e.Detail?.Length ?? 0) > 500 || (e.Box?.Length ?? 0) > 64) problems.Add("detail or box is too long");
            if (problems.Count > 0)
            {
                errors[$"events[{i}]"] = [.. problems];
                continue;
            }

            records.Add(new EventRecord
            {
                Id = e.Id,
                Kind = e.Kind,
                Phase = e.Phase,
                CameraId = e.Camera!,
                Rule = e.Rule,
                Category = e.Category,
                Zone = e.Zone,
                Line = e.Line,
                SiteId = e.Site,
                AreaId = areas[e.Camera!],
                At = e.At.ToUnixTimeMilliseconds(),
                IncidentId = e.Incident,
                Label = e.Label,
                Count = e.Count,
                Confidence = e.Confidence,
                Box = e.Box,
                DurationMs = e.DurationSeconds is { } d ? (long)(d * 1000) : null,
                Direction = e.Direction,
                Detail = e.Detail,
            });
        }

        // A batch is stored whole or not at all: the node resends it corrected.
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        var inserted = await store.IngestAsync(records, ct);
        if (inserted > 0)
        {
            await live.EventsAsync(records);
            await verifier.OnEventsAsync(records, ct);
        }
        return TypedResults.Ok(new IngestResult(records.Count, inserted));
    }
}
