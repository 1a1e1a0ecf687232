using System.Net.Sockets;
using System.Text;
using CivicLens.Server.Hosting;
using CivicLens.Storage.Entities;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace CivicLens.Server.Outbox;

/// <summary>
/// Publishes each message to <c>PREFIX/KIND</c> (the event kind's dots as topic levels, e.g.
/// <c>civiclens/events/vehicle/stationary</c>) with QoS 1 over one long-lived MQTT 5 connection; a message is
/// delivered when the broker's PUBACK arrives. A lost connection is made again at the next message.
/// </summary>
public sealed partial class MqttChannel : IOutboxChannel, IAsyncDisposable
{
    public const string ChannelName = "mqtt";
    public const string EventIdProperty = "X-CivicLens-Event-Id";

    private readonly MqttTarget _target;
    private readonly TimeSpan _timeout;
    private readonly ILogger<MqttChannel> _logger;
    private readonly MqttClientFactory _factory = new();
    private readonly string _clientId = "civiclens-" + Guid.NewGuid().ToString("N")[..12];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IMqttClient? _client;

    public MqttChannel(MqttTarget target, TimeSpan timeout, ILogger<MqttChannel> logger)
    {
        ArgumentNullException.ThrowIfNull(target);
        _target = target;
        _timeout = timeout;
        _logger = logger;
    }

    public string Name => ChannelName;

    /// <summary>The topic of an event kind: <c>vehicle.stationary</c> under <c>civiclens/events</c> is <c>civiclens/events/vehicle/stationary</c>.</summary>
    public static string Topic(string prefix, string kind)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(kind);
        return prefix.TrimEnd('/') + "/" + kind.Replace('.', '/');
    }

    public async Task<DeliveryResult> DeliverAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var kind = Kind(message.Payload);
        if (kind is null) return DeliveryResult.Failed("payload has no event kind", channelDown: false);
        var publish = new MqttApplicationMessageBuilder()
            .WithTopic(Topic(_target.TopicPrefix, kind))
            .WithPayload(Encoding.UTF8.GetBytes(message.Payload))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
            .WithUserProperty(EventIdProperty, (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(message.EventId.ToString("D")))
            .Build();

        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            var client = await ConnectedAsync(timeout.Token);
            var result = await client.PublishAsync(publish, timeout.Token);
            // MQTT 5 reason codes below 0x80 are successes (0x10: no subscriber matched, still accepted).
            if ((int)result.ReasonCode < 0x80) return DeliveryResult.Success;
            return DeliveryResult.Failed($"broker refused: {result.ReasonCode}", channelDown: false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await DropAsync();
            return DeliveryResult.Failed("timed out", channelDown: true);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The kind of failure only; never the options (they hold the password).
            await DropAsync();
            return DeliveryResult.Failed("MQTT " + Describe(ex), channelDown: true);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_client is { IsConnected: true } client)
            {
                try
                {
                    await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build());
                }
                catch (Exception ex)
                {
                    LogDisconnectFailed(_logger, ex);
                }
            }

            _client?.Dispose();
            _client = null;
        }
        finally
        {
            _gate.Release();
        }

        _gate.Dispose();
    }

    private async Task<IMqttClient> ConnectedAsync(CancellationToken cancellationToken)
    {
        if (_client is { IsConnected: true } connected) return connected;
        if (_client is not null)
        {
            LogReconnecting(_logger, _target.Host, _target.Port);
            _client.Dispose();
            _client = null;
        }

        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_target.Host, _target.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(_clientId)
            .WithCleanStart(true)
            .WithTimeout(_timeout)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(30));
        if (_target.UserName is not null) builder.WithCredentials(_target.UserName, _target.Password ?? "");
        var client = _factory.CreateMqttClient();
        try
        {
            var connack = await client.ConnectAsync(builder.Build(), cancellationToken);
            if (connack.ResultCode != MqttClientConnectResultCode.Success) throw new MqttRefusedException(connack.ResultCode);
        }
        catch
        {
            client.Dispose();
            throw;
        }

        _client = client;
        LogConnected(_logger, _target.Host, _target.Port);
        return client;
    }

    private async Task DropAsync()
    {
        if (_client is null) return;
        try
        {
            if (_client.IsConnected) await _client.TryDisconnectAsync();
        }
        finally
        {
            _client.Dispose();
            _client = null;
        }
    }

    private static string? Kind(string payload)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(payload);
            return doc.RootElement.TryGetProperty("kind", out var kind) && kind.GetString() is { Length: > 0 } k ? k : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static string Describe(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket) return socket.SocketErrorCode.ToString();
            if (e is MqttRefusedException refused) return "connect refused: " + refused.ResultCode;
            // Its message names the broker's answer (e.g. "... failed (NotAuthorized)"), never the credentials.
            if (e is MQTTnet.Adapter.MqttConnectingFailedException) return e.Message;
        }

        return ex.GetType().Name;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox connected to the MQTT broker {Host}:{Port}")]
    private static partial void LogConnected(ILogger logger, string host, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox lost the MQTT broker {Host}:{Port}; connecting again")]
    private static partial void LogReconnecting(ILogger logger, string host, int port);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outbox could not disconnect from the MQTT broker cleanly")]
    private static partial void LogDisconnectFailed(ILogger logger, Exception error);

    private sealed class MqttRefusedException(MqttClientConnectResultCode resultCode) : Exception("The broker refused the connection: " + resultCode)
    {
        public MqttClientConnectResultCode ResultCode { get; } = resultCode;
    }
}
