using System.Globalization;
using System.Runtime.CompilerServices;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Transparency;

/// <summary>
/// Builds the public register from the store. Camera rows are projected column by column, so the sealed stream URL
/// and the rules document are never even read; statistics are counts grouped in the database, one query per month,
/// and kept for a minute so anonymous callers cannot make the server count millions of rows on every request.
/// </summary>
public sealed class TransparencyRegister(IDbContextFactory<CivicLensDb> dbs, TimeProvider time, CivicLensConfig config, ServerOptions options)
{
    public const int PageSize = 500;
    public const int StatisticsMonths = 12;
    public const int FirstReportYear = 2000;
    public const string RevealAction = "reveal";

    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (DateTimeOffset Until, object Value)> _cache = new(StringComparer.Ordinal);

    public TimeZoneInfo TimeZone => config.TimeZone;

    public DateTimeOffset Now => time.GetUtcNow();

    public RetentionPolicy Policy { get; } = new(
        (int)Math.Ceiling(options.EventRetention.TotalDays),
        (int)Math.Ceiling(options.ClosedCaseRetention.TotalDays),
        options.SealedOriginals is { } sealedOriginals ? Math.Round(sealedOriginals.Window.TotalHours, 1) : null)
    {
        ReportDays = (int)Math.Ceiling(options.Retention.ReportsAfterCaseClosed.TotalDays),
        UnlinkedReportDays = (int)Math.Ceiling(options.Retention.ReportsWithoutCase.TotalDays),
        ContactDays = (int)Math.Ceiling(options.Retention.ContactsWithoutCase.TotalDays),
        AuditDays = (int)Math.Ceiling(options.Retention.AuditRecords.TotalDays),
    };

    /// <summary>The current year in the district's time zone: the last one a report exists for.</summary>
    public int CurrentYear => TimeZoneInfo.ConvertTime(Now, TimeZone).Year;

    public async Task<string> DistrictAsync(CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await Lookup.DistrictAsync(db, config, ct);
    }

    public async Task<RegisterPage> PageAsync(string? after, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var lookup = await Lookup.LoadAsync(db, config, ct);
        var q = db.Cameras.AsNoTracking().Where(c => c.Enabled);
        if (after is not null) q = q.Where(c => string.Compare(c.Id, after) > 0);
        var rows = await Rows(q.OrderBy(c => c.Id).Take(PageSize + 1)).ToListAsync(ct);
        string? next = null;
        if (rows.Count > PageSize)
        {
            rows.RemoveAt(PageSize);
            next = rows[^1].Id;
        }

        return new RegisterPage(lookup.District, rows.Select(lookup.Camera).ToList(), next);
    }

    /// <summary>A camera in service, or null (unknown and withdrawn cameras look the same).</summary>
    public async Task<(string District, RegisterCamera? Camera)> CameraAsync(string id, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var lookup = await Lookup.LoadAsync(db, config, ct);
        var row = await Rows(db.Cameras.AsNoTracking().Where(c => c.Id == id && c.Enabled)).FirstOrDefaultAsync(ct);
        return (lookup.District, row is null ? null : lookup.Camera(row));
    }

    /// <summary>The whole inventory for the exports, streamed from the store when enumerated.</summary>
    public async Task<RegisterInventory> InventoryAsync(CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return new RegisterInventory(await Lookup.DistrictAsync(db, config, ct), Now, AnalyticsText.NeverDone, Policy, StreamAsync(ct));
    }

    public async IAsyncEnumerable<RegisterCamera> StreamAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var lookup = await Lookup.LoadAsync(db, config, ct);
        await foreach (var row in Rows(db.Cameras.AsNoTracking().Where(c => c.Enabled).OrderBy(c => c.Id)).AsAsyncEnumerable().WithCancellation(ct))
        {
            yield return lookup.Camera(row);
        }
    }

    public Task<RegisterStatistics> StatisticsAsync(CancellationToken ct) => CachedAsync("statistics", async () =>
    {
        var local = TimeZoneInfo.ConvertTime(Now, TimeZone);
        var first = new DateTime(local.Year, local.Month, 1, 0, 0, 0, DateTimeKind.Unspecified).AddMonths(1 - StatisticsMonths);
        await using var db = await dbs.CreateDbContextAsync(ct);
        var district = await Lookup.DistrictAsync(db, config, ct);
        var combinations = await db.Cameras.AsNoTracking().Where(c => c.Enabled).GroupBy(c => c.Analytics)
            .Select(g => new { Analytics = g.Key, Count = g.Count() }).ToListAsync(ct);
        var byAnalytics = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var c in combinations)
        {
            foreach (var type in AnalyticsText.Split(c.Analytics)) byAnalytics[type] = byAnalytics.GetValueOrDefault(type) + c.Count;
        }

        var months = await MonthsAsync(db, first.Year, first.Month, StatisticsMonths, ct);
        return new RegisterStatistics(district, TimeZone.Id, Now, combinations.Sum(c => c.Count), byAnalytics, months);
    });

    /// <summary>The report for a year from <see cref="FirstReportYear"/> to the current one; null for any other.</summary>
    public async Task<AnnualReport?> ReportAsync(int year, CancellationToken ct)
    {
        if (year < FirstReportYear || year > CurrentYear) return null;
        return await CachedAsync("report:" + year.ToString(CultureInfo.InvariantCulture), async () =>
        {
            await using var db = await dbs.CreateDbContextAsync(ct);
            var lookup = await Lookup.LoadAsync(db, config, ct);
            // The register keeps withdrawn cameras (disabled, never deleted): the report lists them as withdrawn.
            var rows = await Rows(db.Cameras.AsNoTracking().OrderByDescending(c => c.Enabled).ThenBy(c => c.Id)).ToListAsync(ct);
            var cameras = rows.Select(lookup.Camera).ToList();
            var months = await MonthsAsync(db, year, 1, 12, ct);
            var byKind = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var m in months)
            {
                foreach (var (kind, count) in m.Events) byKind[kind] = byKind.GetValueOrDefault(kind) + count;
            }

            var retention = cameras.Where(c => c.InService).GroupBy(c => c.RetentionDays).OrderBy(g => g.Key).Select(g => new RetentionSetting(g.Key, g.Count())).ToList();
            return new AnnualReport(year, lookup.District, TimeZone.Id, Now, cameras, retention, Policy, byKind, months.Sum(m => m.Reveals), months);
        });
    }

    /// <summary>
    /// Events per kind and reveals for <paramref name="count"/> calendar months from the given one. Month boundaries
    /// are computed here, in the district's time zone; each month is one COUNT ... GROUP BY kind over the (at) index.
    /// </summary>
    private async Task<IReadOnlyList<MonthStatistics>> MonthsAsync(CivicLensDb db, int year, int month, int count, CancellationToken ct)
    {
        var start = new DateTime(year, month, 1, 0, 0, 0, DateTimeKind.Unspecified);
        var bounds = Enumerable.Range(0, count + 1).Select(i => StartOf(start.AddMonths(i))).ToList();
        var (from, to) = (bounds[0], bounds[^1]);
        // Successful reveals are rare: their times are fetched once and bucketed here.
        var reveals = await db.Audit.AsNoTracking().Where(a => a.At >= from && a.At < to && a.Action == RevealAction && a.Outcome == "ok")
            .Select(a => a.At).ToListAsync(ct);
        var months = new List<MonthStatistics>(count);
        for (var i = 0; i < count; i++)
        {
            var (lo, hi) = (bounds[i], bounds[i + 1]);
            var kinds = await db.Events.AsNoTracking().Where(e => e.At >= lo && e.At < hi).GroupBy(e => e.Kind)
                .Select(g => new { Kind = g.Key, Count = g.Count() }).ToListAsync(ct);
            var events = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var k in kinds) events[k.Kind] = k.Count;
            var label = start.AddMonths(i).ToString("yyyy-MM", CultureInfo.InvariantCulture);
            months.Add(new MonthStatistics(label, events, reveals.Count(at => at >= lo && at < hi)));
        }

        return months;
    }

    /// <summary>Unix ms of local midnight on the given day (the first valid local time after it, across a DST gap).</summary>
    private long StartOf(DateTime local)
    {
        while (TimeZone.IsInvalidTime(local)) local = local.AddMinutes(15);
        return new DateTimeOffset(local, TimeZone.GetUtcOffset(local)).ToUnixTimeMilliseconds();
    }

    private async Task<T> CachedAsync<T>(string key, Func<Task<T>> compute)
        where T : class
    {
        lock (_gate)
        {
            if (_cache.TryGetValue(key, out var hit) && hit.Until > Now) return (T)hit.Value;
        }

        var value = await compute();
        lock (_gate)
        {
            _cache[key] = (Now + CacheFor, value);
        }

        return value;
    }

    /// <summary>Filter and order before this: the projection is the query's last step.</summary>
    private static IQueryable<CameraRow> Rows(IQueryable<Camera> cameras) =>
        cameras.Select(c => new CameraRow(c.Id, c.Name, c.AreaId, c.SiteId, c.Latitude, c.Longitude, c.Heading, c.FieldOfView, c.Range, c.Purpose, c.LegalBasis,
            c.DepartmentId, c.RetentionDays, c.Analytics, c.Enabled));

    /// <summary>The columns the register reads: never the sealed stream URL.</summary>
    private sealed record CameraRow(string Id, string Name, string AreaId, string? SiteId, double Latitude, double Longitude, double? Heading, double? FieldOfView,
        double? Range, string Purpose, string LegalBasis, string DepartmentId, int RetentionDays, string Analytics, bool Enabled);

    /// <summary>Names of the district, areas, sites and departments (small tables), to resolve a camera's ids.</summary>
    private sealed class Lookup
    {
        private Dictionary<string, string> _areas = [];
        private Dictionary<string, string> _sites = [];
        private Dictionary<string, RegisterDepartment> _departments = [];

        public string District { get; private set; } = "";

        public static async Task<string> DistrictAsync(CivicLensDb db, CivicLensConfig config, CancellationToken ct)
        {
            var id = config.District?.Id;
            var name = id is null
                ? await db.Areas.AsNoTracking().Where(a => a.ParentId == null).OrderBy(a => a.Id).Select(a => a.Name).FirstOrDefaultAsync(ct)
                : await db.Areas.AsNoTracking().Where(a => a.Id == id).Select(a => a.Name).FirstOrDefaultAsync(ct);
            return name ?? config.District?.Name ?? "District";
        }

        public static async Task<Lookup> LoadAsync(CivicLensDb db, CivicLensConfig config, CancellationToken ct) => new()
        {
            District = await DistrictAsync(db, config, ct),
            _areas = await db.Areas.AsNoTracking().ToDictionaryAsync(a => a.Id, a => a.Name, StringComparer.Ordinal, ct),
            _sites = await db.Sites.AsNoTracking().ToDictionaryAsync(s => s.Id, s => s.Name, StringComparer.Ordinal, ct),
            _departments = await db.Departments.AsNoTracking()
                .ToDictionaryAsync(d => d.Id, d => new RegisterDepartment(d.Id, d.Name, d.Contact), StringComparer.Ordinal, ct),
        };

        public RegisterCamera Camera(CameraRow c) => new(
            c.Id,
            c.Name,
            new RegisterPlace(c.AreaId, _areas.GetValueOrDefault(c.AreaId) ?? c.AreaId),
            c.SiteId is null ? null : new RegisterPlace(c.SiteId, _sites.GetValueOrDefault(c.SiteId) ?? c.SiteId),
            c.Latitude,
            c.Longitude,
            c.Heading,
            c.FieldOfView,
            c.Range,
            c.Purpose,
            c.LegalBasis,
            _departments.GetValueOrDefault(c.DepartmentId) ?? new RegisterDepartment(c.DepartmentId, c.DepartmentId, null),
            c.RetentionDays,
            AnalyticsText.Split(c.Analytics).Select(t => new RegisterAnalytic(t, AnalyticsText.Describe(t))).ToList(),
            c.Enabled);
    }
}
