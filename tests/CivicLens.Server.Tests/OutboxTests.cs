using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CivicLens.Server.Api;
using CivicLens.Server.Hosting;
using CivicLens.Server.Outbox;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Events;
using CivicLens.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace CivicLens.Server.Tests;

/// <summary>
/// The transactional outbox end to end: events posted to the real server reach a real webhook receiver (signed)
/// and the test Mosquitto broker, at least once, with retries when the receiver or the broker is away.
/// </summary>
public sealed class OutboxTests
{
    private const string Secret = "outbox test secret, 32 characters";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private static void Fast(WebApplicationBuilder builder) => FastOutbox.Configure(builder, TimeSpan.FromSeconds(3));

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Webhook_IngestedEvents_ArriveOnceAsStoredAndSigned_ReplayAddsNoDelivery(string provider)
    {
        await using var receiver = await WebhookReceiver.StartAsync(_ => HttpStatusCode.OK);
        await using var server = await TestServer.StartAsync(provider, o => o with { Webhooks = [new WebhookTarget("works", receiver.Url, Secret)] }, Fast);
        var node = await NodeAsync(server);
        IngestEvent[] batch = [Event("vehicle.stationary"), Event("crowd.density"), Event("works.intrusion")];

        Assert.Equal(3, (await IngestAsync(node, batch)).New);
        await Eventually.TrueAsync(() => receiver.Requests.Count >= 3, Deadline, "the webhook receiving the 3 ingested events");

        // A replayed batch is stored before: no new outbox rows, so nothing is delivered twice.
        Assert.Equal(0, (await IngestAsync(node, batch)).New);
        Assert.Equal(3, OutboxRows(server).Count);
        // Messages are delivered oldest first: once a newer event has arrived, anything the replay had queued would have too.
        var later = Event("vehicle.stationary");
        Assert.Equal(1, (await IngestAsync(node, later)).New);
        await Eventually.TrueAsync(() => receiver.Requests.Any(r => r.EventId == later.Id.ToString("D")), Deadline, "the webhook receiving the event posted after the replay");

        var received = receiver.Requests.ToList();
        Assert.Equal(4, received.Count);
        Assert.Equal([.. batch.Select(e => e.Id), later.Id], received.Select(r => Guid.Parse(r.EventId!)));
        var stored = StoredMessages(server, [.. batch.Select(e => e.Id), later.Id]);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var r in received)
        {
            Assert.Equal("application/json", r.ContentType);
            // Exactly what the store holds for the event, and what its id header says.
            Assert.Equal(stored[Guid.Parse(r.EventId!)], r.Body);
            Assert.Equal(r.EventId, JsonDocument.Parse(r.Body).RootElement.GetProperty("id").GetString());
            // A receiver's check: the signature over "timestamp.body" with the shared secret, and a fresh timestamp.
            Assert.True(long.TryParse(r.Timestamp, out var ts) && Math.Abs(now - ts) < 300, $"timestamp {r.Timestamp} is not fresh");
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes($"{r.Timestamp}.{r.Body}")));
            Assert.Equal(expected, r.Signature);
        }

        await Eventually.TrueAsync(() => OutboxRows(server).All(m => m.DeliveredAt is not null), Deadline, "all 4 outbox rows marked delivered");
        Assert.All(OutboxRows(server), m => Assert.Equal(("webhook:works", 0), (m.Channel, m.Attempts)));
    }

    [Fact]
    public async Task Webhook_ReceiverFailsTwiceThenRecovers_EventArrivesAfterRetries()
    {
        await using var receiver = await WebhookReceiver.StartAsync(n => n <= 2 ? HttpStatusCode.InternalServerError : HttpStatusCode.OK);
        await using var server = await TestServer.StartAsync(tweak: o => o with { Webhooks = [new WebhookTarget("flaky", receiver.Url, Secret)] }, configure: Fast);
        var node = await NodeAsync(server);
        var e = Event("vehicle.stationary");

        await IngestAsync(node, e);
        await Eventually.TrueAsync(() => OutboxRows(server).Single().DeliveredAt is not null, Deadline, "the outbox row delivered after the receiver recovered");

        var row = OutboxRows(server).Single();
        Assert.Equal(2, row.Attempts);
        Assert.Equal("HTTP 500", row.LastError);
        Assert.Equal([500, 500, 200], receiver.Requests.Select(r => r.Answered));
        Assert.All(receiver.Requests, r => Assert.Equal(e.Id.ToString("D"), r.EventId));
        Assert.True(server.Service<OutboxStatus>().FailedAttempts >= 2);
    }

    [Fact]
    public async Task Mqtt_IngestedEvents_ArriveOnKindTopicsWithQos1()
    {
        var (host, port) = TestBroker();
        var prefix = "civiclens-test/" + Guid.NewGuid().ToString("N")[..8];
        await using var subscriber = await MqttSubscriber.StartAsync(host, port, prefix + "/#");
        await using var server = await TestServer.StartAsync(tweak: o => o with { Mqtt = new MqttTarget(host, port, prefix) }, configure: Fast);
        var node = await NodeAsync(server);
        IngestEvent[] batch = [Event("vehicle.stationary"), Event("crowd.density"), Event("line.crossing")];

        await IngestAsync(node, batch);
        await Eventually.TrueAsync(() => subscriber.Messages.Count >= 3, Deadline, "the subscriber receiving the 3 events");

        var stored = StoredMessages(server, [.. batch.Select(e => e.Id)]);
        foreach (var e in batch)
        {
            var m = Assert.Single(subscriber.Messages, m => m.EventId == e.Id.ToString("D"));
            Assert.Equal($"{prefix}/{e.Kind.Replace('.', '/')}", m.Topic);
            Assert.Equal(stored[e.Id], m.Payload);
            Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, m.Qos);
        }

        await Eventually.TrueAsync(() => OutboxRows(server).All(r => r.DeliveredAt is not null), Deadline, "the 3 mqtt rows marked delivered on PUBACK");
    }

    [Fact]
    public async Task Mqtt_BrokerUnreachable_RowsStayPendingAndServerAnswers_ThenDeliveredWhenItIsBack()
    {
        var (host, brokerPort) = TestBroker();
        var closedPort = FreePort();
        var prefix = "civiclens-test/" + Guid.NewGuid().ToString("N")[..8];
        await using var server = await TestServer.StartAsync(tweak: o => o with { Mqtt = new MqttTarget("127.0.0.1", closedPort, prefix) }, configure: Fast);
        var node = await NodeAsync(server);
        IngestEvent[] batch = [Event("vehicle.stationary"), Event("crowd.density")];

        await IngestAsync(node, batch);
        await Eventually.TrueAsync(() => OutboxRows(server) is { Count: 2 } rows && rows.All(r => r.Attempts > 0), Deadline, "both rows attempted against the closed port");
        Assert.All(OutboxRows(server), r =>
        {
            Assert.Null(r.DeliveredAt);
            Assert.Equal("MQTT ConnectionRefused", r.LastError);
        });

        // The server keeps answering while its broker is away: ingest and reads go on.
        var late = Event("works.intrusion");
        Assert.Equal(1, (await IngestAsync(node, late)).New);
        using var events = await (await server.StaffAsync(CivicLens.Server.Accounts.Roles.Operator)).GetAsync("/api/events");
        Assert.Equal(HttpStatusCode.OK, events.StatusCode);

        // The broker comes back on the configured port: the same client reconnects and the backlog goes out.
        await using var subscriber = await MqttSubscriber.StartAsync(host, brokerPort, prefix + "/#");
        await using var relay = TcpRelay.Start(closedPort, host, brokerPort);
        await Eventually.TrueAsync(() => OutboxRows(server).All(r => r.DeliveredAt is not null), Deadline, "the pending rows delivered once the broker is reachable");
        await Eventually.TrueAsync(() => subscriber.Messages.Count >= 3, Deadline, "the subscriber receiving the 3 events");
        // At least once: a publish whose PUBACK was lost may arrive twice, so compare the set of event ids.
        var arrived = subscriber.Messages.Select(m => Guid.Parse(m.EventId!)).ToHashSet();
        Assert.True(arrived.SetEquals([.. batch.Select(e => e.Id), late.Id]), $"arrived: {string.Join(", ", arrived)}");
    }

    [Fact]
    public async Task Purge_RowsDeliveredLongerAgoThanRetention_AreRemoved_OthersKept()
    {
        await using var server = await TestServer.StartAsync(configure: b =>
        {
            Fast(b);
            b.Services.Configure<OutboxOptions>(o => o.PurgeInterval = TimeSpan.FromMilliseconds(50));
        });
        var now = DateTimeOffset.UtcNow;
        var dbs = server.Service<IDbContextFactory<CivicLensDb>>();
        await using (var db = await dbs.CreateDbContextAsync())
        {
            db.Outbox.AddRange(
                Row("delivered 8 days ago", now.AddDays(-8), delivered: true),
                Row("delivered yesterday", now.AddDays(-1), delivered: true),
                Row("pending for 8 days", now.AddDays(-8), delivered: false));
            await db.SaveChangesAsync();
        }

        await Eventually.TrueAsync(() => OutboxRows(server).Count == 2, Deadline, "the row delivered 8 days ago purged");
        Assert.Equal(["delivered yesterday", "pending for 8 days"], OutboxRows(server).Select(r => r.Payload).Order(StringComparer.Ordinal));

        static OutboxMessage Row(string payload, DateTimeOffset at, bool delivered) => new()
        {
            // An unconfigured channel: the dispatcher leaves it alone, only the purge looks at it.
            Channel = "webhook:gone",
            EventId = Guid.NewGuid(),
            Payload = payload,
            CreatedAt = at.ToUnixTimeMilliseconds(),
            NextAttemptAt = at.ToUnixTimeMilliseconds(),
            DeliveredAt = delivered ? at.ToUnixTimeMilliseconds() : null,
        };
    }

    private static IngestEvent Event(string kind) =>
        new(Guid.NewGuid(), kind, "start", "vtest", "test-rule", "illegal-parking", DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
            Zone: "road", Label: "car", Confidence: 0.9f, Detail: "outbox test");

    private static async Task<HttpClient> NodeAsync(TestServer server)
    {
        var key = await server.ApiKeyAsync();
        var client = server.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", key);
        return client;
    }

    private static async Task<IngestResult> IngestAsync(HttpClient node, params IngestEvent[] events)
    {
        using var response = await node.PostAsJsonAsync("/api/ingest/events", new IngestBatch(events));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"ingest: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<IngestResult>())!;
    }

    private static List<OutboxMessage> OutboxRows(TestServer server)
    {
        using var db = server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContext();
        return [.. db.Outbox.AsNoTracking().OrderBy(o => o.Id)];
    }

    /// <summary>Each event's message as the store serialises it from the events table (not from the outbox).</summary>
    private static Dictionary<Guid, string> StoredMessages(TestServer server, List<Guid> ids)
    {
        using var db = server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContext();
        var records = db.Events.AsNoTracking().Where(e => ids.Contains(e.Id)).ToList();
        Assert.Equal(ids.Count, records.Count);
        return records.ToDictionary(r => r.Id, r => JsonSerializer.Serialize(EventMessage.From(r), EventMessage.JsonOptions));
    }

    private static (string Host, int Port) TestBroker()
    {
        var value = Environment.GetEnvironmentVariable("CIVICLENS_TEST_MQTT");
        Assert.False(string.IsNullOrWhiteSpace(value),
            "CIVICLENS_TEST_MQTT is not set: the MQTT tests need the local Mosquitto that ./test.sh starts (tools/test-services.sh, then source $CIVICLENS_HOME/test-services/env).");
        var colon = value.LastIndexOf(':');
        return (value[..colon], int.Parse(value[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private sealed record WebhookRequest(string Body, string? ContentType, string? EventId, string? Timestamp, string? Signature, int Answered);

    /// <summary>A real HTTP endpoint on loopback that records every request and answers what <c>answer(n)</c> says for the n-th.</summary>
    private sealed class WebhookReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _count;

        private WebhookReceiver(Func<int, HttpStatusCode> answer)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            _app = builder.Build();
            _app.MapPost("/hook", async (HttpContext c) =>
            {
                using var reader = new StreamReader(c.Request.Body, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                var status = (int)answer(Interlocked.Increment(ref _count));
                Requests.Enqueue(new WebhookRequest(body, c.Request.ContentType, c.Request.Headers["X-CivicLens-Event-Id"], c.Request.Headers["X-CivicLens-Timestamp"],
                    c.Request.Headers["X-CivicLens-Signature"], status));
                return Results.StatusCode(status);
            });
        }

        public Uri Url { get; private set; } = null!;

        public ConcurrentQueue<WebhookRequest> Requests { get; } = new();

        public static async Task<WebhookReceiver> StartAsync(Func<int, HttpStatusCode> answer)
        {
            var receiver = new WebhookReceiver(answer);
            await receiver._app.StartAsync();
            receiver.Url = new Uri(receiver._app.Urls.First() + "/hook");
            return receiver;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private sealed record MqttReceived(string Topic, string Payload, string? EventId, MqttQualityOfServiceLevel Qos);

    /// <summary>An MQTTnet client subscribed (QoS 1) on the test broker, recording what arrives.</summary>
    private sealed class MqttSubscriber : IAsyncDisposable
    {
        private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();

        public ConcurrentQueue<MqttReceived> Messages { get; } = new();

        public static async Task<MqttSubscriber> StartAsync(string host, int port, string filter)
        {
            var s = new MqttSubscriber();
            s._client.ApplicationMessageReceivedAsync += e =>
            {
                var m = e.ApplicationMessage;
                var id = m.UserProperties?.FirstOrDefault(p => p.Name == MqttChannel.EventIdProperty)?.ReadValueAsString();
                s.Messages.Enqueue(new MqttReceived(m.Topic, m.ConvertPayloadToString(), id, m.QualityOfServiceLevel));
                return Task.CompletedTask;
            };
            await s._client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(host, port).WithProtocolVersion(MqttProtocolVersion.V500)
                .WithClientId("civiclens-test-" + Guid.NewGuid().ToString("N")[..8]).Build());
            await s._client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
            return s;
        }

        public async ValueTask DisposeAsync()
        {
            await _client.TryDisconnectAsync();
            _client.Dispose();
        }
    }

    /// <summary>Forwards a loopback port to the broker: "the broker is back" on the port the server was given.</summary>
    private sealed class TcpRelay : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentBag<TcpClient> _connections = [];
        private readonly Task _accepting;

        private TcpRelay(int port, string host, int targetPort)
        {
            _listener = new TcpListener(IPAddress.Loopback, port);
            _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _listener.Start();
            _accepting = AcceptAsync(host, targetPort);
        }

        public static TcpRelay Start(int port, string host, int targetPort) => new(port, host, targetPort);

        private async Task AcceptAsync(string host, int targetPort)
        {
            try
            {
                while (true)
                {
                    var inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
                    var outbound = new TcpClient();
                    _connections.Add(inbound);
                    _connections.Add(outbound);
                    await outbound.ConnectAsync(host, targetPort, _stop.Token);
                    _ = Task.WhenAny(
                        inbound.GetStream().CopyToAsync(outbound.GetStream(), _stop.Token),
                        outbound.GetStream().CopyToAsync(inbound.GetStream(), _stop.Token)).ContinueWith(_ =>
                    {
                        inbound.Dispose();
                        outbound.Dispose();
                    }, TaskScheduler.Default);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // Stopped.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            foreach (var c in _connections) c.Dispose();
            _stop.Dispose();
        }
    }
}
