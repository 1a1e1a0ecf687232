using System.Globalization;
using System.Text;
using System.Text.Json;
using CivicLens.Server.Open311;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Outbox;

/// <summary>
/// Forwards a department's cases to another city system that speaks Open311 GeoReport v2, as ONE remote request
/// per case: the first notice of a case is a <c>POST {base}/requests.json</c>, form-encoded (<c>api_key</c>,
/// <c>service_code</c>, <c>lat</c>/<c>long</c> or <c>address_string</c>, <c>description</c>), delivered when the
/// answer names a <c>service_request_id</c> or a <c>token</c>, which is kept on the case
/// (<see cref="CaseRecord.RemoteRequestId"/>, <see cref="CaseRecord.RemoteDepartmentId"/>); the status read-back
/// (<see cref="Open311StatusPoller"/>) resolves a token and follows the request. GeoReport v2 has no verb to update
/// a request, so later notices of the case (another report, escalated, reopened) are not sent: each is written in
/// the case's history as not forwarded, and the department follows the one request it has.
/// Nothing about the reporter is sent (no <c>email</c>, names, phone or <c>device_id</c>), nor <c>media_url</c>:
/// the case's photo is for authenticated staff only.
/// </summary>
/// <remarks>
/// 4xx (but 408 and 429) fails this message; 5xx, 408, 429, a timeout or an unreachable server hold the channel.
/// Redirects are not followed. The URL and the key are never logged nor stored in an error.
/// The case is claimed for this department before the POST (and released if it fails), so two departments'
/// channels never both create a request for one case; a crash between the remote's answer and the store retries
/// the POST (at least once, like every outbox delivery).
/// </remarks>
public sealed partial class Open311ForwardChannel : IOutboxChannel
{
    private const int MaxDescription = 4000;
    private static readonly string[] AcceptanceFields = ["service_request_id", "token"];

    private readonly Open311Remote _remote;
    private readonly IHttpClientFactory _http;
    private readonly IDbContextFactory<CivicLensDb> _dbs;
    private readonly TimeProvider _time;
    private readonly ILogger<Open311ForwardChannel> _logger;

    public Open311ForwardChannel(Open311Remote remote, IHttpClientFactory http, IDbContextFactory<CivicLensDb> dbs, TimeProvider time, ILogger<Open311ForwardChannel> logger)
    {
        ArgumentNullException.ThrowIfNull(remote);
        _remote = remote;
        _http = http;
        _dbs = dbs;
        _time = time;
        _logger = logger;
        Name = ChannelName(remote.Department);
    }

    public string Name { get; }

    public static string ChannelName(string department) => "open311:" + department;

    /// <summary>The form fields of one forwarded notice (the api key first).</summary>
    public static List<KeyValuePair<string, string>> Form(DepartmentNotice notice, string? serviceCode, string apiKey)
    {
        ArgumentNullException.ThrowIfNull(notice);
        var form = new List<KeyValuePair<string, string>>
        {
            new("api_key", apiKey),
            new("service_code", serviceCode ?? notice.Category),
        };
        if (notice.Pin is var (lat, lon))
        {
            form.Add(new("lat", lat.ToString("0.#######", CultureInfo.InvariantCulture)));
            form.Add(new("long", lon.ToString("0.#######", CultureInfo.InvariantCulture)));
        }
        else
        {
            // GeoReport wants a place: without a pin, the site and area by name.
            form.Add(new("address_string", notice.Place));
        }

        form.Add(new("description", Description(notice)));
        return form;
    }

    public async Task<DeliveryResult> DeliverAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (DepartmentNotice.Parse(message.Payload) is not { } notice) return DeliveryResult.Failed("payload is not a department notice", channelDown: false);
        var held = await ClaimAsync(notice, cancellationToken);
        if (held is not null)
        {
            await NoteAsync(notice.CaseId, $"{notice.Kind} not forwarded to {notice.DepartmentName}'s Open311 system: {held}", cancellationToken);
            LogNotForwarded(_logger, Name, notice.CaseId, notice.Kind);
            return DeliveryResult.Success;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, _remote.RequestsUrl);
        request.Content = new FormUrlEncodedContent(Form(notice, _remote.ServiceCode, _remote.ApiKey));
        request.Headers.Accept.ParseAdd("application/json");
        DeliveryResult result;
        string? accepted = null;
        try
        {
            // The client's timeout (DeliveryTimeout) covers connect, send and the whole answer.
            using var client = _http.CreateClient(HttpDelivery.ClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (status is >= 200 and < 300)
            {
                accepted = Accepted(body);
                result = accepted is null ? DeliveryResult.Failed($"HTTP {status} without a service_request_id or token", channelDown: false) : DeliveryResult.Success;
            }
            else
            {
                result = DeliveryResult.Failed($"HTTP {status}{ErrorOf(body)}", HttpDelivery.ChannelDown(status));
            }
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            result = HttpDelivery.Failure(ex);
        }

        if (accepted is not null)
        {
            // Outside the HTTP failure handling: a store failure here is the store's, never a reason to release the
            // claim (the remote has the request; releasing would let the retry create a second one).
            await KeepAsync(notice, accepted, cancellationToken);
            LogForwarded(_logger, Name, notice.CaseId, accepted);
            return result;
        }

        await ReleaseAsync(notice.CaseId, CancellationToken.None);
        return result;
    }

    /// <summary>
    /// Claims the case for this department's remote request; null when this notice is to be POSTed, otherwise why
    /// not (the case already is a request there, or in another department's system). A case this server does not
    /// hold (an old notice) is forwarded as it is, with nothing kept.
    /// </summary>
    private async Task<string?> ClaimAsync(DepartmentNotice notice, CancellationToken ct)
    {
        var dept = _remote.Department;
        await using var db = await _dbs.CreateDbContextAsync(ct);
        var claimed = await db.Cases.Where(c => c.Id == notice.CaseId && (c.RemoteDepartmentId == null || (c.RemoteDepartmentId == dept && c.RemoteRequestId == null)))
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.RemoteDepartmentId, dept), ct);
        if (claimed > 0) return null;
        var remote = await db.Cases.AsNoTracking().Where(c => c.Id == notice.CaseId).Select(c => new { c.RemoteDepartmentId, c.RemoteRequestId }).FirstOrDefaultAsync(ct);
        if (remote is null) return null;
        return remote.RemoteDepartmentId == dept
            ? $"the case is its request {remote.RemoteRequestId}, and GeoReport v2 has no update"
            : $"the case is already a request in {remote.RemoteDepartmentId}'s system";
    }

    private async Task KeepAsync(DepartmentNotice notice, string remoteId, CancellationToken ct)
    {
        var dept = _remote.Department;
        var kept = remoteId.StartsWith(Open311Remote.TokenPrefix, StringComparison.Ordinal) ? "token " + remoteId[Open311Remote.TokenPrefix.Length..] : "request " + remoteId;
        // The id and the history line that says so commit together: nobody sees one without the other.
        await using var db = await _dbs.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var n = await db.Cases.Where(c => c.Id == notice.CaseId && c.RemoteDepartmentId == dept)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.RemoteRequestId, remoteId).SetProperty(c => c.RemoteStatus, (string?)null).SetProperty(c => c.RemoteCheckedAt, (long?)null), ct);
        if (n == 0) return;
        db.CaseChanges.Add(new CaseChange
        {
            CaseId = notice.CaseId,
            At = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            Actor = "system",
            Change = $"forwarded to {notice.DepartmentName}'s Open311 system as {kept}",
        });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>A failed POST gives the claim back, so the retry (or another department) may create the request.</summary>
    private async Task ReleaseAsync(long caseId, CancellationToken ct)
    {
        var dept = _remote.Department;
        await using var db = await _dbs.CreateDbContextAsync(ct);
        await db.Cases.Where(c => c.Id == caseId && c.RemoteDepartmentId == dept && c.RemoteRequestId == null)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.RemoteDepartmentId, (string?)null), ct);
    }

    private async Task NoteAsync(long caseId, string change, CancellationToken ct)
    {
        await using var db = await _dbs.CreateDbContextAsync(ct);
        if (!await db.Cases.AnyAsync(c => c.Id == caseId, ct)) return;
        db.CaseChanges.Add(new CaseChange { CaseId = caseId, At = _time.GetUtcNow().ToUnixTimeMilliseconds(), Actor = "system", Change = change });
        await db.SaveChangesAsync(ct);
    }

    private static string Description(DepartmentNotice n)
    {
        var text = new StringBuilder(n.Title.Trim());
        if (!string.IsNullOrWhiteSpace(n.Description)) text.Append("\n\n").Append(n.Description.Trim());
        text.Append("\n\nCivicLens case ").Append(n.CaseId.ToString(CultureInfo.InvariantCulture)).Append(" (").Append(n.CategoryName).Append(')');
        if (n.DueAt is { } due) text.Append(", due by ").Append(DepartmentNotice.Time(due));
        var s = text.ToString();
        return s.Length <= MaxDescription ? s : s[..MaxDescription];
    }

    /// <summary>
    /// What the server gave the request: its <c>service_request_id</c>, or <c>token:...</c> when it answered with
    /// a token only (resolved through <c>tokens/{token}.json</c> by the read-back).
    /// </summary>
    private static string? Accepted(string body)
    {
        foreach (var name in AcceptanceFields)
        {
            if (Open311Remote.FirstField(body, name) is { } id && Open311Remote.IsId(id)) return name == "token" ? Open311Remote.TokenPrefix + id : id;
        }

        return null;
    }

    /// <summary>GeoReport's error (<c>[{"code":..,"description":".."}]</c>) as a short suffix, or nothing.</summary>
    private string ErrorOf(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var first = doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.GetArrayLength() > 0 ? doc.RootElement[0] : doc.RootElement;
            if (first.ValueKind != JsonValueKind.Object || !first.TryGetProperty("description", out var d) || d.ValueKind != JsonValueKind.String) return "";
            var text = d.GetString()!.Replace(_remote.ApiKey, "***", StringComparison.Ordinal);
            text = new string([.. text.Select(c => char.IsControl(c) ? ' ' : c)]).Trim();
            return text.Length == 0 ? "" : ": " + (text.Length <= 120 ? text : text[..120]);
        }
        catch (JsonException)
        {
            return "";
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox forwarded case {CaseId} on {Channel}; the receiving system calls it {RequestId}")]
    private static partial void LogForwarded(ILogger logger, string channel, long caseId, string requestId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox did not forward {Kind} of case {CaseId} on {Channel}: the case already has its one remote request")]
    private static partial void LogNotForwarded(ILogger logger, string channel, long caseId, string kind);
}
