using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using CivicLens.Server.Hosting;
using CivicLens.Server.Outbox;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace CivicLens.Server.Tests;

/// <summary>
/// Departments told of their cases through the outbox: by email through a real SMTP server (the aiosmtpd sink) and
/// by Open311 GeoReport v2 forwarding to a real HTTP receiver, with the failures each protocol can answer, and the
/// start refusing configurations that cannot work or would leak.
/// </summary>
public sealed class DepartmentDeliveryTests
{
    private const string From = "CivicLens <civiclens@city.example>";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static void Fast(WebApplicationBuilder builder) => FastOutbox.Configure(builder, TimeSpan.FromSeconds(5));

    private static Func<ServerOptions, ServerOptions> Mail(int port, params DepartmentDelivery[] deliveries) =>
        o => o with { Smtp = new SmtpTarget("127.0.0.1", port, From, SmtpSecurity.None), DepartmentDeliveries = deliveries };

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Email_NoticeInOutbox_ArrivesToEveryAddressWithCaseDetailsAndNothingElse(string provider)
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var server = await TestServer.StartAsync(provider, Mail(sink.Port,
            new DepartmentDelivery("works-safety", "email", "works@city.example"), new DepartmentDelivery("works-safety", "email", "Works Desk <works-desk@city.example>")), Fast);
        var notice = Notice();
        // A payload carrying more than a notice (a routing bug): the extra fields must not travel.
        var payload = JsonSerializer.SerializeToNode(notice, JsonSerializerOptions.Web)!.AsObject();
        payload["reporterEmail"] = "jane.doe@private.example";
        payload["reporterName"] = "Jane Doe";

        await InsertAsync(server, EmailChannel.ChannelName("works-safety"), notice.Id, payload.ToJsonString());
        await Eventually.TrueAsync(() => Rows(server).Single().DeliveredAt is not null, Deadline, "the email row marked delivered");

        var received = Assert.Single(sink.Messages());
        Assert.Equal("civiclens@city.example", received.MailFrom);
        Assert.Equal(["works-desk@city.example", "works@city.example"], received.Recipients.Order(StringComparer.Ordinal));
        using var mail = MimeMessage.Load(new MemoryStream(received.Data));
        Assert.Equal("[CivicLens] Rubbish dumped: Mattress left beside the bins (case 4711)", mail.Subject);
        Assert.Equal($"notice-{notice.Id:N}@city.example", mail.MessageId);
        Assert.Equal(["civiclens@city.example"], mail.From.Mailboxes.Select(m => m.Address));
        Assert.Equal(["works@city.example", "works-desk@city.example"], mail.To.Mailboxes.Select(m => m.Address));
        Assert.Equal(notice.Id.ToString("D"), mail.Headers[EmailChannel.EventIdHeader]);
        Assert.Equal("auto-generated", mail.Headers["Auto-Submitted"]);
        Assert.Contains("case-4711@city.example", mail.References);

        var text = mail.TextBody;
        Assert.Contains("New case for Construction Works Inspection", text, StringComparison.Ordinal);
        Assert.Contains("What: A mattress and two bags, blocking half the pavement.", text, StringComparison.Ordinal);
        Assert.Contains("Where: North gate works, campus", text, StringComparison.Ordinal);
        Assert.Contains("Map: https://www.openstreetmap.org/?mlat=53.8001&mlon=-1.5481", text, StringComparison.Ordinal);
        Assert.Contains("Due by: 2026-11-26 17:00 UTC+01:00", text, StringComparison.Ordinal);
        Assert.Contains("Open the case: https://ops.city.example/cases/4711", text, StringComparison.Ordinal);
        var html = mail.HtmlBody;
        Assert.Contains("href=\"https://ops.city.example/cases/4711\"", html, StringComparison.Ordinal);
        Assert.Contains("A mattress and two bags, blocking half the pavement.", html, StringComparison.Ordinal);
        // Nothing about the reporter anywhere in what crossed the wire, headers included.
        Assert.DoesNotContain("jane", received.Text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("private.example", received.Text, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, Rows(server).Single().Attempts);
    }

    [Fact]
    public async Task Email_HtmlInNotice_IsEscapedInTheHtmlPart()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var server = await TestServer.StartAsync(tweak: Mail(sink.Port, new DepartmentDelivery("parking", "email", "parking@city.example")), configure: Fast);
        var notice = Notice() with { Department = "parking", Title = "Van <script>alert(1)</script>", Description = "<img src=x onerror=alert(1)>" };

        await InsertAsync(server, EmailChannel.ChannelName("parking"), notice.Id, Json(notice));
        await Eventually.TrueAsync(() => sink.Messages().Count == 1, Deadline, "the mail with markup in its title");

        using var mail = MimeMessage.Load(new MemoryStream(sink.Messages()[0].Data));
        Assert.DoesNotContain("<script>", mail.HtmlBody, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", mail.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", mail.HtmlBody, StringComparison.Ordinal);
        Assert.Equal("[CivicLens] Rubbish dumped: Van <script>alert(1)</script> (case 4711)", mail.Subject);
    }

    [Fact]
    public async Task Email_MailServerDown_RowRetriedAndDeliveredOnceWhenItIsUp()
    {
        var port = RtspCamera.FreeTcpPort();
        await using var server = await TestServer.StartAsync(tweak: Mail(port, new DepartmentDelivery("parking", "email", "parking@city.example")), configure: Fast);
        var notice = Notice() with { Department = "parking" };

        await InsertAsync(server, EmailChannel.ChannelName("parking"), notice.Id, Json(notice));
        await Eventually.TrueAsync(() => Rows(server).Single().Attempts >= 2, Deadline, "two failed attempts while no mail server listens");
        var pending = Rows(server).Single();
        Assert.Null(pending.DeliveredAt);
        Assert.Equal("SMTP ConnectionRefused", pending.LastError);

        await using var sink = await SmtpSink.StartAsync(port);
        await Eventually.TrueAsync(() => Rows(server).Single().DeliveredAt is not null, Deadline, "the row delivered once the mail server is up");
        // Later rounds leave a delivered row alone: one message, one Message-Id.
        var rounds = server.Service<OutboxStatus>().Rounds;
        await Eventually.TrueAsync(() => server.Service<OutboxStatus>().Rounds >= rounds + 5, Deadline, "five more dispatch rounds");
        var received = Assert.Single(sink.Messages());
        using var mail = MimeMessage.Load(new MemoryStream(received.Data));
        Assert.Equal($"notice-{notice.Id:N}@city.example", mail.MessageId);
    }

    [Fact]
    public async Task Email_MailServerRestartsBetweenMessages_NextMessageGoesOnANewConnection()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var server = await TestServer.StartAsync(tweak: Mail(sink.Port, new DepartmentDelivery("parking", "email", "parking@city.example")), configure: Fast);
        var first = Notice() with { Department = "parking" };
        await InsertAsync(server, EmailChannel.ChannelName("parking"), first.Id, Json(first));
        await Eventually.TrueAsync(() => sink.Messages().Count == 1, Deadline, "the first mail");

        // The kept connection dies with the server; the next message must not be lost to it.
        await sink.StopAsync();
        await sink.RestartAsync();
        var second = Notice() with { Department = "parking", CaseId = 4712 };
        await InsertAsync(server, EmailChannel.ChannelName("parking"), second.Id, Json(second));
        await Eventually.TrueAsync(() => Rows(server).All(r => r.DeliveredAt is not null), Deadline, "both rows delivered");
        Assert.Equal(2, sink.Messages().Count);
        Assert.Equal(0, Rows(server).Sum(r => r.Attempts));
    }

    [Fact]
    public async Task Email_RecipientRefused550_MessageFailsWithShortErrorAndOthersStillGo()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var server = await TestServer.StartAsync(tweak: Mail(sink.Port,
            new DepartmentDelivery("gone", "email", "reject-gone@city.example"), new DepartmentDelivery("parking", "email", "parking@city.example")), configure: Fast);
        var refused = Notice() with { Department = "gone" };
        var fine = Notice() with { Department = "parking", CaseId = 4712 };

        await InsertAsync(server, EmailChannel.ChannelName("gone"), refused.Id, Json(refused));
        await InsertAsync(server, EmailChannel.ChannelName("parking"), fine.Id, Json(fine));
        await Eventually.TrueAsync(() => Rows(server) is var r && r[0].Attempts >= 1 && r[1].DeliveredAt is not null, Deadline, "the refused row failed and the other delivered");

        var failed = Rows(server)[0];
        Assert.Null(failed.DeliveredAt);
        Assert.Equal("SMTP 550 recipient refused", failed.LastError);
        var received = Assert.Single(sink.Messages());
        Assert.Equal(["parking@city.example"], received.Recipients);
    }

    [Fact]
    public async Task Email_RecipientDeferred451_ChannelHeldAndRetried()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var server = await TestServer.StartAsync(tweak: Mail(sink.Port, new DepartmentDelivery("busy", "email", "tempfail-busy@city.example")), configure: Fast);
        var notice = Notice() with { Department = "busy" };

        await InsertAsync(server, EmailChannel.ChannelName("busy"), notice.Id, Json(notice));
        await Eventually.TrueAsync(() => Rows(server).Single().Attempts >= 3, Deadline, "three attempts against the deferring server");
        Assert.Equal("SMTP 451 recipient refused", Rows(server).Single().LastError);
        Assert.Empty(sink.Messages());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Email_OverTlsToARelayWithTheCitysOwnCa_IsDeliveredWithThatCa_AndRefusedWithoutIt(bool implicitTls)
    {
        using var dir = new TempDirectory();
        var (ca, certificate, key) = CityCa(dir.Path);
        await using var sink = await SmtpSink.StartAsync(tls: new SinkTls(certificate, key, implicitTls));
        var security = implicitTls ? SmtpSecurity.Tls : SmtpSecurity.StartTls;
        Func<ServerOptions, ServerOptions> Tls(string? trusted) => o => Mail(sink.Port, new DepartmentDelivery("parking", "email", "parking@city.example"))(o) with
        {
            Smtp = new SmtpTarget("127.0.0.1", sink.Port, From, security, TrustedCaFile: trusted),
        };

        // The system does not know the city's CA: the mail waits, and the row says why.
        await using (var untrusted = await TestServer.StartAsync(tweak: Tls(null), configure: Fast))
        {
            var refused = Notice() with { Department = "parking" };
            await InsertAsync(untrusted, EmailChannel.ChannelName("parking"), refused.Id, Json(refused));
            await Eventually.TrueAsync(() => Rows(untrusted).Single().Attempts >= 1, Deadline, "an attempt against the untrusted certificate");
            Assert.Null(Rows(untrusted).Single().DeliveredAt);
            Assert.Contains("not trusted", Rows(untrusted).Single().LastError, StringComparison.Ordinal);
        }

        Assert.Empty(sink.Messages());

        // With --smtp-ca naming it, the same relay takes the mail over TLS.
        await using var server = await TestServer.StartAsync(tweak: Tls(ca), configure: Fast);
        var notice = Notice() with { Department = "parking" };
        await InsertAsync(server, EmailChannel.ChannelName("parking"), notice.Id, Json(notice));
        await Eventually.TrueAsync(() => Rows(server).Single().DeliveredAt is not null, Deadline, "the mail delivered over TLS");
        var received = Assert.Single(sink.Messages());
        Assert.Equal(["parking@city.example"], received.Recipients);
    }

    /// <summary>A city's own CA and the relay's certificate for 127.0.0.1 that it signed, as PEM files: (CA, certificate, key).</summary>
    private static (string Ca, string Certificate, string Key) CityCa(string dir)
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Sample District Internal CA", caKey,
            HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var caCertificate = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=relay.sample-district.example", key,
            HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var relay = request.Create(caCertificate, now.AddHours(-1), now.AddDays(7), [1, 2, 3, 4, 5, 6, 7, 8]);

        var paths = (Path.Combine(dir, "city-ca.pem"), Path.Combine(dir, "relay.pem"), Path.Combine(dir, "relay.key"));
        File.WriteAllText(paths.Item1, caCertificate.ExportCertificatePem());
        File.WriteAllText(paths.Item2, relay.ExportCertificatePem());
        File.WriteAllText(paths.Item3, key.ExportPkcs8PrivateKeyPem());
        return paths;
    }

    [Fact]
    public async Task Email_LoginRequired_RightPasswordSendsWrongOneRetries()
    {
        await using var sink = await SmtpSink.StartAsync(user: "civiclens", password: "sink password 1");
        await using (var server = await TestServer.StartAsync(tweak: o => Mail(sink.Port, new DepartmentDelivery("parking", "email", "parking@city.example"))(o) with
        {
            Smtp = new SmtpTarget("127.0.0.1", sink.Port, From, SmtpSecurity.None, "civiclens", "sink password 1"),
        }, configure: Fast))
        {
            var notice = Notice() with { Department = "parking" };
            await InsertAsync(server, EmailChannel.ChannelName("parking"), notice.Id, Json(notice));
            await Eventually.TrueAsync(() => Rows(server).Single().DeliveredAt is not null, Deadline, "the mail sent after logging in");
            Assert.True(Assert.Single(sink.Messages()).Authenticated);
        }

        await using var wrong = await TestServer.StartAsync(tweak: o => Mail(sink.Port, new DepartmentDelivery("parking", "email", "parking@city.example"))(o) with
        {
            Smtp = new SmtpTarget("127.0.0.1", sink.Port, From, SmtpSecurity.None, "civiclens", "not the password"),
        }, configure: Fast);
        var refused = Notice() with { Department = "parking" };
        await InsertAsync(wrong, EmailChannel.ChannelName("parking"), refused.Id, Json(refused));
        await Eventually.TrueAsync(() => Rows(wrong).Single().Attempts >= 2, Deadline, "two attempts with the wrong password");
        Assert.Equal("SMTP login refused", Rows(wrong).Single().LastError);
        Assert.Single(sink.Messages());
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Open311_NoticeForwarded_AsGeoReportRequestWithoutReporterOrPhoto(string provider)
    {
        var key = ApiKey();
        await using var receiver = await Open311Receiver.StartAsync(key.Value);
        await using var server = await TestServer.StartAsync(provider,
            o => o with { DepartmentDeliveries = [new DepartmentDelivery("parking", "open311", receiver.BaseUrl, "illegal-parking", key.Name)] }, Fast);
        var notice = Notice() with { Department = "parking", Category = "parking", CategoryName = "Illegal parking", Title = "Van on the cycle lane" };

        await InsertAsync(server, Open311ForwardChannel.ChannelName("parking"), notice.Id, Json(notice));
        await Eventually.TrueAsync(() => Rows(server).Single().DeliveredAt is not null, Deadline, "the forwarded row marked delivered");

        var request = Assert.Single(receiver.Requests);
        Assert.Equal(201, request.Answered);
        Assert.Equal("application/x-www-form-urlencoded", request.ContentType);
        Assert.Equal(key.Value, request.Form["api_key"]);
        Assert.Equal("illegal-parking", request.Form["service_code"]);
        Assert.Equal("53.8001", request.Form["lat"]);
        Assert.Equal("-1.5481", request.Form["long"]);
        Assert.StartsWith("Van on the cycle lane\n\nA mattress and two bags", request.Form["description"], StringComparison.Ordinal);
        Assert.Contains("CivicLens case 4711", request.Form["description"], StringComparison.Ordinal);
        // GeoReport's reporter fields and the staff-only photo never leave.
        Assert.Equal(["api_key", "description", "lat", "long", "service_code"], request.Form.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Open311_Forwarded_LogNamesDepartmentAndRequestButNeverUrlOrKey()
    {
        var key = ApiKey();
        var logs = new ListLoggerProvider();
        await using var receiver = await Open311Receiver.StartAsync(key.Value);
        await using var server = await TestServer.StartAsync(tweak: o => o with { DepartmentDeliveries = [new DepartmentDelivery("parking", "open311", receiver.BaseUrl, "illegal-parking", key.Name)] },
            configure: b =>
            {
                Fast(b);
                b.Logging.AddProvider(logs);
                b.Logging.AddFilter(_ => true);
            });
        var notice = Notice() with { Department = "parking" };

        await InsertAsync(server, Open311ForwardChannel.ChannelName("parking"), notice.Id, Json(notice));
        await Eventually.TrueAsync(() => Rows(server).Single().DeliveredAt is not null, Deadline, "the forwarded row marked delivered");

        var lines = logs.Lines;
        Assert.Contains(lines, l => l.Contains("forwarded case 4711 on open311:parking; the receiving system calls it SR-", StringComparison.Ordinal));
        var port = new Uri(receiver.BaseUrl).Port.ToString(CultureInfo.InvariantCulture);
        Assert.DoesNotContain(lines, l => l.Contains(key.Value, StringComparison.Ordinal) || l.Contains("requests.json", StringComparison.Ordinal) || l.Contains(":" + port, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Open311_NoPin_SendsAddressStringAndCategoryAsServiceCode()
    {
        var key = ApiKey();
        await using var receiver = await Open311Receiver.StartAsync(key.Value);
        await using var server = await TestServer.StartAsync(tweak: o => o with { DepartmentDeliveries = [new DepartmentDelivery("parking", "open311", receiver.BaseUrl, null, key.Name)] }, configure: Fast);
        var notice = Notice() with { Department = "parking", Category = "illegal-parking", Latitude = null, Longitude = null };

        await InsertAsync(server, Open311ForwardChannel.ChannelName("parking"), notice.Id, Json(notice));
        await Eventually.TrueAsync(() => Rows(server).Single().DeliveredAt is not null, Deadline, "the forwarded row without a pin delivered");

        var request = Assert.Single(receiver.Requests);
        Assert.Equal("illegal-parking", request.Form["service_code"]);
        Assert.Equal("North gate works, campus", request.Form["address_string"]);
        Assert.False(request.Form.ContainsKey("lat"));
    }

    [Fact]
    public async Task Open311_Refused400_ThatMessageFailsAndTheNextIsForwarded()
    {
        var key = ApiKey();
        await using var receiver = await Open311Receiver.StartAsync(key.Value);
        await using var server = await TestServer.StartAsync(tweak: o => o with { DepartmentDeliveries = [new DepartmentDelivery("parking", "open311", receiver.BaseUrl, null, key.Name)] }, configure: Fast);
        var unknown = Notice() with { Department = "parking", Category = "graffiti" };
        var known = Notice() with { Department = "parking", Category = "illegal-parking", CaseId = 4712 };

        await InsertAsync(server, (Open311ForwardChannel.ChannelName("parking"), unknown.Id, Json(unknown)), (Open311ForwardChannel.ChannelName("parking"), known.Id, Json(known)));
        await Eventually.TrueAsync(() => Rows(server) is var r && r[0].Attempts >= 1 && r[1].DeliveredAt is not null, Deadline, "the refused row failed, the next forwarded");

        var failed = Rows(server)[0];
        Assert.Null(failed.DeliveredAt);
        Assert.Equal("HTTP 400: service_code graffiti not found", failed.LastError);
        Assert.Equal([400, 201], receiver.Requests.Take(2).Select(r => r.Answered));
    }

    [Fact]
    public async Task Open311_WrongApiKey_RefusedAndTheKeyIsNeverStored()
    {
        var key = ApiKey();
        await using var receiver = await Open311Receiver.StartAsync("the receiver's own key", echoKey: true);
        await using var server = await TestServer.StartAsync(tweak: o => o with { DepartmentDeliveries = [new DepartmentDelivery("parking", "open311", receiver.BaseUrl, "illegal-parking", key.Name)] }, configure: Fast);
        var notice = Notice() with { Department = "parking" };

        await InsertAsync(server, Open311ForwardChannel.ChannelName("parking"), notice.Id, Json(notice));
        await Eventually.TrueAsync(() => Rows(server).Single().Attempts >= 1, Deadline, "the refused forwarding");

        var row = Rows(server).Single();
        Assert.StartsWith("HTTP 403: api_key ", row.LastError, StringComparison.Ordinal);
        Assert.DoesNotContain(key.Value, row.LastError, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", row.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open311_Answers503_ChannelHeldThenForwarded()
    {
        var key = ApiKey();
        await using var receiver = await Open311Receiver.StartAsync(key.Value, failFirst: 2);
        await using var server = await TestServer.StartAsync(tweak: o => o with { DepartmentDeliveries = [new DepartmentDelivery("parking", "open311", receiver.BaseUrl, "illegal-parking", key.Name)] }, configure: Fast);
        var notices = new[] { Notice() with { Department = "parking" }, Notice() with { Department = "parking", CaseId = 4712 } };

        await InsertAsync(server, [.. notices.Select(n => (Open311ForwardChannel.ChannelName("parking"), n.Id, Json(n)))]);
        await Eventually.TrueAsync(() => Rows(server).All(r => r.DeliveredAt is not null), Deadline, "both rows forwarded after the 503s");

        // A 503 holds the whole channel: the second row shares the failure instead of being sent into it.
        Assert.Equal([503, 503, 201, 201], receiver.Requests.Select(r => r.Answered));
        Assert.All(Rows(server), r => Assert.Equal(("HTTP 503", 2), (r.LastError, r.Attempts)));
    }

    [Fact]
    public async Task Open311_Unreachable_ChannelHeldThenForwardedWhenUp()
    {
        var key = ApiKey();
        var port = RtspCamera.FreeTcpPort();
        var baseUrl = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/open311/v2";
        await using var server = await TestServer.StartAsync(tweak: o => o with { DepartmentDeliveries = [new DepartmentDelivery("parking", "open311", baseUrl, "illegal-parking", key.Name)] }, configure: Fast);
        var notice = Notice() with { Department = "parking" };

        await InsertAsync(server, Open311ForwardChannel.ChannelName("parking"), notice.Id, Json(notice));
        await Eventually.TrueAsync(() => Rows(server).Single().Attempts >= 2, Deadline, "two attempts while nothing listens");
        Assert.Equal("HTTP ConnectionError", Rows(server).Single().LastError);

        await using var receiver = await Open311Receiver.StartAsync(key.Value, port: port);
        await Eventually.TrueAsync(() => Rows(server).Single().DeliveredAt is not null, Deadline, "the row forwarded once the receiver is up");
        Assert.Equal(201, Assert.Single(receiver.Requests).Answered);
    }

    public static TheoryData<string, string> BadConfigurations => new()
    {
        { "email to a bad address", "is not an email address" },
        { "open311 over http beyond loopback", "must use https" },
        { "open311 with credentials in its URL", "no credentials" },
        { "open311 without api_key_env", "needs api_key_env" },
        { "open311 with its key variable unset", "is not set" },
        { "open311 twice for one department", "twice" },
        { "webhook no --webhook names", "which no --webhook names" },
        { "unknown kind", "unknown kind" },
        { "plain smtp beyond loopback", "loopback relay only" },
        { "bad sender", "is not an email address" },
        { "smtp user without password", "or neither" },
    };

    [Theory]
    [MemberData(nameof(BadConfigurations))]
    public void Check_BadDeliveryConfiguration_RefusedWithClearMessage(string what, string expected)
    {
        var key = ApiKey();
        var smtp = new SmtpTarget("127.0.0.1", 2525, "civiclens@city.example", SmtpSecurity.None);
        var ok311 = new DepartmentDelivery("parking", "open311", "https://311.city.example/v2", "p", key.Name);
        var options = new ServerOptions { DataDirectory = "/nonexistent" };
        options = what switch
        {
            "email to a bad address" => options with { Smtp = smtp, DepartmentDeliveries = [new DepartmentDelivery("parking", "email", "parking at city")] },
            "open311 over http beyond loopback" => options with { DepartmentDeliveries = [ok311 with { Target = "http://311.city.example/v2" }] },
            "open311 with credentials in its URL" => options with { DepartmentDeliveries = [ok311 with { Target = "https://u:p@311.city.example/v2" }] },
            "open311 without api_key_env" => options with { DepartmentDeliveries = [ok311 with { ApiKeyEnv = null }] },
            "open311 with its key variable unset" => options with { DepartmentDeliveries = [ok311 with { ApiKeyEnv = "CIVICLENS_TEST_UNSET_" + Guid.NewGuid().ToString("N") }] },
            "open311 twice for one department" => options with { DepartmentDeliveries = [ok311, ok311 with { Target = "https://other.city.example/" }] },
            "webhook no --webhook names" => options with { DepartmentDeliveries = [new DepartmentDelivery("parking", "webhook", "works")] },
            "unknown kind" => options with { DepartmentDeliveries = [new DepartmentDelivery("parking", "fax", "+44 1")] },
            "plain smtp beyond loopback" => options with { Smtp = smtp with { Host = "smtp.city.example" } },
            "bad sender" => options with { Smtp = smtp with { From = "civiclens" } },
            "smtp user without password" => options with { Smtp = smtp with { UserName = "civiclens" } },
            _ => throw new ArgumentException(what),
        };

        var ex = Assert.Throws<StartupException>(() => OutboxSetup.Check(options));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        // The api key itself never appears in a message.
        Assert.DoesNotContain(key.Value, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_GoodDeliveryConfiguration_Accepted()
    {
        var key = ApiKey();
        var options = new ServerOptions
        {
            DataDirectory = "/nonexistent",
            Smtp = new SmtpTarget("smtp.city.example", 587, "CivicLens <civiclens@city.example>", SmtpSecurity.StartTls, "civiclens", "pw"),
            Webhooks = [new WebhookTarget("works", new Uri("https://works.city.example/hook"), "a secret of enough length")],
            DepartmentDeliveries =
            [
                new DepartmentDelivery("parking", "email", "parking@city.example"),
                new DepartmentDelivery("parking", "open311", "http://127.0.0.1:9/open311/v2", null, key.Name),
                new DepartmentDelivery("works-safety", "webhook", "works"),
            ],
        };

        OutboxSetup.Check(options);
        Assert.DoesNotContain("pw", options.Smtp!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_Open311KeyVariableUnset_RefusedBeforeServing()
    {
        var unset = "CIVICLENS_TEST_UNSET_" + Guid.NewGuid().ToString("N");
        var ex = await Assert.ThrowsAsync<StartupException>(() => TestServer.StartAsync(tweak: o => o with
        {
            DepartmentDeliveries = [new DepartmentDelivery("parking", "open311", "https://311.city.example/v2", "p", unset)],
        }));
        Assert.Equal($"Department 'parking': the environment variable {unset} (its Open311 api key) is not set.", ex.Message);
    }

    [Fact]
    public async Task Start_EmailDeliveryWithoutMailServer_ServesAndNoticesWaitInTheOutbox()
    {
        await using var server = await TestServer.StartAsync(tweak: o => o with { DepartmentDeliveries = [new DepartmentDelivery("parking", "email", "parking@city.example")] }, configure: Fast);
        var notice = Notice() with { Department = "parking" };

        await InsertAsync(server, EmailChannel.ChannelName("parking"), notice.Id, Json(notice));
        var rounds = server.Service<OutboxStatus>().Rounds;
        await Eventually.TrueAsync(() => server.Service<OutboxStatus>().Rounds >= rounds + 5, Deadline, "five dispatch rounds");

        // No channel delivers it, none fails it: it waits, untouched, for a mail server to be configured.
        var row = Rows(server).Single();
        Assert.Equal((null, 0, null), (row.DeliveredAt, row.Attempts, row.LastError));
    }

    private static DepartmentNotice Notice() => new(
        Guid.NewGuid(), "case.opened", 4711, "works-safety", "Construction Works Inspection", "dumping", "Rubbish dumped", "Mattress left beside the bins",
        "A mattress and two bags, blocking half the pavement.", "campus", "North gate works", 53.8001, -1.5481,
        new DateTimeOffset(2026, 11, 23, 14, 5, 0, TimeSpan.FromHours(1)), new DateTimeOffset(2026, 11, 26, 17, 0, 0, TimeSpan.FromHours(1)),
        "https://ops.city.example/cases/4711/photo", "https://ops.city.example/cases/4711", "owns dumping in campus");

    private static string Json(DepartmentNotice notice) => JsonSerializer.Serialize(notice, JsonSerializerOptions.Web);

    /// <summary>A fresh environment variable holding an api key (process-wide, so each test its own name).</summary>
    private static (string Name, string Value) ApiKey()
    {
        var name = "CIVICLENS_TEST_OPEN311_KEY_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        var value = "key-" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, value);
        return (name, value);
    }

    private static Task InsertAsync(TestServer server, string channel, Guid eventId, string payload) => InsertAsync(server, (channel, eventId, payload));

    /// <summary>Rows committed together (so one dispatch round sees them all), in this order.</summary>
    private static async Task InsertAsync(TestServer server, params (string Channel, Guid EventId, string Payload)[] rows)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        await using var tx = await db.Database.BeginTransactionAsync();
        foreach (var (channel, eventId, payload) in rows)
        {
            db.Outbox.Add(new OutboxMessage { Channel = channel, EventId = eventId, Payload = payload, CreatedAt = now, NextAttemptAt = now });
            // One save each: ids in this order on every provider.
            await db.SaveChangesAsync();
        }

        await tx.CommitAsync();
    }

    private static List<OutboxMessage> Rows(TestServer server)
    {
        using var db = server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContext();
        return [.. db.Outbox.AsNoTracking().OrderBy(o => o.Id)];
    }

    /// <summary>Keeps every formatted log line (with its exception) of the server under test.</summary>
    private sealed class ListLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{category}: {formatter(state, exception)} {exception}");
        }
    }

    private sealed record Open311Request(string? ContentType, Dictionary<string, string> Form, int Answered);

    /// <summary>
    /// A GeoReport v2 server on loopback: <c>POST /open311/v2/requests.json</c>, form-encoded, checks the api key (403),
    /// the service code (400) and a place (lat/long in range, or address_string), answers 201 with a service_request_id.
    /// </summary>
    private sealed class Open311Receiver : IAsyncDisposable
    {
        private static readonly string[] Services = ["illegal-parking", "dumping"];
        private readonly WebApplication _app;
        private int _count;

        private Open311Receiver(string apiKey, int failFirst, bool echoKey, int port)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
            _app = builder.Build();
            _app.MapPost("/open311/v2/requests.json", async (HttpContext c) =>
            {
                var n = Interlocked.Increment(ref _count);
                var form = c.Request.HasFormContentType ? (await c.Request.ReadFormAsync()).ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal) : [];
                var (status, body) = Answer(form);
                if (n <= failFirst) (status, body) = (503, "");
                Requests.Enqueue(new Open311Request(c.Request.ContentType, form, status));
                return Results.Text(body, "application/json", statusCode: status);
            });

            (int, string) Answer(Dictionary<string, string> form)
            {
                if (!form.TryGetValue("api_key", out var key) || key != apiKey)
                {
                    // Some servers echo what they were sent: the client must not store it.
                    return (403, Error(403, echoKey ? $"api_key {key} is not valid" : "api_key is not valid"));
                }

                if (!form.TryGetValue("service_code", out var code) || !Services.Contains(code)) return (400, Error(400, $"service_code {code} not found"));
                var hasPin = form.TryGetValue("lat", out var lat) & form.TryGetValue("long", out var lon);
                if (hasPin && !(double.TryParse(lat, CultureInfo.InvariantCulture, out var la) && la is >= -90 and <= 90
                                && double.TryParse(lon, CultureInfo.InvariantCulture, out var lo) && lo is >= -180 and <= 180))
                {
                    return (400, Error(400, "lat/long out of range"));
                }

                if (!hasPin && !form.ContainsKey("address_string")) return (400, Error(400, "a location is required"));
                return (201, JsonSerializer.Serialize(new[] { new { service_request_id = "SR-" + Guid.NewGuid().ToString("N")[..8], service_notice = "" } }));
            }
        }

        public ConcurrentQueue<Open311Request> Requests { get; } = new();

        public string BaseUrl { get; private set; } = "";

        public static async Task<Open311Receiver> StartAsync(string apiKey, int failFirst = 0, bool echoKey = false, int port = 0)
        {
            var receiver = new Open311Receiver(apiKey, failFirst, echoKey, port);
            await receiver._app.StartAsync();
            receiver.BaseUrl = receiver._app.Urls.First() + "/open311/v2";
            return receiver;
        }

        private static string Error(int code, string description) => JsonSerializer.Serialize(new[] { new { code, description } });

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
