using CivicLens.Reports.Cases;
using CivicLens.Server.Cases;
using CivicLens.Server.Outbox;
using CivicLens.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CivicLens.Server.Open311;

/// <summary>
/// Reads forwarded cases back from the departments' Open311 systems (FixMyStreet's two-way pattern): every
/// <see cref="Open311ForwardingOptions.StatusInterval"/> each open case with a remote request gets
/// <c>GET requests/{id}.json</c> (after <c>GET tokens/{token}.json</c> while the remote has only given a token),
/// its <see cref="Storage.Entities.CaseRecord.RemoteStatus"/> and <see cref="Storage.Entities.CaseRecord.RemoteCheckedAt"/>
/// are stored, and a remote <c>closed</c> closes the case here ("closed in DEPARTMENT's system") through
/// <see cref="CaseService"/>, so its history, audit and reporters' messages are the same as an operator's close.
/// </summary>
/// <remarks>
/// In a cluster only the hub that runs the jobs reads back (<see cref="Hosting.IJobDuty"/>). A remote that fails or
/// answers nonsense is tried again next round; the failure is logged without the URL.
/// </remarks>
public sealed partial class Open311StatusPoller(
    IEnumerable<Open311Remote> remotes,
    IDbContextFactory<CivicLensDb> dbs,
    IHttpClientFactory http,
    CaseService cases,
    CaseDesk desk,
    IOptions<Open311ForwardingOptions> options,
    TimeProvider time,
    ILogger<Open311StatusPoller> logger,
    Hosting.IJobDuty duty) : BackgroundService
{
    private const int Batch = 500;
    private readonly Dictionary<string, Open311Remote> _remotes = remotes.ToDictionary(r => r.Department, StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(options.Value.StatusInterval, time, stoppingToken).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            if (stoppingToken.IsCancellationRequested) break;
            try
            {
                if (duty.RunsJobs) await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is DbUpdateException or InvalidOperationException or System.Data.Common.DbException or IOException)
            {
                // The store is away for a moment: the next round reads the same cases again.
                LogStoreFailed(logger, ex.GetType().Name);
            }
        }
    }

    /// <summary>One round: reads back every open forwarded case (least recently checked first); returns how many it closed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        if (_remotes.Count == 0) return 0;
        var departments = _remotes.Keys.ToList();
        List<(long Id, string Department, string RemoteId)> due;
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            var rows = await db.Cases.AsNoTracking()
                .Where(c => c.RemoteRequestId != null && c.RemoteDepartmentId != null && departments.Contains(c.RemoteDepartmentId) && c.State != CaseStates.Closed)
                .OrderBy(c => c.RemoteCheckedAt ?? 0).ThenBy(c => c.Id).Take(Batch)
                .Select(c => new { c.Id, c.RemoteDepartmentId, c.RemoteRequestId }).ToListAsync(ct);
            due = rows.Select(r => (r.Id, r.RemoteDepartmentId!, r.RemoteRequestId!)).ToList();
        }

        var closed = 0;
        using var client = http.CreateClient(HttpDelivery.ClientName);
        foreach (var (id, department, remoteId) in due)
        {
            var remote = _remotes[department];
            string? status;
            var requestId = remoteId;
            try
            {
                if (remoteId.StartsWith(Open311Remote.TokenPrefix, StringComparison.Ordinal))
                {
                    requestId = await GetFieldAsync(client, remote.TokenUrl(remoteId[Open311Remote.TokenPrefix.Length..]), "service_request_id", ct);
                    // Not yet given an id (the remote files tokens later): asked again next round.
                    if (requestId is null || !Open311Remote.IsId(requestId)) continue;
                }

                status = await GetFieldAsync(client, remote.RequestUrl(requestId), "status", ct);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                LogRemoteFailed(logger, department, id, ex.GetType().Name);
                continue;
            }

            if (status is null) continue;
            status = status.Trim().ToLowerInvariant();
            if (status.Length > 20) status = status[..20];
            await using (var db = await dbs.CreateDbContextAsync(ct))
            {
                var now = time.GetUtcNow().ToUnixTimeMilliseconds();
                await db.Cases.Where(c => c.Id == id && c.RemoteDepartmentId == department && c.RemoteRequestId == remoteId)
                    .ExecuteUpdateAsync(u => u.SetProperty(c => c.RemoteRequestId, requestId).SetProperty(c => c.RemoteStatus, status).SetProperty(c => c.RemoteCheckedAt, now), ct);
            }

            if (status == "closed")
            {
                var result = await cases.CloseAsync(id, $"closed in {desk.DepartmentName(department)}'s system", "system", ct);
                if (result.Succeeded)
                {
                    closed++;
                    LogClosed(logger, id, department);
                }
            }
        }

        return closed;
    }

    /// <summary>A field of the first record of a GeoReport answer; null for an answer that is not a success or lacks it.</summary>
    private static async Task<string?> GetFieldAsync(HttpClient client, Uri url, string field, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("application/json");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        if (!response.IsSuccessStatusCode) return null;
        return Open311Remote.FirstField(await response.Content.ReadAsStringAsync(ct), field);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Case {CaseId} closed: its request in {Department}'s Open311 system is closed")]
    private static partial void LogClosed(ILogger logger, long caseId, string department);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading case {CaseId} back from {Department}'s Open311 system failed ({Error}); tried again next round")]
    private static partial void LogRemoteFailed(ILogger logger, string department, long caseId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Open311 read-back could not reach the store ({Error}); tried again next round")]
    private static partial void LogStoreFailed(ILogger logger, string error);
}
