using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CivicLens.Pipeline.Stills;
using CivicLens.Reports.Cases;
using CivicLens.Reports.Geo;
using CivicLens.Reports.Routing;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Cases;
using CivicLens.Server.Hosting;
using CivicLens.Server.Live;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Secrets;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Reports;

/// <summary>What a reporter sent, before checking: every field may be missing or wrong.</summary>
public sealed record ReportDraft(string? Category, string? Description, double? Latitude, double? Longitude, string? Address, string? Contact, string? Site)
{
    /// <summary>What identifies the submission for idempotency: a reused key with other content is a client bug, refused.</summary>
    public string ContentHash(int photos) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\u001f',
        Category, Description, Latitude?.ToString("R", CultureInfo.InvariantCulture), Longitude?.ToString("R", CultureInfo.InvariantCulture), Address, Site,
        photos.ToString(CultureInfo.InvariantCulture)) + (Attributes is null ? "" : "\u001f" + Attributes))));

    /// <summary>Open311 <c>attribute[]</c> answers, already checked against the category, as stored (JSON); null when none.</summary>
    public string? Attributes { get; init; }

    /// <summary>
    /// The reporter agreed to one message when the problem is fixed or closed. Kept only with an email contact
    /// (there is no SMS channel: a phone number is for the department to call, never messaged).
    /// </summary>
    public bool Notify { get; init; }
}

/// <summary>Who submits: the source (<c>staff</c>, <c>public</c>, <c>open311</c>) and, for staff and keys, the account's name.</summary>
public sealed record Submitter(string Source, string? Name);

/// <summary>The answer to a submission: the stored report and its case, or the earlier one when a retry replayed its key.</summary>
public sealed record ReportReceipt(ReportRecord Report, CaseRecord Case, bool Replayed, IReadOnlyList<string> Warnings, IReadOnlyList<CaseSuggestion> Duplicates);

/// <summary>A submission refused with a reason the reporter can act on; <see cref="Field"/> names the input at fault.</summary>
public sealed class ReportRejectedException(string message, string? field = null, int status = StatusCodes.Status400BadRequest) : Exception(message)
{
    public ReportRejectedException() : this("the report was refused") { }

    public ReportRejectedException(string message, Exception inner) : this(message + ": " + inner.Message) { }

    public string? Field { get; } = field;

    public int Status { get; } = status;
}

/// <summary>
/// Takes field reports from every door (staff API, public form, Open311): checks the fields, stores photos only
/// after <see cref="PhotoIntake"/> re-encoded and redacted them, routes the problem into a new case (with SLA,
/// duplicate suggestions and department notices), all in one transaction; an idempotency key makes a retry
/// return the first answer instead of a second report.
/// </summary>
public sealed partial class ReportIntake(
    CaseDesk desk,
    CivicLensConfig config,
    ServerOptions options,
    IDbContextFactory<CivicLensDb> dbs,
    SecretBox secrets,
    AuditLog audit,
    LiveNotifier live,
    TimeProvider time,
    IServiceProvider services,
    ILogger<ReportIntake> logger)
{
    public const int MaxPhotos = 3;
    public const int MaxDescription = 4000;
    public const string ContactPurpose = "report-contact";
    private readonly AreaLocator _areas = new(config);

    public string PhotoDirectory => options.ReportPhotoDirectory;

    /// <summary>The photo intake, created on first use (it loads the detector models).</summary>
    public PhotoIntake Photos => services.GetRequiredService<PhotoIntake>();

    /// <summary>Checks a draft without storing anything; throws <see cref="ReportRejectedException"/> with the first fault.</summary>
    public (CategoryConfig Category, string Area, GeoPoint Place) Check(ReportDraft d, Submitter who)
    {
        ArgumentNullException.ThrowIfNull(d);
        ArgumentNullException.ThrowIfNull(who);
        if (string.IsNullOrWhiteSpace(d.Category))
        {
            throw new ReportRejectedException($"choose a category (one of: {string.Join(", ", desk.Categories.Where(c => c.Public || who.Source != "public").Select(c => c.Id))})", "category");
        }

        var category = desk.Category(d.Category) ?? throw new ReportRejectedException($"unknown category '{d.Category}'", "category");
        if (who.Source == "public" && !category.Public) throw new ReportRejectedException($"'{category.Name}' cannot be reported by the public; call the city", "category");
        if ((d.Description?.Length ?? 0) > MaxDescription) throw new ReportRejectedException($"the description is at most {MaxDescription} characters", "description");
        if ((d.Address?.Length ?? 0) > 300) throw new ReportRejectedException("the address is at most 300 characters", "address");
        if ((d.Contact?.Length ?? 0) > 200) throw new ReportRejectedException("the contact is at most 200 characters", "contact");
        GeoPoint place;
        if (d.Latitude is { } lat && d.Longitude is { } lon)
        {
            if (!GeoMath.IsValid(lat, lon)) throw new ReportRejectedException("the location is not a place on Earth (latitude -90..90, longitude -180..180)", "location");
            place = new GeoPoint(lon, lat);
        }
        else if (d.Latitude is not null || d.Longitude is not null)
        {
            throw new ReportRejectedException("give both latitude and longitude", "location");
        }
        else if (d.Site is { } siteId && config.Sites.FirstOrDefault(s => s.Id == siteId) is { Outline: { Count: > 0 } outline })
        {
            place = new GeoPoint(outline.Average(p => p.Longitude), outline.Average(p => p.Latitude));
        }
        else
        {
            throw new ReportRejectedException("say where the problem is: drop a pin on the map or share your location", "location");
        }

        var area = _areas.Locate(place) ?? throw new ReportRejectedException(
            $"the location ({place.Latitude:0.#####}, {place.Longitude:0.#####}) is outside the areas this city serves", "location", StatusCodes.Status422UnprocessableEntity);
        if (d.Site is { } s && config.Sites.All(x => x.Id != s)) throw new ReportRejectedException($"unknown site '{s}'", "site");
        return (category, area, place);
    }

    /// <summary>The earlier report of this idempotency key, or null; a reuse with other content is refused (409).</summary>
    public async Task<ReportReceipt?> FindReplayAsync(string? key, Submitter who, string contentHash, CancellationToken ct)
    {
        if (key is null) return null;
        var hashed = HashKey(key, who);
        await using var db = await dbs.CreateDbContextAsync(ct);
        var r = await db.Reports.AsNoTracking().Include(x => x.Photos).FirstOrDefaultAsync(x => x.IdempotencyKey == hashed, ct);
        if (r is null) return null;
        if (r.ContentHash != contentHash)
        {
            throw new ReportRejectedException("this Idempotency-Key was already used for a different report; use a new key for a new report", "idempotency-key", StatusCodes.Status409Conflict);
        }

        var c = await db.Cases.AsNoTracking().FirstAsync(x => x.Id == r.CaseId, ct);
        return new ReportReceipt(r, c, true, [], []);
    }

    /// <summary>Stores a checked report with its (already redacted) photos and opens its case.</summary>
    public async Task<ReportReceipt> SubmitAsync(ReportDraft d, IReadOnlyList<AcceptedPhoto> photos, Submitter who, string? idempotencyKey, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(d);
        ArgumentNullException.ThrowIfNull(photos);
        if (photos.Count > MaxPhotos) throw new ReportRejectedException($"at most {MaxPhotos} photos per report", "photo");
        var (category, area, place) = Check(d, who);
        var contentHash = d.ContentHash(photos.Count);
        if (await FindReplayAsync(idempotencyKey, who, contentHash, ct) is { } earlier) return earlier;

        var now = time.GetUtcNow();
        var warnings = new List<string>();
        var flags = new List<string>();
        foreach (var claim in photos.Select(p => p.Claim).Where(c => c.Latitude is not null && c.Longitude is not null))
        {
            var metres = GeoMath.Distance(place, new GeoPoint(claim.Longitude!.Value, claim.Latitude!.Value));
            if (metres > config.Routing.PhotoDistanceWarning)
            {
                warnings.Add($"the photo says it was taken {Distance(metres)} from the pin; an operator will check the place");
                flags.Add("photo-far-from-pin");
                break;
            }
        }

        RouteDecision route;
        try
        {
            route = desk.Router.Route(category.Id, area, now);
        }
        catch (RoutingException ex)
        {
            throw new ReportRejectedException($"no department takes '{category.Name}' here yet ({ex.Message})", "category", StatusCodes.Status422UnprocessableEntity);
        }

        var site = d.Site ?? SiteAt(place);
        var report = new ReportRecord
        {
            Token = NewToken(),
            Source = who.Source,
            IdempotencyKey = idempotencyKey is null ? null : HashKey(idempotencyKey, who),
            ContentHash = contentHash,
            SubmittedBy = who.Name,
            Category = category.Id,
            Description = Clean(d.Description),
            Latitude = place.Latitude,
            Longitude = place.Longitude,
            Address = Clean(d.Address),
            AreaId = area,
            SiteId = site,
            ContactSealed = string.IsNullOrWhiteSpace(d.Contact) ? null : Convert.ToBase64String(secrets.SealText(d.Contact.Trim(), ContactPurpose)),
            NotifyReporter = d.Notify && d.Contact is { } contact && Outbox.ReporterEmailChannel.IsEmail(contact.Trim()),
            SubmittedAt = now.ToUnixTimeMilliseconds(),
            Flags = flags.Count > 0 ? string.Join(',', flags) : null,
            Attributes = d.Attributes,
        };

        // Photos reach disk before the commit (written whole, then renamed) and are removed again if it fails:
        // a committed report never lacks its photos, and a failed one leaves nothing behind.
        var written = new List<string>();
        try
        {
            foreach (var p in photos)
            {
                var name = await WritePhotoAsync(p, now, ct);
                written.Add(name);
                report.Photos.Add(new ReportPhoto { FileName = name, Sha256 = p.Sha256, Width = p.Width, Height = p.Height, Length = p.Jpeg.Length });
            }

            var title = string.IsNullOrWhiteSpace(report.Description) ? category.Name : $"{category.Name}: {Shorten(report.Description!, 80)}";
            await using var db = await dbs.CreateDbContextAsync(ct);
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var c = desk.NewCase(title, category.Id, area, site, place.Latitude, place.Longitude, now, route, who.Name ?? "public", $"{who.Source} report");
            db.Cases.Add(c);
            await db.SaveChangesAsync(ct);
            report.CaseId = c.Id;
            db.Reports.Add(report);
            var duplicates = await desk.SuggestDuplicatesAsync(db, c, ct);
            if (duplicates.Count > 0)
            {
                c.History.Add(new CaseChange { At = c.OpenedAt, Actor = "system", Change = $"may duplicate case {duplicates[0].TargetCaseId} ({duplicates[0].Metres:0} m away): the operator decides" });
            }

            desk.Notify(db, c, NoticeKinds.Opened, now, route.Reason, report: report);
            AuditRecord audited;
            try
            {
                await db.SaveChangesAsync(ct);
                // In the report's own transaction: a stored report always has its audit record, and a failed one none.
                audited = await audit.AppendInAsync(db, new AuditEntry(who.Name ?? "public", "report.submit", "ok", "report:" + report.Id,
                    $"{who.Source}, {category.Id}, case {c.Id}, {photos.Count} photo(s)"), ct);
                await tx.CommitAsync(ct);
                // Stored: from here on the photos belong to the report, whatever fails after (a retry finds it whole).
                written.Clear();
            }
            catch (DbUpdateException) when (idempotencyKey is not null)
            {
                // Two retries raced: the other one stored the report; answer with it.
                await tx.RollbackAsync(CancellationToken.None);
                DeleteAll(written);
                return await FindReplayAsync(idempotencyKey, who, contentHash, ct) ?? throw new ReportRejectedException("the report could not be stored; retry", null, StatusCodes.Status503ServiceUnavailable);
            }

            audit.Anchor(audited);
            LogSubmitted(logger, report.Id, who.Source, category.Id, c.Id, route.Department);
            await live.CaseAsync(c.AreaId, new { c.Id, c.Title, c.Category, c.State, Department = c.DepartmentId, Area = c.AreaId, c.SiteId, c.Latitude, c.Longitude, Source = "report" });
            return new ReportReceipt(report, c, false, warnings, duplicates);
        }
        catch
        {
            DeleteAll(written);
            throw;
        }
    }

    /// <summary>The stored bytes of a report's photo; null when the file is gone (retention).</summary>
    public string? PhotoPath(ReportPhoto photo)
    {
        ArgumentNullException.ThrowIfNull(photo);
        var path = Path.Combine(PhotoDirectory, photo.FileName);
        return File.Exists(path) ? path : null;
    }

    private async Task<string> WritePhotoAsync(AcceptedPhoto p, DateTimeOffset now, CancellationToken ct)
    {
        // Our own name (random), never the client's: nothing of the upload's name or type reaches the disk.
        var relative = Path.Combine(now.ToString("yyyy", CultureInfo.InvariantCulture), now.ToString("MM", CultureInfo.InvariantCulture),
            Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) + ".jpg");
        var path = Path.Combine(PhotoDirectory, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        await using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
        {
            await f.WriteAsync(p.Jpeg, ct);
            f.Flush(flushToDisk: true);
        }

        File.Move(temp, path);
        return relative;
    }

    private void DeleteAll(List<string> written)
    {
        foreach (var name in written)
        {
            try
            {
                File.Delete(Path.Combine(PhotoDirectory, name));
            }
            catch (IOException)
            {
                // Left for retention: an orphan file is redacted and unreferenced.
            }
        }

        written.Clear();
    }

    private string? SiteAt(GeoPoint place) =>
        config.Sites.FirstOrDefault(s => s.Outline is { Count: >= 3 } o && GeoMath.Contains(o, place))?.Id;

    private static string HashKey(string key, Submitter who) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{who.Source}\u001f{who.Name}\u001f{key}")));

    private static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string? Clean(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private static string Distance(double metres) =>
        metres >= 1000 ? string.Create(CultureInfo.InvariantCulture, $"{metres / 1000:0.0} km") : string.Create(CultureInfo.InvariantCulture, $"{metres:0} m");

    [LoggerMessage(Level = LogLevel.Information, Message = "Report {ReportId} ({Source}, {Category}) opened case {CaseId} for {Department}")]
    private static partial void LogSubmitted(ILogger logger, long reportId, string source, string category, long caseId, string department);
}
