using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using CivicLens.Storage.Entities;
using MimeKit;

namespace CivicLens.Server.Outbox;

/// <summary>
/// Tells one department of its cases by email: each <see cref="DepartmentNotice"/> becomes a plain-text and HTML
/// message to the department's addresses (what, where, due by, the case link) sent through the shared
/// <see cref="SmtpSender"/>. Its Message-Id is derived from the notice id, so a re-delivery (at least once) is the
/// same message to the receiving mail system; mails of one case thread together through their References.
/// </summary>
public sealed class EmailChannel : IOutboxChannel
{
    public const string EventIdHeader = "X-CivicLens-Event-Id";
    public const string CaseHeader = "X-CivicLens-Case";
    private const int MaxTitle = 150;

    private readonly IReadOnlyList<MailboxAddress> _to;
    private readonly SmtpSender _sender;
    private readonly TimeProvider _time;

    public EmailChannel(string department, IReadOnlyList<MailboxAddress> to, SmtpSender sender, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(department);
        ArgumentNullException.ThrowIfNull(to);
        if (to.Count == 0) throw new ArgumentException("An email channel needs at least one address.", nameof(to));
        _to = to;
        _sender = sender;
        _time = time;
        Name = ChannelName(department);
    }

    public string Name { get; }

    public static string ChannelName(string department) => "email:" + department;

    public async Task<DeliveryResult> DeliverAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (DepartmentNotice.Parse(message.Payload) is not { } notice) return DeliveryResult.Failed("payload is not a department notice", channelDown: false);
        using var mail = Compose(notice, _sender.From, _to, _time.GetUtcNow());
        return await _sender.SendAsync(mail, cancellationToken);
    }

    /// <summary>The message for a notice. Its headers carry the case, never anything about who reported it.</summary>
    public static MimeMessage Compose(DepartmentNotice notice, MailboxAddress from, IEnumerable<MailboxAddress> to, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(notice);
        ArgumentNullException.ThrowIfNull(from);
        var domain = from.Domain is { Length: > 0 } d ? d : "civiclens.invalid";
        var mail = new MimeMessage
        {
            Subject = Subject(notice),
            MessageId = MessageId(notice.Id, domain),
            Date = now,
        };
        mail.From.Add(from);
        mail.To.AddRange(to);
        mail.References.Add($"case-{notice.CaseId.ToString(CultureInfo.InvariantCulture)}@{domain}");
        // RFC 3834: a machine wrote it, so vacation responders stay quiet.
        mail.Headers.Add("Auto-Submitted", "auto-generated");
        mail.Headers.Add(EventIdHeader, notice.Id.ToString("D"));
        mail.Headers.Add(CaseHeader, notice.CaseId.ToString(CultureInfo.InvariantCulture));
        mail.Body = new BodyBuilder { TextBody = Text(notice), HtmlBody = Html(notice) }.ToMessageBody();
        return mail;
    }

    /// <summary><c>[CivicLens] Category: Title (case 42)</c>, on one line.</summary>
    public static string Subject(DepartmentNotice notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        var title = OneLine(notice.Title);
        if (title.Length > MaxTitle) title = title[..MaxTitle] + "…";
        return $"[CivicLens] {OneLine(notice.CategoryName)}: {title} (case {notice.CaseId.ToString(CultureInfo.InvariantCulture)})";
    }

    /// <summary>The Message-Id of a notice's mail (without angle brackets): the same for every delivery of one notice.</summary>
    public static string MessageId(Guid noticeId, string domain) => $"notice-{noticeId:N}@{domain}";

    private static string Lead(DepartmentNotice n) => n.Kind switch
    {
        "case.opened" => "New case",
        "case.report-added" => "Another report on a case",
        "case.escalated" => "Case escalated",
        "case.reopened" => "Case reopened",
        _ => "Case update",
    };

    /// <summary>The lines of the body as (label, value) pairs; a null label is a paragraph.</summary>
    private static List<(string? Label, string Value)> Lines(DepartmentNotice n)
    {
        var lines = new List<(string?, string)>
        {
            (null, $"{Lead(n)} for {n.DepartmentName}: {n.CategoryName}, {n.Title} (case {n.CaseId.ToString(CultureInfo.InvariantCulture)})"),
        };
        if (!string.IsNullOrWhiteSpace(n.Description)) lines.Add(("What", n.Description.Trim()));
        lines.Add(("Where", n.Place));
        if (MapLink(n) is { } map) lines.Add(("Map", map));
        lines.Add(("Reported", DepartmentNotice.Time(n.At)));
        if (n.DueAt is { } due) lines.Add(("Due by", DepartmentNotice.Time(due)));
        if (!string.IsNullOrWhiteSpace(n.Reason)) lines.Add(("Why you", n.Reason.Trim()));
        if (CaseLink(n) is { } link) lines.Add(("Open the case", link));
        return lines;
    }

    private const string Footer = "Sent by CivicLens. It says nothing about who reported the problem; answer through the case, not by replying.";

    private static string Text(DepartmentNotice n)
    {
        var text = new StringBuilder();
        foreach (var (label, value) in Lines(n))
        {
            text.Append(label is null ? value + "\n" : $"\n{label}: {value}");
        }

        return text.Append("\n\n-- \n").Append(Footer).Append('\n').ToString();
    }

    private static string Html(DepartmentNotice n)
    {
        var html = new StringBuilder("<!DOCTYPE html><html><body style=\"font-family:sans-serif\">");
        var rows = new StringBuilder();
        foreach (var (label, value) in Lines(n))
        {
            if (label is null)
            {
                html.Append("<p><strong>").Append(WebUtility.HtmlEncode(value)).Append("</strong></p>");
                continue;
            }

            var cell = label is "Map" or "Open the case"
                ? $"<a href=\"{WebUtility.HtmlEncode(value)}\">{WebUtility.HtmlEncode(label == "Map" ? "open the map" : value)}</a>"
                : WebUtility.HtmlEncode(value).Replace("\n", "<br>", StringComparison.Ordinal);
            rows.Append("<tr><th align=\"left\" valign=\"top\">").Append(WebUtility.HtmlEncode(label)).Append("</th><td>").Append(cell).Append("</td></tr>");
        }

        return html.Append("<table cellpadding=\"4\">").Append(rows).Append("</table><p style=\"color:#666\">")
            .Append(WebUtility.HtmlEncode(Footer)).Append("</p></body></html>").ToString();
    }

    private static string? MapLink(DepartmentNotice n)
    {
        if (n.Pin is not var (lat, lon)) return null;
        var la = lat.ToString("0.######", CultureInfo.InvariantCulture);
        var lo = lon.ToString("0.######", CultureInfo.InvariantCulture);
        return $"https://www.openstreetmap.org/?mlat={la}&mlon={lo}#map=19/{la}/{lo}";
    }

    private static string? CaseLink(DepartmentNotice n) =>
        Uri.TryCreate(n.CaseUrl, UriKind.Absolute, out var u) && u.Scheme is "https" or "http" ? u.AbsoluteUri : null;

    private static string OneLine(string text)
    {
        var chars = text.Trim().ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsControl(chars[i])) chars[i] = ' ';
        }

        return new string(chars);
    }
}
