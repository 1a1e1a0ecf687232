using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CivicLens.Reports.Cases;
using CivicLens.Reports.Routing;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Hosting;
using CivicLens.Server.Outbox;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Cases;

/// <summary>
/// Where cases are born and departments told: routes a problem (report or camera event) by category x area,
/// sets its SLAs, looks for likely duplicates, and queues a notice for each of the department's deliveries in
/// the caller's transaction (the outbox), so a case is never stored untold nor told unstored.
/// </summary>
public sealed class CaseDesk
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly CivicLensConfig _config;
    private readonly ServerOptions _options;
    private readonly Dictionary<string, CategoryConfig> _categories;
    private readonly Dictionary<string, DepartmentConfig> _departments;

    public CaseDesk(CivicLensConfig config, ServerOptions options)
    {
        _config = config ?? throw new ArgumentNullException(nameof(config));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        Router = new Router(config);
        _categories = config.Categories.ToDictionary(c => c.Id, StringComparer.Ordinal);
        _departments = config.Departments.ToDictionary(d => d.Id, StringComparer.Ordinal);
    }

    public Router Router { get; }

    public IReadOnlyCollection<CategoryConfig> Categories => _categories.Values;

    public CategoryConfig? Category(string? id) => id is not null && _categories.TryGetValue(id, out var c) ? c : null;

    /// <summary>A category the configuration does not list (older files): default SLAs, named by its id.</summary>
    public CategoryConfig CategoryOrDefault(string id) => Category(id) ?? new CategoryConfig(id, id);

    public string DepartmentName(string id) => _departments.TryGetValue(id, out var d) ? d.Name : id;

    /// <summary>A new case routed and timed; <paramref name="route"/> from <see cref="Router"/>.</summary>
    public CaseRecord NewCase(string title, string category, string area, string? site, double? latitude, double? longitude, DateTimeOffset at,
        RouteDecision route, string actor, string origin)
    {
        ArgumentNullException.ThrowIfNull(route);
        var (opened, change) = Case.Open(CategoryOrDefault(category), route.Department, route.Reason, at, actor, origin);
        var c = new CaseRecord
        {
            Title = title,
            Category = category,
            DepartmentId = route.Department,
            AreaId = area,
            SiteId = site,
            Latitude = latitude,
            Longitude = longitude,
            OpenedAt = opened.OpenedAt.ToUnixTimeMilliseconds(),
            AcknowledgeDueAt = opened.AcknowledgeBy?.ToUnixTimeMilliseconds(),
            DueAt = opened.FixBy?.ToUnixTimeMilliseconds(),
            RouteReason = route.Reason,
        };
        CaseService.Apply(opened, c);
        foreach (var line in change.History) c.History.Add(new CaseChange { At = line.At.ToUnixTimeMilliseconds(), Actor = line.Actor, Change = line.Text });
        return c;
    }

    /// <summary>
    /// Records likely duplicates of a saved case (same category, within the category's radius and window, still
    /// open) as suggestions for the operator; returns them nearest first.
    /// </summary>
    public async Task<List<CaseSuggestion>> SuggestDuplicatesAsync(CivicLensDb db, CaseRecord c, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(c);
        if (c.Latitude is not { } lat || c.Longitude is not { } lon) return [];
        var category = CategoryOrDefault(c.Category);
        var since = c.OpenedAt - (long)category.DuplicateWindow.TotalMilliseconds;
        var open = await db.Cases.AsNoTracking()
            .Where(x => x.Id != c.Id && x.Category == c.Category && x.State != CaseStates.Closed && x.OpenedAt >= since && x.Latitude != null)
            .OrderByDescending(x => x.OpenedAt).Take(500)
            .Select(x => new { x.Id, x.Category, x.Latitude, x.Longitude, x.OpenedAt })
            .ToListAsync(ct);
        var found = DuplicateFinder.Find(category, new GeoPoint(lon, lat), DateTimeOffset.FromUnixTimeMilliseconds(c.OpenedAt),
            open.Select(x => new CaseCandidate(x.Id, x.Category, new GeoPoint(x.Longitude!.Value, x.Latitude!.Value), DateTimeOffset.FromUnixTimeMilliseconds(x.OpenedAt))));
        var list = found.Take(5).Select(f => new CaseSuggestion { CaseId = c.Id, TargetCaseId = f.Case.CaseId, Metres = Math.Round(f.Metres, 1), CreatedAt = c.OpenedAt }).ToList();
        db.CaseSuggestions.AddRange(list);
        return list;
    }

    /// <summary>Queues a notice to every delivery of <paramref name="department"/> (default: the case's); none configured: nothing.</summary>
    public int Notify(CivicLensDb db, CaseRecord c, string kind, DateTimeOffset at, string? reason = null, string? department = null, ReportRecord? report = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(c);
        var dep = department ?? c.DepartmentId;
        if (!_departments.TryGetValue(dep, out var d) || d.Delivery.Count == 0) return 0;
        var n = 0;
        foreach (var delivery in d.Delivery)
        {
            var channel = delivery.Kind switch
            {
                DeliveryKinds.Email => EmailChannel.ChannelName(d.Id),
                DeliveryKinds.Open311 => Open311ForwardChannel.ChannelName(d.Id),
                _ => WebhookChannel.ChannelName(delivery.Target),
            };
            var id = NoticeId(c.Id, kind, channel, at);
            var notice = new DepartmentNotice(id, kind, c.Id, dep, d.Name, c.Category, CategoryOrDefault(c.Category).Name, c.Title, report?.Description, c.AreaId, c.SiteId,
                c.Latitude, c.Longitude, at, c.DueAt is { } due ? DateTimeOffset.FromUnixTimeMilliseconds(due) : null,
                report is { Photos.Count: > 0 } ? Link($"/api/reports/{report.Id}/photos/{report.Photos[0].Id}") : null, Link($"/console/#/cases/{c.Id}"), reason);
            db.Outbox.Add(new OutboxMessage
            {
                Channel = channel,
                EventId = id,
                Payload = JsonSerializer.Serialize(notice, Json),
                CreatedAt = at.ToUnixTimeMilliseconds(),
                NextAttemptAt = at.ToUnixTimeMilliseconds(),
            });
            n++;
        }

        return n;
    }

    /// <summary>
    /// Queues the one message owed to each reporter of the case who agreed to it (with a contact not deleted) and
    /// marks them told, in the caller's transaction: told once, whatever happens to the case afterwards. The row
    /// carries the category, the place and the outcome; the address stays sealed in the report until it is sent.
    /// </summary>
    public async Task<int> TellReportersAsync(CivicLensDb db, CaseRecord c, DateTimeOffset at, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(c);
        var reports = await db.Reports.Where(r => r.CaseId == c.Id && r.NotifyReporter && r.ContactSealed != null && r.ContactDeletedAt == null && r.ReporterNotifiedAt == null)
            .ToListAsync(ct);
        var ms = at.ToUnixTimeMilliseconds();
        foreach (var r in reports)
        {
            var update = new ReporterUpdate(ReporterUpdate.IdFor(r.Id), r.Id, c.Id, CategoryOrDefault(r.Category).Name, PlaceName(r.SiteId ?? c.SiteId, r.AreaId), c.State, at);
            db.Outbox.Add(new OutboxMessage
            {
                Channel = ReporterEmailChannel.ChannelName,
                EventId = update.Id,
                Payload = JsonSerializer.Serialize(update, Json),
                CreatedAt = ms,
                NextAttemptAt = ms,
            });
            r.ReporterNotifiedAt = ms;
        }

        return reports.Count;
    }

    /// <summary>A place as people say it: the site's and the area's names ("North gate works, Campus").</summary>
    public string PlaceName(string? site, string area)
    {
        var areaName = _config.Areas.FirstOrDefault(a => a.Id == area)?.Name ?? area;
        return site is null ? areaName : $"{_config.Sites.FirstOrDefault(s => s.Id == site)?.Name ?? site}, {areaName}";
    }

    private string? Link(string path) => _options.PublicUrl is { } u ? PublicAddress.Of(u) + path : path;

    /// <summary>Deterministic per case, kind, channel and moment: a replayed change queues the same id, which receivers deduplicate.</summary>
    private static Guid NoticeId(long caseId, string kind, string channel, DateTimeOffset at)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"case:{caseId}:{kind}:{channel}:{at.ToUnixTimeMilliseconds()}"));
        return new Guid(hash.AsSpan(0, 16));
    }
}
