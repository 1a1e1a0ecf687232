using System.Text.Json;
using System.Xml.Linq;
using CivicLens.Reports.Open311;

namespace CivicLens.Reports.Tests;

public sealed class GeoReportTests
{
    private static readonly IReadOnlyList<KeyValuePair<string, object?>>[] Records =
    [
        [new("service_request_id", "12"), new("lat", 53.8008), new("metadata", false), new("requested_datetime", new DateTimeOffset(2026, 11, 23, 15, 58, 2, TimeSpan.Zero)), new("media_url", null)],
    ];

    [Fact]
    public void Write_Json_IsAnArrayOfObjectsWithTypedValues()
    {
        var doc = JsonDocument.Parse(GeoReport.Write(GeoReport.Json, "service_requests", "request", Records)).RootElement;
        var r = doc[0];
        Assert.Equal("12", r.GetProperty("service_request_id").GetString());
        Assert.Equal(53.8008, r.GetProperty("lat").GetDouble());
        Assert.False(r.GetProperty("metadata").GetBoolean());
        Assert.Equal("2026-11-23T15:58:02+00:00", r.GetProperty("requested_datetime").GetString());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("media_url").ValueKind);
    }

    [Fact]
    public void Write_Xml_IsUtf8WithRootAndItemElements_AndEscapesText()
    {
        var xml = GeoReport.Write(GeoReport.Xml, "service_requests", "request", [[new("description", "bins <full> & \"overflowing\"")], .. Records]);
        Assert.StartsWith("<?xml version=\"1.0\" encoding=\"utf-8\"?>", xml, StringComparison.Ordinal);
        var doc = XDocument.Parse(xml);
        Assert.Equal(2, doc.Root!.Elements("request").Count());
        Assert.Equal("bins <full> & \"overflowing\"", doc.Root.Elements("request").First().Element("description")!.Value);
        Assert.Equal("false", doc.Root.Elements("request").Last().Element("metadata")!.Value);
    }

    [Fact]
    public void Error_InBothFormats()
    {
        Assert.Equal(400, JsonDocument.Parse(GeoReport.Error(GeoReport.Json, 400, "service_code missing")).RootElement[0].GetProperty("code").GetInt32());
        var x = XDocument.Parse(GeoReport.Error(GeoReport.Xml, 404, "no such request"));
        Assert.Equal("errors", x.Root!.Name.LocalName);
        Assert.Equal("no such request", x.Root.Element("error")!.Element("description")!.Value);
    }
}
