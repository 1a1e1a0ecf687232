using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using CivicLens.Server.Accounts;
using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Tests;

/// <summary>
/// GeoReport v2 as wiki.open311.org/GeoReport_v2 writes it, endpoint by endpoint, JSON and XML: discovery, the
/// service list's metadata flag, service definitions with attributes, POST with attribute[] answers (and the
/// spec's error document for a missing or wrong one), jurisdiction_id on every endpoint, a request and a token.
/// </summary>
public sealed class Open311ConformanceTests
{
    private const string Root = "/open311/v2";

    private static async Task<string> KeyAsync(TestServer server)
    {
        var r = await (await server.AdminAsync()).PostAsJsonAsync("/api/keys", new { name = "app", scope = "open311" });
        r.EnsureSuccessStatusCode();
        return (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    private static KeyValuePair<string, string> P(string name, string value) => new(name, value);

    private static FormUrlEncodedContent Waste(string key, params KeyValuePair<string, string>[] more) => new(
    [
        new("api_key", key),
        new("service_code", "waste"),
        new("lat", "53.8008"),
        new("long", "-1.5495"),
        new("description", "A sofa by the bench"),
        .. more,
    ]);

    /// <summary>A GeoReport error document: one error with this code, in the format asked for.</summary>
    private static async Task<string> ErrorAsync(HttpResponseMessage r, HttpStatusCode status, string format)
    {
        Assert.Equal(status, r.StatusCode);
        var body = await r.Content.ReadAsStringAsync();
        if (format == "xml")
        {
            Assert.Equal("text/xml", r.Content.Headers.ContentType?.MediaType);
            var error = Assert.Single(XDocument.Parse(body).Root!.Elements("error"));
            Assert.Equal(((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture), error.Element("code")!.Value);
            return error.Element("description")!.Value;
        }

        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        var e = Assert.Single(JsonDocument.Parse(body).RootElement.EnumerateArray());
        Assert.Equal((int)status, e.GetProperty("code").GetInt32());
        return e.GetProperty("description").GetString()!;
    }

    [Fact]
    public async Task Discovery_JsonAndXml_AsTheSpecificationShowsIt()
    {
        await using var server = await TestServer.StartAsync();
        var json = await server.Client().GetFromJsonAsync<JsonElement>($"{Root}/discovery.json");
        Assert.Equal(JsonValueKind.Object, json.ValueKind);
        foreach (var field in new[] { "changeset", "contact", "key_service" }) Assert.False(string.IsNullOrEmpty(json.GetProperty(field).GetString()), field);
        var endpoint = Assert.Single(json.GetProperty("endpoints").EnumerateArray());
        Assert.Equal("http://wiki.open311.org/GeoReport_v2", endpoint.GetProperty("specification").GetString());
        Assert.EndsWith("/open311/v2", endpoint.GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.Equal("production", endpoint.GetProperty("type").GetString());
        Assert.True(DateTimeOffset.TryParse(endpoint.GetProperty("changeset").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        Assert.Equal(["text/xml", "application/json"], endpoint.GetProperty("formats").EnumerateArray().Select(f => f.GetString()!).ToArray());

        var xml = XDocument.Parse(await server.Client().GetStringAsync($"{Root}/discovery.xml")).Root!;
        Assert.Equal("discovery", xml.Name.LocalName);
        var e = Assert.Single(xml.Element("endpoints")!.Elements("endpoint"));
        Assert.Equal(endpoint.GetProperty("url").GetString(), e.Element("url")!.Value);
        Assert.Equal(["text/xml", "application/json"], e.Element("formats")!.Elements("format").Select(f => f.Value).ToArray());
    }

    [Fact]
    public async Task ServiceDefinition_JsonAndXml_ListsTheConfiguredAttributes_UnknownIs404()
    {
        await using var server = await TestServer.StartAsync();
        var anyone = server.Client();
        var d = await anyone.GetFromJsonAsync<JsonElement>($"{Root}/services/waste.json");
        Assert.Equal("waste", d.GetProperty("service_code").GetString());
        var a = d.GetProperty("attributes").EnumerateArray().ToList();
        Assert.Equal(["kind", "items"], a.Select(x => x.GetProperty("code").GetString()!).ToArray());
        Assert.True(a[0].GetProperty("variable").GetBoolean());
        Assert.True(a[0].GetProperty("required").GetBoolean());
        Assert.Equal("singlevaluelist", a[0].GetProperty("datatype").GetString());
        Assert.Equal("What was left?", a[0].GetProperty("description").GetString());
        Assert.Equal(1, a[0].GetProperty("order").GetInt32());
        Assert.Equal(["bags", "furniture", "electrical", "other"], a[0].GetProperty("values").EnumerateArray().Select(v => v.GetProperty("key").GetString()!).ToArray());
        Assert.Equal("number", a[1].GetProperty("datatype").GetString());
        Assert.False(a[1].GetProperty("required").GetBoolean());
        Assert.Equal("a whole number", a[1].GetProperty("datatype_description").GetString());

        var xml = XDocument.Parse(await anyone.GetStringAsync($"{Root}/services/illegal-parking.xml")).Root!;
        Assert.Equal("service_definition", xml.Name.LocalName);
        var blocking = Assert.Single(xml.Element("attributes")!.Elements("attribute"));
        Assert.Equal("multivaluelist", blocking.Element("datatype")!.Value);
        Assert.Equal("false", blocking.Element("required")!.Value);
        Assert.Contains(blocking.Element("values")!.Elements("value"), v => v.Element("key")!.Value == "fire-lane" && v.Element("name")!.Value == "A fire lane");

        Assert.Equal("unknown service_code 'nope'", await ErrorAsync(await anyone.GetAsync($"{Root}/services/nope.json"), HttpStatusCode.NotFound, "json"));
        Assert.Equal("unknown service_code 'nope'", await ErrorAsync(await anyone.GetAsync($"{Root}/services/nope.xml"), HttpStatusCode.NotFound, "xml"));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PostRequest_WithAttributes_StoredAndShownOnTheReportAndTheCase(string provider)
    {
        await using var server = await TestServer.StartAsync(provider);
        var key = await KeyAsync(server);
        var r = await server.Client().PostAsync($"{Root}/requests.json", Waste(key, P("attribute[kind]", "furniture"), P("attribute[items]", "2"), P("jurisdiction_id", "sample-district")));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var id = (await r.Content.ReadFromJsonAsync<JsonElement>())[0].GetProperty("service_request_id").GetString()!;
        await using (var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync())
        {
            Assert.Equal("""{"items":"2","kind":"furniture"}""", (await db.Reports.SingleAsync()).Attributes);
        }

        var staff = await server.StaffAsync(Roles.Operator);
        var report = await staff.GetFromJsonAsync<JsonElement>($"/api/reports/{id}");
        Assert.Equal("furniture", report.GetProperty("attributes").GetProperty("kind")[0].GetString());
        Assert.Equal("2", report.GetProperty("attributes").GetProperty("items")[0].GetString());
        var caseId = report.GetProperty("caseId").GetInt64();
        var c = await staff.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}");
        Assert.Equal("furniture", c.GetProperty("reports")[0].GetProperty("attributes").GetProperty("kind")[0].GetString());

        // XML, and a multivaluelist sent as repeated attribute[code][].
        var x = await server.Client().PostAsync($"{Root}/requests.xml", new FormUrlEncodedContent(
        [
            new("api_key", key), new("service_code", "illegal-parking"), new("lat", "53.8008"), new("long", "-1.5495"),
            new("attribute[blocking][]", "footway"), new("attribute[blocking][]", "fire-lane"),
        ]));
        Assert.Equal(HttpStatusCode.Created, x.StatusCode);
        var xid = XDocument.Parse(await x.Content.ReadAsStringAsync()).Root!.Element("request")!.Element("service_request_id")!.Value;
        var parking = await staff.GetFromJsonAsync<JsonElement>($"/api/reports/{xid}");
        Assert.Equal(["footway", "fire-lane"], parking.GetProperty("attributes").GetProperty("blocking").EnumerateArray().Select(v => v.GetString()!).ToArray());
    }

    [Theory]
    [InlineData("json")]
    [InlineData("xml")]
    public async Task PostRequest_MissingOrWrongAttribute_Is400InTheSpecErrorFormat_NothingStored(string format)
    {
        await using var server = await TestServer.StartAsync();
        var key = await KeyAsync(server);
        var app = server.Client();
        Assert.Equal("attribute[kind] is required: What was left?",
            await ErrorAsync(await app.PostAsync($"{Root}/requests.{format}", Waste(key)), HttpStatusCode.BadRequest, format));
        Assert.Equal("attribute[kind] 'sofa' is not one of its values (bags, furniture, electrical, other)",
            await ErrorAsync(await app.PostAsync($"{Root}/requests.{format}", Waste(key, P("attribute[kind]", "sofa"))), HttpStatusCode.BadRequest, format));
        Assert.Equal("attribute[items] must be a number",
            await ErrorAsync(await app.PostAsync($"{Root}/requests.{format}", Waste(key, P("attribute[kind]", "bags"), P("attribute[items]", "lots"))), HttpStatusCode.BadRequest, format));
        Assert.Equal("attribute[WHISPAWN] is not asked by this service (it asks: kind, items)",
            await ErrorAsync(await app.PostAsync($"{Root}/requests.{format}", Waste(key, P("attribute[kind]", "bags"), P("attribute[WHISPAWN]", "ANIMAL"))), HttpStatusCode.BadRequest, format));
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(0, await db.Reports.CountAsync());
    }

    [Theory]
    [InlineData("json")]
    [InlineData("xml")]
    public async Task PostRequest_AddressOnly_IsRefusedWithTheDocumentedError(string format)
    {
        await using var server = await TestServer.StartAsync();
        var key = await KeyAsync(server);
        var r = await server.Client().PostAsync($"{Root}/requests.{format}", new FormUrlEncodedContent(
        [
            new("api_key", key), new("service_code", "graffiti"), new("address_string", "1 University Road"), new("description", "Tags on the wall"),
        ]));
        Assert.Equal("lat/long required: this server cannot place an address yet", await ErrorAsync(r, HttpStatusCode.BadRequest, format));
    }

    [Fact]
    public async Task Jurisdiction_AnotherOneIs404OnEveryEndpoint_TheDistrictsOrNoneIsServed()
    {
        await using var server = await TestServer.StartAsync();
        var key = await KeyAsync(server);
        var app = server.Client();
        var filed = await app.PostAsync($"{Root}/requests.json", Waste(key, P("attribute[kind]", "bags")));
        var first = (await filed.Content.ReadFromJsonAsync<JsonElement>())[0];
        var id = first.GetProperty("service_request_id").GetString();
        var token = first.GetProperty("token").GetString();
        string[] reads = ["discovery", "services", "services/waste", "requests", $"requests/{id}", $"tokens/{token}"];
        foreach (var path in reads)
        {
            foreach (var format in new[] { "json", "xml" })
            {
                Assert.Equal(HttpStatusCode.OK, (await app.GetAsync($"{Root}/{path}.{format}?jurisdiction_id=sample-district")).StatusCode);
                var wrong = await app.GetAsync($"{Root}/{path}.{format}?jurisdiction_id=sfgov.org");
                Assert.Equal("jurisdiction_id 'sfgov.org' is not served here (this server serves 'sample-district' only)", await ErrorAsync(wrong, HttpStatusCode.NotFound, format));
            }
        }

        var posted = await app.PostAsync($"{Root}/requests.xml", Waste(key, P("attribute[kind]", "bags"), P("jurisdiction_id", "sfgov.org")));
        Assert.Contains("is not served here", await ErrorAsync(posted, HttpStatusCode.NotFound, "xml"), StringComparison.Ordinal);
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(1, await db.Reports.CountAsync());
    }

    [Fact]
    public async Task GetRequestAndToken_JsonAndXml_NameTheSameRequest()
    {
        await using var server = await TestServer.StartAsync();
        var key = await KeyAsync(server);
        var app = server.Client();
        var filed = (await (await app.PostAsync($"{Root}/requests.json", Waste(key, P("attribute[kind]", "bags")))).Content.ReadFromJsonAsync<JsonElement>())[0];
        var id = filed.GetProperty("service_request_id").GetString()!;
        var token = filed.GetProperty("token").GetString()!;

        var request = Assert.Single((await app.GetFromJsonAsync<JsonElement>($"{Root}/requests/{id}.json")).EnumerateArray());
        Assert.Equal(id, request.GetProperty("service_request_id").GetString());
        Assert.Equal("open", request.GetProperty("status").GetString());
        Assert.Equal("waste", request.GetProperty("service_code").GetString());
        var xml = Assert.Single(XDocument.Parse(await app.GetStringAsync($"{Root}/requests/{id}.xml")).Root!.Elements("request"));
        Assert.Equal("open", xml.Element("status")!.Value);

        var byToken = Assert.Single((await app.GetFromJsonAsync<JsonElement>($"{Root}/tokens/{token}.json")).EnumerateArray());
        Assert.Equal(id, byToken.GetProperty("service_request_id").GetString());
        var tokenXml = XDocument.Parse(await app.GetStringAsync($"{Root}/tokens/{token}.xml")).Root!;
        Assert.Equal("service_requests", tokenXml.Name.LocalName);
        Assert.Equal(id, tokenXml.Element("request")!.Element("service_request_id")!.Value);
        Assert.Equal("no request has that token", await ErrorAsync(await app.GetAsync($"{Root}/tokens/{new string('x', 20)}.json"), HttpStatusCode.NotFound, "json"));
    }
}
