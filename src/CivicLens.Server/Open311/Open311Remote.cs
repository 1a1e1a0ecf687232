using System.Text.Json;

namespace CivicLens.Server.Open311;

/// <summary>
/// A department's own Open311 GeoReport v2 system, as forwarding and the status read-back address it: its base URL,
/// its api key (read once at start from the variable the delivery names) and the service every case goes to.
/// </summary>
/// <remarks>
/// A case forwarded there is one remote request: <see cref="Storage.Entities.CaseRecord.RemoteRequestId"/> holds its
/// <c>service_request_id</c>, or <c>token:...</c> while the remote has only answered with a token.
/// </remarks>
public sealed class Open311Remote
{
    public const string TokenPrefix = "token:";
    private const int MaxId = 100;

    /// <param name="serviceCode">The service every case goes to; null: the case's category id.</param>
    public Open311Remote(string department, Uri baseUrl, string? serviceCode, string apiKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(department);
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        Department = department;
        Base = baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');
        ServiceCode = serviceCode;
        ApiKey = apiKey;
    }

    public string Department { get; }

    public string? ServiceCode { get; }

    public string ApiKey { get; }

    private string Base { get; }

    /// <summary><c>https://city.example/open311/v2</c> becomes <c>https://city.example/open311/v2/requests.json</c>.</summary>
    public Uri RequestsUrl => new(Base + "/requests.json");

    public Uri RequestUrl(string id) => new(Base + "/requests/" + Uri.EscapeDataString(id) + ".json");

    public Uri TokenUrl(string token) => new(Base + "/tokens/" + Uri.EscapeDataString(token) + ".json");

    /// <summary>Whether <paramref name="text"/> is an id or token this server keeps (short, printable).</summary>
    public static bool IsId(string? text) => text is { Length: > 0 and <= MaxId } && !text.Any(char.IsControl);

    /// <summary>A field of a GeoReport answer's first record (the JSON list of requests), or null.</summary>
    public static string? FirstField(string body, string field)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var first = doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.GetArrayLength() > 0 ? doc.RootElement[0] : doc.RootElement;
            return first.ValueKind == JsonValueKind.Object && first.TryGetProperty(field, out var v) && v.ValueKind is JsonValueKind.String or JsonValueKind.Number
                ? v.ToString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
