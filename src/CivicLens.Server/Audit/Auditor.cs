using CivicLens.Server.Security;
using CivicLens.Storage.Audit;

namespace CivicLens.Server.Audit;

/// <summary>
/// Writes audit records for the current request's caller; a request is answered only after its record is committed.
/// Records go through the log's group commit (concurrent requests share a transaction), so audited reads do not
/// queue behind one another; a change to the store audits inside its own transaction instead (<see cref="AuditLog.AppendInAsync"/>).
/// </summary>
public sealed class Auditor(AuditLog log, IHttpContextAccessor http)
{
    public Task RecordAsync(string action, string outcome, string? target = null, string? detail = null, string? actor = null)
    {
        var caller = http.HttpContext is { } ctx ? CurrentUser.From(ctx.User)?.Name : null;
        return log.AppendAsync(new AuditEntry(actor ?? caller ?? "anonymous", action, outcome, target, detail), CancellationToken.None);
    }

    public Task SystemAsync(string action, string outcome, string? target = null, string? detail = null) =>
        log.AppendAsync(new AuditEntry("system", action, outcome, target, detail), CancellationToken.None);
}
