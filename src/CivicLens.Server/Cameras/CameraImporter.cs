using CivicLens.District.Cameras;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Secrets;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Cameras;

/// <summary>
/// Bulk import of cameras from CSV or GeoJSON into the registry (the API's <c>POST /api/cameras/import</c> and
/// <c>civiclens district import</c>). Every row is checked first, against the file's own rules and the district
/// (departments, sites, areas, purpose before power); any problem refuses the whole file, listed by row and field,
/// and nothing is written. A good file is written in one transaction. New cameras start disabled unless the file
/// says <c>enabled</c>; an existing camera keeps its analytics definition and its on/off switch unless the file sets it.
/// </summary>
public sealed class CameraImporter(IDbContextFactory<CivicLensDb> dbs, CameraCatalog catalog, SecretBox secrets, AuditLog audit, RegistrySignal signal, TimeProvider time)
{
    public enum Format
    {
        Csv,
        GeoJson,
    }

    /// <summary>The counts of a good import, or its problems (nothing written).</summary>
    public sealed record Outcome(int Created, int Updated, int Unchanged, IReadOnlyList<RegistryProblem> Problems);

    private const int Chunk = 2000;

    /// <param name="areas">The importing admin's areas when scoped: every row must lie in one of them. Null: the whole district.</param>
    public async Task<Outcome> ImportAsync(Stream file, Format format, bool dryRun, string actor, CancellationToken ct, IReadOnlyList<string>? areas = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        // The readers are synchronous; a request body is buffered first (the server's body limit bounds it).
        using var buffer = new MemoryStream();
        await file.CopyToAsync(buffer, ct);
        buffer.Position = 0;
        var parsed = format == Format.Csv ? CameraCsv.Read(buffer) : CameraGeoJson.Read(buffer);
        var problems = parsed.Problems.Select(p => new RegistryProblem(p.Field, p.Message, p.Row)).ToList();
        var district = catalog.District;
        var districtId = district.District?.Id ?? "district";
        foreach (var row in parsed.Rows) problems.AddRange(DistrictProblems(row, district, districtId));
        if (areas is not null)
        {
            foreach (var row in parsed.Rows)
            {
                var area = row.Area ?? (row.Site is { } s ? district.Sites.FirstOrDefault(x => x.Id == s)?.Area : null);
                if (area is null || !areas.Contains(area)) problems.Add(new RegistryProblem("area", $"an area of yours is required ({string.Join(", ", areas)})", row.Row));
            }
        }

        await using var db = await dbs.CreateDbContextAsync(ct);
        var existing = new Dictionary<string, Camera>(StringComparer.Ordinal);
        foreach (var chunk in parsed.Rows.Select(r => r.Id).Chunk(Chunk))
        {
            foreach (var c in await db.Cameras.AsNoTracking().Where(c => chunk.Contains(c.Id)).ToListAsync(ct)) existing[c.Id] = c;
        }

        foreach (var row in parsed.Rows)
        {
            if (!existing.TryGetValue(row.Id, out var c)) continue;
            if (c.RetiredAt is not null) problems.Add(new RegistryProblem("id", $"camera '{row.Id}' is retired and cannot be changed", row.Row));
            // A scoped admin cannot reach, or learn of, a camera outside their areas.
            else if (areas is not null && !areas.Contains(c.AreaId)) problems.Add(new RegistryProblem("id", "an id of a camera in your areas, or a new one, is required", row.Row));
        }

        if (problems.Count > 0) return new Outcome(0, 0, 0, [.. problems.OrderBy(p => p.Row ?? 0)]);

        var now = time.GetUtcNow();
        var stamp = now.ToUnixTimeMilliseconds();
        int created = 0, updated = 0, unchanged = 0;
        await using var tx = dryRun ? null : await db.Database.BeginTransactionAsync(ct);
        // PostgreSQL: the per-row count triggers stand aside and the counts are made again once, before the commit.
        if (tx is not null) await CameraStateTotals.DeferAsync(db, ct);
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        var pending = 0;
        foreach (var row in parsed.Rows)
        {
            if (!existing.TryGetValue(row.Id, out var camera))
            {
                camera = new Camera { Id = row.Id, Name = row.Id, AreaId = districtId, Purpose = "", LegalBasis = "", DepartmentId = "", Enabled = row.Enabled ?? false };
                Fill(camera, row, district, districtId);
                if (row.Source is not null) camera.StreamUrlSealed = secrets.SealText(row.Source, DistrictSync.StreamPurpose);
                camera.UpdatedAt = stamp;
                CameraStateStore.Apply(db, camera, CameraRegistry.Initial(camera, now));
                db.Cameras.Add(camera);
                created++;
            }
            else
            {
                var before = Snapshot(camera);
                var wasEnabled = camera.Enabled;
                // Tracked from its stored values, so the update's version check compares with what was read.
                var entry = db.Cameras.Attach(camera);
                var sourceChanged = row.Source is not null
                    && (camera.StreamUrlSealed is null || secrets.OpenText(camera.StreamUrlSealed, DistrictSync.StreamPurpose) != row.Source);
                Fill(camera, row, district, districtId);
                if (row.Enabled is { } enabled) camera.Enabled = enabled;
                // Purpose before power also holds for a camera this file does not switch on.
                if (camera.Enabled && CivicLens.Domain.Cameras.CameraAccountability.Missing(camera.Purpose, camera.LegalBasis, camera.DepartmentId, camera.RetentionDays).Count > 0)
                {
                    problems.Add(new RegistryProblem("purpose", "purpose before power: the camera is enabled, so it needs a purpose, legal basis, department and retention", row.Row));
                    continue;
                }

                if (camera.Definition is not null)
                {
                    try
                    {
                        catalog.Check(camera.Id, camera.Definition, catalog.Fields(camera));
                    }
                    catch (ConfigException ex)
                    {
                        problems.AddRange(CameraRegistry.Problems(ex).Select(p => p with { Row = row.Row }));
                        continue;
                    }
                }

                if (Snapshot(camera) == before && !sourceChanged)
                {
                    entry.State = EntityState.Detached;
                    unchanged++;
                    continue;
                }

                if (sourceChanged) camera.StreamUrlSealed = secrets.SealText(row.Source!, DistrictSync.StreamPurpose);
                camera.Version++;
                camera.UpdatedAt = stamp;
                if (wasEnabled != camera.Enabled || (sourceChanged && camera.Enabled)) CameraStateStore.Apply(db, camera, CameraRegistry.Initial(camera, now));
                updated++;
            }

            if (!dryRun && ++pending >= Chunk)
            {
                db.ChangeTracker.DetectChanges();
                await db.SaveChangesAsync(ct);
                db.ChangeTracker.Clear();
                pending = 0;
            }
        }

        if (problems.Count > 0) return new Outcome(0, 0, 0, [.. problems.OrderBy(p => p.Row ?? 0)]);
        if (dryRun) return new Outcome(created, updated, unchanged, []);
        db.ChangeTracker.DetectChanges();
        await db.SaveChangesAsync(ct);
        await CameraStateTotals.RecountAsync(db, ct);

        await tx!.CommitAsync(ct);
        // Committed: whatever the caller does now, the import is audited and the running cameras are told.
        await audit.AppendAsync(new AuditEntry(actor, "camera.import", "ok", "cameras", $"{created} created, {updated} updated, {unchanged} unchanged ({format})"), CancellationToken.None);
        signal.Changed();
        // After a bulk load the planner's statistics are stale; a list or count planned on them can scan the table.
        if (created + updated >= 10_000) await db.Database.ExecuteSqlRawAsync("ANALYZE cameras", CancellationToken.None);
        return new Outcome(created, updated, unchanged, []);

        void Fill(Camera c, CameraRow row, CivicLensConfig d, string districtId)
        {
            c.Name = row.Name ?? (c.Name.Length > 0 ? c.Name : row.Id);
            c.Latitude = row.Latitude;
            c.Longitude = row.Longitude;
            c.Heading = row.Heading ?? c.Heading;
            c.FieldOfView = row.FieldOfView ?? c.FieldOfView;
            c.Range = row.Range ?? c.Range;
            c.Purpose = row.Purpose ?? c.Purpose;
            c.LegalBasis = row.LegalBasis ?? c.LegalBasis;
            c.DepartmentId = row.Department ?? c.DepartmentId;
            c.RetentionDays = row.RetentionDays ?? c.RetentionDays;
            c.SiteId = row.Site ?? c.SiteId;
            c.AreaId = row.Area ?? (row.Site is { } s ? d.Sites.FirstOrDefault(x => x.Id == s)?.Area : null) ?? (c.AreaId.Length > 0 ? c.AreaId : districtId);
        }
    }

    private static IEnumerable<RegistryProblem> DistrictProblems(CameraRow row, CivicLensConfig district, string districtId)
    {
        if (row.Department is { } dep && district.Departments.Count > 0 && district.Departments.All(d => d.Id != dep))
        {
            yield return new RegistryProblem("department", $"unknown department '{dep}'", row.Row);
        }

        if (row.Site is { } site && district.Sites.All(s => s.Id != site)) yield return new RegistryProblem("site", $"unknown site '{site}'", row.Row);
        // An enabled row without its accountability never gets here: the file's reader refuses it (field "enabled").
        if (row.Area is { } area && area != districtId && district.Areas.All(a => a.Id != area)) yield return new RegistryProblem("area", $"unknown area '{area}'", row.Row);
    }

    private static (string, string, double, double, double?, double?, double?, string, string, string, int, string?, bool) Snapshot(Camera c) =>
        (c.Name, c.AreaId, c.Latitude, c.Longitude, c.Heading, c.FieldOfView, c.Range, c.Purpose, c.LegalBasis, c.DepartmentId, c.RetentionDays, c.SiteId, c.Enabled);
}
