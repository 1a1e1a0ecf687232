using System.Security.Cryptography;
using CivicLens.Reports.Cases;
using CivicLens.Server.Hosting;
using CivicLens.Server.Ingest;
using CivicLens.Server.Reports;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Secrets;
using Microsoft.EntityFrameworkCore;
using MimeKit;

namespace CivicLens.Server.Outbox;

/// <summary>
/// Tells reporters the outcome of what they reported, by email through the shared <see cref="SmtpSender"/>: one
/// <see cref="ReporterUpdate"/> per report whose reporter agreed. The address is read from the report and unsealed
/// only here, at send time, so it never sits in the outbox; a contact deleted meanwhile (retention) sends nothing.
/// </summary>
public sealed class ReporterEmailChannel(IDbContextFactory<CivicLensDb> dbs, SecretBox secrets, SmtpSender sender, ServerOptions options, TimeProvider time)
    : IOutboxChannel
{
    public const string ChannelName = "reporter:email";

    public string Name => ChannelName;

    /// <summary>Whether a contact is an email address (the only kind messaged: there is no SMS channel).</summary>
    public static bool IsEmail(string contact) =>
        MailboxAddress.TryParse(contact, out var m) && m.Address.IndexOf('@', StringComparison.Ordinal) > 0 && m.Domain.Length > 0
        && !m.Address.Any(char.IsWhiteSpace) && !string.IsNullOrEmpty(m.LocalPart);

    public async Task<DeliveryResult> DeliverAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (ReporterUpdate.Parse(message.Payload) is not { } update) return DeliveryResult.Failed("payload is not a reporter update", channelDown: false);
        string? contactSealed;
        string? token;
        try
        {
            await using var db = await dbs.CreateDbContextAsync(cancellationToken);
            var r = await db.Reports.AsNoTracking().Where(x => x.Id == update.ReportId)
                .Select(x => new { x.ContactSealed, x.ContactDeletedAt, x.NotifyReporter, x.Token }).FirstOrDefaultAsync(cancellationToken);
            contactSealed = r is { NotifyReporter: true, ContactDeletedAt: null } ? r.ContactSealed : null;
            token = r?.Token;
        }
        catch (Exception ex) when (StoreHealth.IsStoreFailure(ex))
        {
            return DeliveryResult.Failed("store unreachable", channelDown: true);
        }

        // The report or its contact is gone since (retention, the reporter's wish): nothing to send, nothing to retry.
        if (contactSealed is null || token is null) return DeliveryResult.Success;
        string contact;
        try
        {
            contact = secrets.OpenText(Convert.FromBase64String(contactSealed), ReportIntake.ContactPurpose);
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            return DeliveryResult.Failed("the contact cannot be unsealed (another data key?)", channelDown: false);
        }

        if (!IsEmail(contact)) return DeliveryResult.Success;
        using var mail = Compose(update, StatusLink(token), sender.From, MailboxAddress.Parse(contact), time.GetUtcNow());
        return await sender.SendAsync(mail, cancellationToken);
    }

    private string? StatusLink(string token) => options.PublicUrl is { } u ? PublicAddress.Of(u) + "/status/" + token : null;

    /// <summary>The message: the category, the place, the outcome and the report's status link; one recipient, nothing of anyone else.</summary>
    public static MimeMessage Compose(ReporterUpdate update, string? statusLink, MailboxAddress from, MailboxAddress to, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(update);
        ArgumentNullException.ThrowIfNull(from);
        var domain = from.Domain is { Length: > 0 } d ? d : "civiclens.invalid";
        var outcome = update.Outcome == CaseStates.Fixed ? "fixed" : "closed";
        var mail = new MimeMessage
        {
            Subject = $"Your report: {OneLine(update.CategoryName)} at {OneLine(update.Place)} is {outcome}",
            MessageId = $"reporter-{update.Id:N}@{domain}",
            Date = now,
        };
        mail.From.Add(from);
        mail.To.Add(to);
        mail.Headers.Add("Auto-Submitted", "auto-generated");
        mail.Headers.Add(EmailChannel.EventIdHeader, update.Id.ToString("D"));
        var text = $"The problem you reported ({OneLine(update.CategoryName)}, {OneLine(update.Place)}) is {outcome}"
            + $" ({CaseStates.PublicWording(update.Outcome)}, {DepartmentNotice.Time(update.At)}).\n"
            + (statusLink is null ? "" : $"\nIts status: {statusLink}\n")
            + "\n-- \nSent by CivicLens once, because you asked for it when you reported. No other message will follow.\n";
        mail.Body = new TextPart("plain") { Text = text };
        return mail;
    }

    private static string OneLine(string text) => new(text.Trim().Select(c => char.IsControl(c) ? ' ' : c).ToArray());
}
