using System.Text;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Storage;

/// <summary>
/// The system of record. Tables and columns are snake_case on both providers so the hand-written ingest SQL
/// (see <see cref="Events.EventStore"/>) reads the same everywhere. Times are Unix milliseconds: SQLite cannot
/// compare or order <see cref="DateTimeOffset"/>, and integers index well on both.
/// </summary>
public sealed class CivicLensDb(DbContextOptions<CivicLensDb> options) : DbContext(options)
{
    public DbSet<Area> Areas => Set<Area>();

    public DbSet<Site> Sites => Set<Site>();

    public DbSet<Department> Departments => Set<Department>();

    public DbSet<Camera> Cameras => Set<Camera>();

    public DbSet<EventRecord> Events => Set<EventRecord>();

    public DbSet<CaseRecord> Cases => Set<CaseRecord>();

    public DbSet<CaseChange> CaseChanges => Set<CaseChange>();

    public DbSet<User> Users => Set<User>();

    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    public DbSet<AuditRecord> Audit => Set<AuditRecord>();

    public DbSet<OutboxMessage> Outbox => Set<OutboxMessage>();

    public DbSet<ReportRecord> Reports => Set<ReportRecord>();

    public DbSet<ReportPhoto> ReportPhotos => Set<ReportPhoto>();

    public DbSet<CaseSuggestion> CaseSuggestions => Set<CaseSuggestion>();

    public DbSet<CameraGeometry> CameraGeometries => Set<CameraGeometry>();

    public DbSet<CameraHealthChange> CameraHealthChanges => Set<CameraHealthChange>();

    public DbSet<CameraStateCount> CameraStateCounts => Set<CameraStateCount>();

    public DbSet<CameraStateDelta> CameraStateDeltas => Set<CameraStateDelta>();

    public DbSet<LegalHoldRecord> LegalHolds => Set<LegalHoldRecord>();

    public DbSet<EventEvidence> EventEvidence => Set<EventEvidence>();

    public DbSet<AuditTrim> AuditTrims => Set<AuditTrim>();

    /// <summary>Cameras per area and state: the kept counts plus the changes not yet folded into them.</summary>
    public IQueryable<CameraStateCount> CameraStateTotals() =>
        CameraStateCounts.AsNoTracking().Select(c => new { c.AreaId, c.State, c.Cameras })
            .Concat(CameraStateDeltas.AsNoTracking().Select(d => new { d.AreaId, d.State, d.Cameras }))
            .GroupBy(x => new { x.AreaId, x.State })
            .Select(g => new CameraStateCount { AreaId = g.Key.AreaId, State = g.Key.State, Cameras = g.Sum(x => x.Cameras) });

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        var sqlite = Database.IsSqlite();

        modelBuilder.Entity<Area>(e =>
        {
            e.ToTable("areas");
            e.HasIndex(a => a.ParentId);
        });
        modelBuilder.Entity<Site>(e =>
        {
            e.ToTable("sites");
            e.HasIndex(s => s.AreaId);
        });
        modelBuilder.Entity<Department>().ToTable("departments");
        modelBuilder.Entity<Camera>(e =>
        {
            e.ToTable("cameras");
            e.HasIndex(c => c.AreaId);
            // The console's map asks for the cameras inside a box; 290,000 of them must not be scanned for a street.
            e.HasIndex(c => new { c.Latitude, c.Longitude });
            e.HasIndex(c => c.SiteId);
            // "How many cameras are offline in the riverside ward?" is answered from these two indexes alone.
            e.HasIndex(c => new { c.Health, c.AreaId });
            e.HasIndex(c => new { c.AreaId, c.Health });
            // Nodes poll for registry changes since their last look.
            e.HasIndex(c => c.UpdatedAt);
            e.Property(c => c.Version).IsConcurrencyToken();
            // The console's "cameras on node n-3".
            e.HasIndex(c => c.Node);
            e.Property(c => c.Node).HasMaxLength(63);
        });
        modelBuilder.Entity<CameraStateCount>(e =>
        {
            e.ToTable("camera_state_counts");
            e.HasKey(c => new { c.AreaId, c.State });
        });
        modelBuilder.Entity<CameraStateDelta>().ToTable("camera_state_deltas");
        modelBuilder.Entity<CameraHealthChange>(e =>
        {
            e.ToTable("camera_health_changes");
            e.HasIndex(h => new { h.CameraId, h.At });
            e.HasIndex(h => h.At);
        });
        modelBuilder.Entity<EventRecord>(e =>
        {
            e.ToTable("events");
            if (sqlite) e.Property(x => x.Id).HasConversion(g => g.ToString("D"), s => Guid.Parse(s));
            if (sqlite) e.Property(x => x.IncidentId).HasConversion(g => g.HasValue ? g.Value.ToString("D") : null, s => s == null ? null : Guid.Parse(s));
            // The list is paged newest first, filtered by area scope and time; these cover its plans.
            e.HasIndex(x => new { x.At, x.Id });
            e.HasIndex(x => new { x.AreaId, x.At });
            e.HasIndex(x => new { x.Kind, x.At });
            e.HasIndex(x => new { x.SiteId, x.At });
            e.HasIndex(x => x.IncidentId);
        });
        modelBuilder.Entity<CaseRecord>(e =>
        {
            e.ToTable("cases");
            e.Property(c => c.Version).IsConcurrencyToken();
            e.HasIndex(c => new { c.State, c.OpenedAt });
            e.HasIndex(c => c.AreaId);
            e.HasIndex(c => new { c.Category, c.State });
            e.HasIndex(c => new { c.DepartmentId, c.State });
            e.HasMany(c => c.History).WithOne().HasForeignKey(h => h.CaseId);
        });
        modelBuilder.Entity<CaseChange>().ToTable("case_changes");
        modelBuilder.Entity<LegalHoldRecord>(e =>
        {
            e.ToTable("legal_holds");
            e.HasIndex(h => new { h.Scope, h.Target });
            e.HasIndex(h => h.ExpiresAt);
        });
        modelBuilder.Entity<EventEvidence>(e =>
        {
            e.ToTable("event_evidence");
            if (sqlite) e.Property(x => x.EventId).HasConversion(g => g.ToString("D"), s => Guid.Parse(s));
            e.HasIndex(x => x.EventId);
            e.HasIndex(x => new { x.EventId, x.CameraId, x.Snapshot }).IsUnique();
        });
        modelBuilder.Entity<AuditTrim>().ToTable("audit_trims");
        modelBuilder.Entity<ReportRecord>(e =>
        {
            e.ToTable("reports");
            e.HasIndex(r => r.Token).IsUnique();
            // NULLs are distinct on both providers: only keyed submissions collide.
            e.HasIndex(r => r.IdempotencyKey).IsUnique();
            e.HasIndex(r => r.CaseId);
            e.HasIndex(r => new { r.Category, r.SubmittedAt });
            e.HasMany(r => r.Photos).WithOne().HasForeignKey(p => p.ReportId);
        });
        modelBuilder.Entity<ReportPhoto>(e =>
        {
            e.ToTable("report_photos");
            e.HasIndex(p => p.FileName).IsUnique();
        });
        modelBuilder.Entity<CaseSuggestion>(e =>
        {
            e.ToTable("case_suggestions");
            e.HasIndex(x => new { x.CaseId, x.TargetCaseId }).IsUnique();
            e.HasIndex(x => new { x.State, x.TargetCaseId });
        });
        modelBuilder.Entity<CameraGeometry>(e =>
        {
            e.ToTable("camera_geometry");
            e.HasKey(g => new { g.CameraId, g.Kind, g.ItemId });
            e.Property(g => g.Version).IsConcurrencyToken();
        });
        modelBuilder.Entity<User>(e =>
        {
            e.ToTable("users");
            e.HasIndex(u => u.UserName).IsUnique();
            e.HasIndex(u => u.ExternalLogin).IsUnique();
        });
        modelBuilder.Entity<ApiKey>(e =>
        {
            e.ToTable("api_keys");
            e.HasIndex(k => k.Hash).IsUnique();
        });
        modelBuilder.Entity<AuditRecord>(e =>
        {
            e.ToTable("audit");
            e.HasKey(a => a.Seq);
            // Sequence numbers are assigned by the log itself (gapless), never by the database.
            e.Property(a => a.Seq).ValueGeneratedNever();
            e.HasIndex(a => a.At);
        });
        modelBuilder.Entity<OutboxMessage>(e =>
        {
            e.ToTable("outbox");
            if (sqlite) e.Property(x => x.EventId).HasConversion(g => g.ToString("D"), s => Guid.Parse(s));
            e.HasIndex(o => new { o.DeliveredAt, o.NextAttemptAt });
        });

        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties()) property.SetColumnName(SnakeCase(property.Name));
        }
    }

    internal static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
