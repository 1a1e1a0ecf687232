using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using CivicLens.Storage.Entities;

namespace CivicLens.Server.Outbox;

/// <summary>
/// Forwards a department's cases to another city system that speaks Open311 GeoReport v2: each notice is a
/// <c>POST {base}/requests.json</c>, form-encoded (<c>api_key</c>, <c>service_code</c>, <c>lat</c>/<c>long</c> or
/// <c>address_string</c>, <c>description</c>), and counts as delivered when the answer names a
/// <c>service_request_id</c> or a <c>token</c>. Nothing about the reporter is sent (no <c>email</c>, names, phone or
/// <c>device_id</c>), nor <c>media_url</c>: the case's photo is for authenticated staff only.
/// </summary>
/// <remarks>
/// 4xx (but 408 and 429) fails this message; 5xx, 408, 429, a timeout or an unreachable server hold the channel.
/// Redirects are not followed. The URL and the key are never logged nor stored in an error.
/// </remarks>
public sealed partial class Open311ForwardChannel : IOutboxChannel
{
    private const int MaxDescription = 4000;
    private static readonly string[] AcceptanceFields = ["service_request_id", "token"];

    private readonly Uri _endpoint;
    private readonly string? _serviceCode;
    private readonly string _apiKey;
    private readonly IHttpClientFactory _http;
    private readonly ILogger<Open311ForwardChannel> _logger;

    /// <param name="serviceCode">The service every case goes to; null: the case's category id.</param>
    public Open311ForwardChannel(string department, Uri baseUrl, string? serviceCode, string apiKey, IHttpClientFactory http, ILogger<Open311ForwardChannel> logger)
    {
        ArgumentNullException.ThrowIfNull(department);
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        _endpoint = RequestsUrl(baseUrl);
        _serviceCode = serviceCode;
        _apiKey = apiKey;
        _http = http;
        _logger = logger;
        Name = ChannelName(department);
    }

    public string Name { get; }

    public static string ChannelName(string department) => "open311:" + department;

    /// <summary><c>https://city.example/open311/v2</c> becomes <c>https://city.example/open311/v2/requests.json</c>.</summary>
    public static Uri RequestsUrl(Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        var text = baseUrl.GetLeftPart(UriPartial.Path);
        return new Uri(text.TrimEnd('/') + "/requests.json");
    }

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
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint);
        request.Content = new FormUrlEncodedContent(Form(notice, _serviceCode, _apiKey));
        request.Headers.Accept.ParseAdd("application/json");
        try
        {
            // The client's timeout (DeliveryTimeout) covers connect, send and the whole answer.
            using var client = _http.CreateClient(HttpDelivery.ClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (status is >= 200 and < 300)
            {
                if (Accepted(body) is { } id)
                {
                    LogForwarded(_logger, Name, notice.CaseId, id);
                    return DeliveryResult.Success;
                }

                return DeliveryResult.Failed($"HTTP {status} without a service_request_id or token", channelDown: false);
            }

            var channelDown = HttpDelivery.ChannelDown(status);
            return DeliveryResult.Failed($"HTTP {status}{ErrorOf(body)}", channelDown);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            return HttpDelivery.Failure(ex);
        }
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

    /// <summary>The id the server gave the request (<c>service_request_id</c>, or the <c>token</c> to look it up later).</summary>
    private static string? Accepted(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var first = doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.GetArrayLength() > 0 ? doc.RootElement[0] : doc.RootElement;
            if (first.ValueKind != JsonValueKind.Object) return null;
            foreach (var name in AcceptanceFields)
            {
                if (first.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.String or JsonValueKind.Number && v.ToString() is { Length: > 0 and <= 100 } id)
                {
                    return id;
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: not an acceptance.
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
            var text = d.GetString()!.Replace(_apiKey, "***", StringComparison.Ordinal);
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
}
