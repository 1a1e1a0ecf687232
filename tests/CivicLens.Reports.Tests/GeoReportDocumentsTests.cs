using System.Text.Json;
using System.Xml.Linq;
using CivicLens.District.Categories;
using CivicLens.Reports.Open311;

namespace CivicLens.Reports.Tests;

/// <summary>
/// The nested GeoReport v2 documents, shaped as the specification's examples (wiki.open311.org/GeoReport_v2):
/// discovery with its endpoints and formats lists, a service definition with attributes and values.
/// </summary>
public sealed class GeoReportDocumentsTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 9, 30, 0, TimeSpan.Zero);

    private static readonly DiscoveryDocument Discovery = new(At, "Call the city", "Ask for a key", [new DiscoveryEndpoint("https://city.example/open311/v2", At, "production")]);

    private static readonly AttributeDefinition[] Attributes =
    [
        new("items", AttributeDatatypes.Number, "How many?") { Order = 2, DatatypeDescription = "a whole number" },
        new("kind", AttributeDatatypes.SingleValueList, "What was left?") { Order = 1, Required = true, Values = [new("bags", "Bin bags"), new("sofa", "A sofa")] },
    ];

    [Fact]
    public void Discovery_Json_IsAnObjectWithEndpointsAndAFormatsList()
    {
        var d = JsonDocument.Parse(GeoReportDocuments.Discovery(GeoReport.Json, Discovery)).RootElement;
        Assert.Equal(JsonValueKind.Object, d.ValueKind);
        Assert.Equal("2026-12-07T09:30:00+00:00", d.GetProperty("changeset").GetString());
        Assert.Equal("Call the city", d.GetProperty("contact").GetString());
        Assert.Equal("Ask for a key", d.GetProperty("key_service").GetString());
        var e = Assert.Single(d.GetProperty("endpoints").EnumerateArray());
        Assert.Equal("http://wiki.open311.org/GeoReport_v2", e.GetProperty("specification").GetString());
        Assert.Equal("https://city.example/open311/v2", e.GetProperty("url").GetString());
        Assert.Equal("production", e.GetProperty("type").GetString());
        Assert.Equal("2026-12-07T09:30:00+00:00", e.GetProperty("changeset").GetString());
        Assert.Equal(["text/xml", "application/json"], e.GetProperty("formats").EnumerateArray().Select(f => f.GetString()!).ToArray());
    }

    [Fact]
    public void Discovery_Xml_NestsEndpointsAndFormats()
    {
        var root = XDocument.Parse(GeoReportDocuments.Discovery(GeoReport.Xml, Discovery)).Root!;
        Assert.Equal("discovery", root.Name.LocalName);
        Assert.Equal(["changeset", "contact", "key_service", "endpoints"], root.Elements().Select(x => x.Name.LocalName).ToArray());
        var e = Assert.Single(root.Element("endpoints")!.Elements("endpoint"));
        Assert.Equal("http://wiki.open311.org/GeoReport_v2", e.Element("specification")!.Value);
        Assert.Equal(["text/xml", "application/json"], e.Element("formats")!.Elements("format").Select(f => f.Value).ToArray());
    }

    [Fact]
    public void ServiceDefinition_Json_AttributesInOrder_ListsWithValues()
    {
        var d = JsonDocument.Parse(GeoReportDocuments.ServiceDefinition(GeoReport.Json, "waste", Attributes)).RootElement;
        Assert.Equal("waste", d.GetProperty("service_code").GetString());
        var a = d.GetProperty("attributes").EnumerateArray().ToList();
        Assert.Equal(["kind", "items"], a.Select(x => x.GetProperty("code").GetString()!).ToArray());
        Assert.True(a[0].GetProperty("variable").GetBoolean());
        Assert.True(a[0].GetProperty("required").GetBoolean());
        Assert.Equal("singlevaluelist", a[0].GetProperty("datatype").GetString());
        Assert.Equal(JsonValueKind.Null, a[0].GetProperty("datatype_description").ValueKind);
        Assert.Equal(1, a[0].GetProperty("order").GetInt32());
        Assert.Equal("What was left?", a[0].GetProperty("description").GetString());
        Assert.Equal([("bags", "Bin bags"), ("sofa", "A sofa")],
            a[0].GetProperty("values").EnumerateArray().Select(v => (v.GetProperty("key").GetString(), v.GetProperty("name").GetString())).ToArray());
        Assert.False(a[1].TryGetProperty("values", out _));
        Assert.Equal("a whole number", a[1].GetProperty("datatype_description").GetString());
    }

    [Fact]
    public void ServiceDefinition_Xml_ElementForElement()
    {
        var root = XDocument.Parse(GeoReportDocuments.ServiceDefinition(GeoReport.Xml, "waste", Attributes)).Root!;
        Assert.Equal("service_definition", root.Name.LocalName);
        var first = root.Element("attributes")!.Elements("attribute").First();
        Assert.Equal(["variable", "code", "datatype", "required", "datatype_description", "order", "description", "values"], first.Elements().Select(x => x.Name.LocalName).ToArray());
        Assert.Equal("true", first.Element("required")!.Value);
        Assert.Equal(["bags", "sofa"], first.Element("values")!.Elements("value").Select(v => v.Element("key")!.Value).ToArray());
        var empty = XDocument.Parse(GeoReportDocuments.ServiceDefinition(GeoReport.Xml, "graffiti", [])).Root!;
        Assert.Empty(empty.Element("attributes")!.Elements());
    }

    [Fact]
    public void AttributeFields_ReadsSingleAndListForms_IgnoresOthers()
    {
        var fields = new Dictionary<string, string>
        {
            ["attribute[kind]"] = "bags",
            ["attribute[blocking][]"] = "footway,fire-lane",
            ["attribute[]"] = "x",
            ["attribute[a][b]"] = "y",
            ["description"] = "z",
        };
        var a = GeoReportDocuments.AttributeFields(fields);
        Assert.Equal(["blocking", "kind"], a.Keys.Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(["bags"], a["kind"]);
        Assert.Equal(["footway", "fire-lane"], a["blocking"]);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("", true)]
    [InlineData("sample-district", true)]
    [InlineData("sfgov.org", false)]
    [InlineData("Sample-District", false)]
    public void JurisdictionError_OnlyTheDistrictOrNothing(string? given, bool ok)
    {
        var error = GeoReportDocuments.JurisdictionError(given, "sample-district");
        Assert.Equal(ok, error is null);
        if (!ok) Assert.Equal($"jurisdiction_id '{given}' is not served here (this server serves 'sample-district' only)", error);
    }
}
