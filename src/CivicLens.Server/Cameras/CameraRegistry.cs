using System.Text.RegularExpressions;
using CivicLens.Domain.Cameras;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Secrets;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Cameras;

/// <summary>
/// A camera as an admin writes it. <see cref="Source"/> is write-only (it may carry credentials): null keeps the
/// stored stream, an empty text removes it. <see cref="Definition"/> is the analytics part of a district file's camera
/// (resolution, zones, lines, privacy_masks, rules, health) as YAML or JSON. <see cref="Version"/>: the version the
/// editor started from (an edit from a stale copy is refused); null on create.
/// </summary>
public sealed record CameraInput
{
    public string? Name { get; init; }

    public string? Area { get; init; }

    public string? Site { get; init; }

    public double Latitude { get; init; }

    public double Longitude { get; init; }

    public double? Heading { get; init; }

    public double? FieldOfView { get; init; }

    public double? Range { get; init; }

    public string? Source { get; init; }

    public string? Purpose { get; init; }

    public string? LegalBasis { get; init; }

    public string? Department { get; init; }

    public int RetentionDays { get; init; }

    public string? Definition { get; init; }

    /// <summary>Create only: start it at once (purpose before power applies). Later, use enable and disable.</summary>
    public bool Enabled { get; init; }

    public int? Version { get; init; }

    public override string ToString() => $"CameraInput {{ Name = {Name}, Area = {Area}, Site = {Site} }}";
}

/// <summary>One problem with a registry change: the field (API name, or a definition path) and why.</summary>
public sealed record RegistryProblem(string Field, string Message, int? Row = null);

/// <summary>The outcome of a registry change.</summary>
public sealed record RegistryResult(Camera? Camera, IReadOnlyList<RegistryProblem> Problems, bool NotFound = false, bool Conflict = false)
{
    public bool Ok => Camera is not null && Problems.Count == 0 && !NotFound && !Conflict;

    public static RegistryResult Invalid(params RegistryProblem[] problems) => new(null, problems);
}

/// <summary>
/// The camera registry's lifecycle: create, edit, enable, disable, retire. The database is the system of record;
/// every change is checked (the district, the detector's labels, purpose before power), audited, and signalled to
/// the cameras' host, which applies it to the running camera within seconds.
/// </summary>
public sealed partial class CameraRegistry(IDbContextFactory<CivicLensDb> dbs, CameraCatalog catalog, SecretBox secrets, AuditLog audit, RegistrySignal signal,
    Live.LiveNotifier live, TimeProvider time)
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex IdPattern();

    public static bool IsValidId(string id) => IdPattern().IsMatch(id);

    public async Task<RegistryResult> CreateAsync(string id, CameraInput input, string actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!IsValidId(id)) return RegistryResult.Invalid(new RegistryProblem("id", "a camera id is 1 to 64 letters, digits, '.', '-' or '_'"));
        var (refused, camera) = Validate(id, input, checkAccountability: input.Enabled);
        if (refused is not null)
        {
            await audit.AppendAsync(new AuditEntry(actor, "camera.create", "refused", "camera:" + id, Fields(refused)), ct);
            return refused;
        }

        await using var db = await dbs.CreateDbContextAsync(ct);
        if (await db.Cameras.AnyAsync(c => c.Id == id, ct)) return new RegistryResult(null, [new RegistryProblem("id", $"camera '{id}' already exists")], Conflict: true);
        var now = time.GetUtcNow();
        var row = new Camera { Id = id, Name = id, AreaId = "", Purpose = "", LegalBasis = "", DepartmentId = "" };
        Fill(row, input, camera!);
        row.Enabled = input.Enabled;
        row.UpdatedAt = now.ToUnixTimeMilliseconds();
        row.Health = ""; // its first state opens its history
        CameraStateStore.Apply(db, row, Initial(row, now));
        db.Cameras.Add(row);
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(new AuditEntry(actor, "camera.create", "ok", "camera:" + id, input.Enabled ? "created enabled" : "created disabled"), ct);
        signal.Changed();
        await live.CameraAsync(row.AreaId, Api.CameraView.From(row));
        return new RegistryResult(row, []);
    }

    public async Task<RegistryResult> UpdateAsync(string id, CameraInput input, string actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        await using var db = await dbs.CreateDbContextAsync(ct);
        var row = await db.Cameras.FirstOrDefaultAsync(c => c.Id == id, ct);
        if (row is null) return new RegistryResult(null, [], NotFound: true);
        if (row.RetiredAt is not null) return new RegistryResult(null, [new RegistryProblem("id", "a retired camera cannot be changed")], Conflict: true);
        if (input.Version is not { } v) return RegistryResult.Invalid(new RegistryProblem("version", "is required: the version the edit started from (GET /api/cameras/{id})"));
        if (v != row.Version)
        {
            await audit.AppendAsync(new AuditEntry(actor, "camera.update", "conflict", "camera:" + id, $"edited from version {v}, stored {row.Version}"), ct);
            return new RegistryResult(null, [new RegistryProblem("version", $"the camera was changed by someone else (now version {row.Version}, this edit started from {v}): reload, then edit again")], Conflict: true);
        }

        // Purpose before power holds for a running camera too: its accountability cannot be edited away.
        var (refused, camera) = Validate(id, input, checkAccountability: row.Enabled);
        if (refused is not null)
        {
            await audit.AppendAsync(new AuditEntry(actor, "camera.update", "refused", "camera:" + id, Fields(refused)), ct);
            return refused;
        }

        var changed = Describe(row, input);
        Fill(row, input, camera!);
        row.Version++;
        row.UpdatedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (row.Enabled) CameraStateStore.Apply(db, row, row.StreamUrlSealed is null ? new CameraStatus(CameraState.NoSource, time.GetUtcNow(), "no stream registered") : CurrentOr(row));
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            return new RegistryResult(null, [new RegistryProblem("version", "the camera was changed by someone else meanwhile: reload, then edit again")], Conflict: true);
        }

        await audit.AppendAsync(new AuditEntry(actor, "camera.update", "ok", "camera:" + id, changed), ct);
        signal.Changed();
        await live.CameraAsync(row.AreaId, Api.CameraView.From(row));
        return new RegistryResult(row, []);
    }

    public async Task<RegistryResult> SetEnabledAsync(string id, bool enabled, string actor, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var row = await db.Cameras.FirstOrDefaultAsync(c => c.Id == id, ct);
        if (row is null) return new RegistryResult(null, [], NotFound: true);
        if (enabled)
        {
            if (row.RetiredAt is not null) return new RegistryResult(null, [new RegistryProblem("enabled", "a retired camera cannot be enabled")], Conflict: true);
            if (Accountability(row.Purpose, row.LegalBasis, row.DepartmentId, row.RetentionDays) is { Count: > 0 } missing)
            {
                await audit.AppendAsync(new AuditEntry(actor, "camera.enable", "refused", "camera:" + id, "purpose before power: " + string.Join(", ", missing.Select(m => m.Field))), ct);
                return new RegistryResult(null, missing, Conflict: true);
            }

            try
            {
                catalog.Read(row);
            }
            catch (ConfigException ex)
            {
                return RegistryResult.Invalid([.. Problems(ex)]);
            }
        }

        if (row.Enabled == enabled) return new RegistryResult(row, []);
        row.Enabled = enabled;
        row.Version++;
        var now = time.GetUtcNow();
        row.UpdatedAt = now.ToUnixTimeMilliseconds();
        CameraStateStore.Apply(db, row, enabled ? Initial(row, now) : new CameraStatus(CameraState.Disabled, now, "disabled by " + actor));
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(new AuditEntry(actor, enabled ? "camera.enable" : "camera.disable", "ok", "camera:" + id, null), ct);
        signal.Changed();
        await live.CameraAsync(row.AreaId, Api.CameraView.From(row));
        return new RegistryResult(row, []);
    }

    /// <summary>Takes a camera out of service for good: it stops, cannot be enabled or edited, and stays listed (withdrawn) in the transparency register.</summary>
    public async Task<RegistryResult> RetireAsync(string id, string? reason, string actor, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var row = await db.Cameras.FirstOrDefaultAsync(c => c.Id == id, ct);
        if (row is null) return new RegistryResult(null, [], NotFound: true);
        if (row.RetiredAt is not null) return new RegistryResult(row, []);
        var now = time.GetUtcNow();
        row.Enabled = false;
        row.RetiredAt = now.ToUnixTimeMilliseconds();
        row.Version++;
        row.UpdatedAt = row.RetiredAt.Value;
        // The stream address is no longer needed: its credentials go with it.
        row.StreamUrlSealed = null;
        CameraStateStore.Apply(db, row, new CameraStatus(CameraState.Retired, now, string.IsNullOrWhiteSpace(reason) ? null : reason.Trim()));
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(new AuditEntry(actor, "camera.retire", "ok", "camera:" + id, reason), ct);
        signal.Changed();
        await live.CameraAsync(row.AreaId, Api.CameraView.From(row));
        return new RegistryResult(row, []);
    }

    /// <summary>The camera as it would run, or why it is refused.</summary>
    private (RegistryResult? Refused, CameraConfig? Camera) Validate(string id, CameraInput input, bool checkAccountability)
    {
        if (!string.IsNullOrEmpty(input.Source) && SourceProblem(input.Source) is { } bad) return (RegistryResult.Invalid(bad), null);
        var (problems, camera) = Check(id, input);
        if (problems.Count > 0) return (RegistryResult.Invalid([.. problems]), null);
        if (checkAccountability && Accountability(input.Purpose, input.LegalBasis, input.Department, input.RetentionDays) is { Count: > 0 } missing) return (RegistryResult.Invalid([.. missing]), null);
        return (null, camera);
    }

    /// <summary>The refused fields for the audit record (never their values: a source may carry credentials).</summary>
    private static string Fields(RegistryResult r) => string.Join(", ", r.Problems.Select(p => p.Field).Distinct());

    /// <summary>The area a camera written this way lands in: its area, else its site's, else the district.</summary>
    public string AreaOf(CameraInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.Area ?? SiteArea(input.Site) ?? catalog.District.District?.Id ?? "district";
    }

    /// <summary>The state an enabled camera starts in: starting, or no-source when it has no stream.</summary>
    public static CameraStatus Initial(Camera row, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (row.RetiredAt is not null) return new CameraStatus(CameraState.Retired, now, null);
        if (!row.Enabled) return new CameraStatus(CameraState.Disabled, now, null);
        return row.StreamUrlSealed is null ? new CameraStatus(CameraState.NoSource, now, "no stream registered") : new CameraStatus(CameraState.Starting, now, null);
    }

    private static CameraStatus CurrentOr(Camera row) =>
        CameraStates.TryParse(row.Health, out var s) && s is not (CameraState.NoSource or CameraState.Disabled)
            ? new CameraStatus(s, DateTimeOffset.FromUnixTimeMilliseconds(row.HealthSince ?? 0), row.HealthReason)
            : new CameraStatus(CameraState.Starting, DateTimeOffset.FromUnixTimeMilliseconds(row.UpdatedAt), null);

    /// <summary>The definition and fields read together as the camera will run, with every problem.</summary>
    private (List<RegistryProblem> Problems, CameraConfig? Camera) Check(string id, CameraInput input)
    {
        var problems = new List<RegistryProblem>();
        if (input.Area is { } area && catalog.District.Areas.All(a => a.Id != area) && area != (catalog.District.District?.Id ?? "district"))
        {
            problems.Add(new RegistryProblem("area", $"unknown area '{area}' (areas: {string.Join(", ", catalog.District.Areas.Select(a => a.Id))})"));
        }

        if (input.RetentionDays is < 0 or > 3650) problems.Add(new RegistryProblem("retentionDays", "is between 1 and 3650 days"));
        if (!double.IsFinite(input.Latitude) || input.Latitude is < -90 or > 90) problems.Add(new RegistryProblem("latitude", "is between -90 and 90"));
        if (!double.IsFinite(input.Longitude) || input.Longitude is < -180 or > 180) problems.Add(new RegistryProblem("longitude", "is between -180 and 180"));
        if (problems.Count > 0) return (problems, null);
        try
        {
            return (problems, catalog.Check(id, input.Definition, catalog.Fields(input.Name, input.Area, input.Site, input.Purpose, input.LegalBasis, input.Department,
                input.RetentionDays, input.Latitude, input.Longitude, input.Heading, input.FieldOfView, input.Range)));
        }
        catch (ConfigException ex)
        {
            problems.AddRange(Problems(ex));
            return (problems, null);
        }
    }

    internal static IEnumerable<RegistryProblem> Problems(ConfigException ex) =>
        ex.Errors.Count == 0 ? [new RegistryProblem("definition", ex.Message)] : ex.Errors.Select(e => new RegistryProblem(ApiField(e.Field), e.Line > 1 ? $"line {e.Line}: {e.Message}" : e.Message));

    /// <summary>A configuration path as the API names it (<c>cameras[x].legal_basis</c> to <c>legalBasis</c>; a definition path stays as written).</summary>
    private static string ApiField(string field)
    {
        var last = field[(field.LastIndexOf(']') + 1)..].TrimStart('.');
        return last switch
        {
            "legal_basis" => "legalBasis",
            "retention" => "retentionDays",
            "location" => "latitude",
            "field_of_view" => "fieldOfView",
            "purpose" or "department" or "site" or "area" or "name" or "heading" or "range" => last,
            _ => "definition." + field,
        };
    }

    private static List<RegistryProblem> Accountability(string? purpose, string? legalBasis, string? department, int retentionDays) =>
        [.. CameraAccountability.Missing(purpose, legalBasis, department, retentionDays)
            .Select(m => new RegistryProblem(m.Field, $"purpose before power: the camera cannot run without {m.What} (see docs/privacy.md)"))];

    /// <summary>A stream address is checked for its shape only: it is never echoed back.</summary>
    public static RegistryProblem? SourceProblem(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return District.Cameras.CameraRowValidator.IsVideoSource(source) ? null : new RegistryProblem("source", District.Cameras.CameraRowValidator.NotAVideoStream);
    }

    /// <summary>Writes the checked <paramref name="camera"/> (what <see cref="Validate"/> read) and its input into the row.</summary>
    private void Fill(Camera row, CameraInput input, CameraConfig camera)
    {
        row.Name = string.IsNullOrWhiteSpace(input.Name) ? row.Id : input.Name.Trim();
        row.AreaId = AreaOf(input);
        row.SiteId = input.Site;
        row.Latitude = input.Latitude;
        row.Longitude = input.Longitude;
        row.Heading = input.Heading;
        row.FieldOfView = input.FieldOfView;
        row.Range = input.Range;
        row.Purpose = input.Purpose?.Trim() ?? "";
        row.LegalBasis = input.LegalBasis?.Trim() ?? "";
        row.DepartmentId = input.Department?.Trim() ?? "";
        row.RetentionDays = input.RetentionDays;
        row.Definition = string.IsNullOrWhiteSpace(input.Definition) ? null : input.Definition;
        row.Analytics = string.Join(",", camera.Rules.Select(r => r.Type).Distinct());
        row.Rules = DistrictSync.RulesDocument(camera);
        if (input.Source is "") row.StreamUrlSealed = null;
        else if (input.Source is { } s) row.StreamUrlSealed = secrets.SealText(s, DistrictSync.StreamPurpose);
    }

    private string? SiteArea(string? site) => site is null ? null : catalog.District.Sites.FirstOrDefault(s => s.Id == site)?.Area;

    private static string Describe(Camera row, CameraInput input)
    {
        var parts = new List<string>();
        if (row.Definition != (string.IsNullOrWhiteSpace(input.Definition) ? null : input.Definition)) parts.Add("definition");
        if (input.Source is not null) parts.Add(input.Source.Length == 0 ? "stream removed" : "stream replaced");
        if (row.Purpose != (input.Purpose?.Trim() ?? "") || row.LegalBasis != (input.LegalBasis?.Trim() ?? "") || row.DepartmentId != (input.Department?.Trim() ?? "")
            || row.RetentionDays != input.RetentionDays) parts.Add("accountability");
        if (row.Latitude != input.Latitude || row.Longitude != input.Longitude || row.Heading != input.Heading || row.FieldOfView != input.FieldOfView
            || row.Range != input.Range) parts.Add("placement");
        if (row.Name != (string.IsNullOrWhiteSpace(input.Name) ? row.Id : input.Name.Trim())) parts.Add("name");
        if (row.SiteId != input.Site) parts.Add($"site {row.SiteId ?? "none"} -> {input.Site ?? "none"}");
        if (input.Area is not null && row.AreaId != input.Area) parts.Add($"area {row.AreaId} -> {input.Area}");
        return parts.Count == 0 ? "no change" : string.Join(", ", parts);
    }
}

/// <summary>Tells the cameras' host that the registry changed here (other writers are found by polling).</summary>
public sealed class RegistrySignal : IDisposable
{
    private readonly SemaphoreSlim _changed = new(0, 1);

    public void Changed()
    {
        try
        {
            _changed.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: one wake-up covers every change made before it is taken.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => _changed.WaitAsync(timeout, ct);

    public void Dispose() => _changed.Dispose();
}
