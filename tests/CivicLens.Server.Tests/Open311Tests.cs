using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using CivicLens.Server.Accounts;
using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Tests;

/// <summary>
/// Open311 GeoReport v2, driven with requests shaped like real 311 clients send them: the specification's
/// form-encoded POST with its personal fields and attribute[] array, a multipart POST carrying the photo as
/// 'media', comma-separated id lists, date windows, XML as well as JSON.
/// </summary>
public sealed class Open311Tests
{
    private static async Task<string> Open311KeyAsync(TestServer server)
    {
        var admin = await server.AdminAsync();
        var r = await admin.PostAsJsonAsync("/api/keys", new { name = "citizen-app", scope = "open311" });
        r.EnsureSuccessStatusCode();
        return (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    /// <summary>
    /// The GeoReport v2 specification's example request, field for field, in this district (its jurisdiction) and
    /// answering the sample's waste attributes (the example's attribute[] array).
    /// </summary>
    private static FormUrlEncodedContent SpecExample(string? apiKey, string serviceCode = "waste") => new(
    [
        new("api_key", apiKey ?? ""),
        new("jurisdiction_id", "sample-district"),
        new("service_code", serviceCode),
        new("lat", "53.8008"),
        new("long", "-1.5495"),
        new("address_string", "University plaza, by the north-east bench"),
        new("email", "smit333@sfgov.edu"),
        new("device_id", "tt222111"),
        new("account_id", "123456"),
        new("first_name", "john"),
        new("last_name", "smith"),
        new("phone", "111111111"),
        new("description", "A large sofa has been left on the plaza."),
        .. serviceCode == "waste" ? new KeyValuePair<string, string>[] { new("attribute[kind]", "furniture"), new("attribute[items]", "1") } : [],
    ]);

    [Fact]
    public async Task Services_ListTheConfiguredCategories_InJsonAndXml()
    {
        await using var server = await TestServer.StartAsync();
        var anyone = server.Client();
        var json = await anyone.GetFromJsonAsync<JsonElement>("/open311/v2/services.json");
        var waste = json.EnumerateArray().Single(s => s.GetProperty("service_code").GetString() == "waste");
        Assert.Equal("Dumped rubbish", waste.GetProperty("service_name").GetString());
        Assert.True(waste.GetProperty("metadata").GetBoolean());
        Assert.False(json.EnumerateArray().Single(s => s.GetProperty("service_code").GetString() == "graffiti").GetProperty("metadata").GetBoolean());
        Assert.Equal("realtime", waste.GetProperty("type").GetString());
        Assert.Equal("Streets and cleanliness", waste.GetProperty("group").GetString());

        var xml = await anyone.GetAsync("/open311/v2/services.xml");
        Assert.Equal("text/xml", xml.Content.Headers.ContentType?.MediaType);
        var doc = XDocument.Parse(await xml.Content.ReadAsStringAsync());
        Assert.Equal("services", doc.Root!.Name.LocalName);
        Assert.Contains(doc.Root.Elements("service"), s => s.Element("service_code")!.Value == "illegal-parking");
        Assert.Equal(json.GetArrayLength(), doc.Root.Elements("service").Count());

        var definition = await anyone.GetFromJsonAsync<JsonElement>("/open311/v2/services/graffiti.json");
        Assert.Equal(0, definition.GetProperty("attributes").GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, (await anyone.GetAsync("/open311/v2/services/nope.json")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anyone.GetAsync("/open311/v2/services.csv")).StatusCode);
    }

    [Fact]
    public async Task PostRequest_SpecificationExample_IsFiledAndRouted_WithoutKeepingThePersonalFields()
    {
        await using var server = await TestServer.StartAsync();
        var key = await Open311KeyAsync(server);
        var app = server.Client();
        var r = await app.PostAsync("/open311/v2/requests.json", SpecExample(key));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var answer = (await r.Content.ReadFromJsonAsync<JsonElement>())[0];
        var id = answer.GetProperty("service_request_id").GetString()!;
        Assert.False(string.IsNullOrEmpty(answer.GetProperty("token").GetString()));

        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        var report = await db.Reports.SingleAsync();
        Assert.Equal("open311", report.Source);
        Assert.Equal("key:citizen-app", report.SubmittedBy);
        var c = await db.Cases.SingleAsync(x => x.Id == report.CaseId);
        Assert.Equal("sanitation", c.DepartmentId);
        // The phone identifier, the names and the account are never stored; the email only sealed, as contact.
        var row = JsonSerializer.Serialize(report);
        foreach (var value in new[] { "tt222111", "123456", "john", "smith", "111111111", "smit333" }) Assert.DoesNotContain(value, row, StringComparison.Ordinal);
        Assert.NotNull(report.ContactSealed);

        // Key holders read it as filed; anonymous dashboards get it minimised (no text, place rounded to ~100 m).
        var full = (await app.GetFromJsonAsync<JsonElement>($"/open311/v2/requests/{id}.json?api_key={key}"))[0];
        Assert.Equal("A large sofa has been left on the plaza.", full.GetProperty("description").GetString());
        Assert.Equal(53.8008, full.GetProperty("lat").GetDouble(), 6);
        Assert.Equal("Street Cleaning and Waste", full.GetProperty("agency_responsible").GetString());
        Assert.Equal("open", full.GetProperty("status").GetString());
        var minimal = (await server.Client().GetFromJsonAsync<JsonElement>($"/open311/v2/requests/{id}.json"))[0];
        Assert.Equal(JsonValueKind.Null, minimal.GetProperty("description").ValueKind);
        Assert.Equal(JsonValueKind.Null, minimal.GetProperty("address").ValueKind);
        Assert.Equal(53.801, minimal.GetProperty("lat").GetDouble(), 6);

        var token = answer.GetProperty("token").GetString();
        var byToken = (await app.GetFromJsonAsync<JsonElement>($"/open311/v2/tokens/{token}.json"))[0];
        Assert.Equal(id, byToken.GetProperty("service_request_id").GetString());
    }

    [Fact]
    public async Task PostRequest_LargerThanTheConfiguredPhotoLimitAllows_Is413WithAClearMessage_AsAStaffReportIs()
    {
        // Three photos at 32 KB each plus room for the fields: the limit of Open311 and the report form alike.
        await using var server = await TestServer.StartAsync(tweak: o => o with { PhotoMaxBytes = 32 * 1024 });
        var key = await Open311KeyAsync(server);
        MultipartFormDataContent Form()
        {
            var form = new MultipartFormDataContent
            {
                { new StringContent(key), "api_key" },
                { new StringContent("waste"), "service_code" },
                { new StringContent("53.8008"), "lat" },
                { new StringContent("-1.5495"), "long" },
                { new StringContent("waste"), "category" },
                { new StringContent("bags"), "attribute[kind]" },
                { new StringContent("53.8008"), "latitude" },
                { new StringContent("-1.5495"), "longitude" },
            };
            var media = new ByteArrayContent(new byte[600 * 1024]);
            media.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            form.Add(media, "media", "photo.jpg");
            return form;
        }

        // The client says "Expect: 100-continue": the server refuses on the declared length before a byte of the body
        // is sent. (A client that sends anyway may see its connection closed mid-body: Kestrel does not drain
        // a body larger than its limit.)
        static HttpRequestMessage Post(string path, HttpContent body) =>
            new(HttpMethod.Post, path) { Content = body, Headers = { ExpectContinue = true } };
        using var open311 = Form();
        var geo = await server.Client().SendAsync(Post("/open311/v2/requests.json", open311));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, geo.StatusCode);
        var error = (await geo.Content.ReadFromJsonAsync<JsonElement>())[0];
        Assert.Equal(413, error.GetProperty("code").GetInt32());
        Assert.Contains("larger than this server accepts", error.GetProperty("description").GetString(), StringComparison.Ordinal);
        using var staff = Form();
        var r = await (await server.StaffAsync(Roles.Viewer)).SendAsync(Post("/api/reports", staff));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        Assert.Equal("photo", (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(0, await db.Reports.CountAsync());
    }

    [Fact]
    public async Task PostRequest_MultipartRepeatedListAttribute_KeepsEveryValue()
    {
        await using var server = await TestServer.StartAsync();
        var key = await Open311KeyAsync(server);
        using var form = new MultipartFormDataContent
        {
            { new StringContent(key), "api_key" },
            { new StringContent("illegal-parking"), "service_code" },
            { new StringContent("53.8009"), "lat" },
            { new StringContent("-1.5493"), "long" },
            { new StringContent("fire-lane"), "attribute[blocking][]" },
            { new StringContent("cycle-lane"), "attribute[blocking][]" },
        };
        var r = await server.Client().PostAsync("/open311/v2/requests.json", form);
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal("""{"blocking":["fire-lane","cycle-lane"]}""", (await db.Reports.SingleAsync()).Attributes);
    }

    [Fact]
    public async Task PostRequest_MultipartWithMediaAndXml_IsFiled_AndAnswersInXml()
    {
        await using var server = await TestServer.StartAsync();
        var key = await Open311KeyAsync(server);
        using var form = new MultipartFormDataContent
        {
            { new StringContent(key), "api_key" },
            { new StringContent("graffiti"), "service_code" },
            { new StringContent("53.8009"), "lat" },
            { new StringContent("-1.5493"), "long" },
            { new StringContent("Posters glued on the bus shelter"), "description" },
        };
        var media = new ByteArrayContent(await File.ReadAllBytesAsync(TestAssets.Still("dog.jpg")));
        media.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        form.Add(media, "media", "photo.jpg");
        var r = await server.Client().PostAsync("/open311/v2/requests.xml", form);
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var doc = XDocument.Parse(await r.Content.ReadAsStringAsync());
        var id = doc.Root!.Element("request")!.Element("service_request_id")!.Value;

        var list = XDocument.Parse(await server.Client().GetStringAsync($"/open311/v2/requests.xml?service_request_id={id},99999&api_key={key}"));
        var request = Assert.Single(list.Root!.Elements("request"));
        Assert.StartsWith("http", request.Element("media_url")!.Value, StringComparison.Ordinal);
        Assert.Equal("graffiti", request.Element("service_code")!.Value);
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(1, await db.ReportPhotos.CountAsync());
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task GetRequests_FiltersByStatusCodeAndDates_AndPages(string provider)
    {
        await using var server = await TestServer.StartAsync(provider);
        var key = await Open311KeyAsync(server);
        var app = server.Client();
        for (var i = 0; i < 5; i++)
        {
            var body = SpecExample(key, i % 2 == 0 ? "waste" : "graffiti");
            Assert.Equal(HttpStatusCode.Created, (await app.PostAsync("/open311/v2/requests.json", body)).StatusCode);
        }

        var all = await app.GetFromJsonAsync<JsonElement>("/open311/v2/requests.json");
        Assert.Equal(5, all.GetArrayLength());
        Assert.Equal(3, (await app.GetFromJsonAsync<JsonElement>("/open311/v2/requests.json?service_code=waste")).GetArrayLength());
        Assert.Equal(0, (await app.GetFromJsonAsync<JsonElement>("/open311/v2/requests.json?status=closed")).GetArrayLength());
        var page1 = await app.GetFromJsonAsync<JsonElement>("/open311/v2/requests.json?page_size=2&page=1");
        var page3 = await app.GetFromJsonAsync<JsonElement>("/open311/v2/requests.json?page_size=2&page=3");
        Assert.Equal(2, page1.GetArrayLength());
        Assert.Equal(1, page3.GetArrayLength());
        var yesterday = DateTimeOffset.UtcNow.AddDays(-2).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var lastWeek = DateTimeOffset.UtcNow.AddDays(-9).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(0, (await app.GetFromJsonAsync<JsonElement>($"/open311/v2/requests.json?start_date={lastWeek}&end_date={yesterday}")).GetArrayLength());

        // One problem fixed: it is closed for the public (status filtered in SQL, so paging counts only matches).
        await using (var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync())
        {
            var first = await db.Cases.OrderBy(c => c.Id).FirstAsync();
            first.State = "fixed";
            await db.SaveChangesAsync();
        }

        Assert.Equal(1, (await app.GetFromJsonAsync<JsonElement>("/open311/v2/requests.json?status=closed")).GetArrayLength());
        Assert.Equal(4, (await app.GetFromJsonAsync<JsonElement>("/open311/v2/requests.json?status=open")).GetArrayLength());
        Assert.Equal(5, (await app.GetFromJsonAsync<JsonElement>("/open311/v2/requests.json?status=open,closed")).GetArrayLength());
        Assert.Equal(1, (await app.GetFromJsonAsync<JsonElement>("/open311/v2/requests.json?status=open&page_size=3&page=2")).GetArrayLength());

        // Asking for more than the 90-day window, or for a status GeoReport does not have, is a clear 400.
        var longAgo = DateTimeOffset.UtcNow.AddDays(-200).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var tooWide = await app.GetAsync($"/open311/v2/requests.json?start_date={longAgo}");
        Assert.Equal(HttpStatusCode.BadRequest, tooWide.StatusCode);
        Assert.Contains("90 days", await tooWide.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await app.GetAsync("/open311/v2/requests.json?status=pending")).StatusCode);
    }

    [Theory]
    [InlineData("no-such-service", "waste", HttpStatusCode.BadRequest, "unknown category")]
    [InlineData("waste", "bad-key", HttpStatusCode.Forbidden, "api_key is not valid")]
    public async Task PostRequest_BadInput_AnswersAGeoReportErrorDocument(string service, string keyKind, HttpStatusCode status, string says)
    {
        await using var server = await TestServer.StartAsync();
        var key = keyKind == "bad-key" ? "clk_not-a-key" : await Open311KeyAsync(server);
        var r = await server.Client().PostAsync("/open311/v2/requests.json", SpecExample(key, service));
        Assert.Equal(status, r.StatusCode);
        var error = (await r.Content.ReadFromJsonAsync<JsonElement>())[0];
        Assert.Equal((int)status, error.GetProperty("code").GetInt32());
        Assert.Contains(says, error.GetProperty("description").GetString(), StringComparison.Ordinal);

        var xml = await server.Client().PostAsync("/open311/v2/requests.xml", SpecExample(key, service));
        Assert.Equal("errors", XDocument.Parse(await xml.Content.ReadAsStringAsync()).Root!.Name.LocalName);
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(0, await db.Reports.CountAsync());
    }

    [Fact]
    public async Task ControlCharactersAndOddInput_NeverBreakTheXmlAnswers_AndALongIdempotencyKeyIsRefused()
    {
        await using var server = await TestServer.StartAsync();
        var key = await Open311KeyAsync(server);
        var app = server.Client();
        var body = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["api_key"] = key,
            ["service_code"] = "waste",
            ["lat"] = "53.8008",
            ["long"] = "-1.5495",
            ["description"] = "Bags\u0001 by the\u0007 bench\uFFFF",
            ["attribute[kind]"] = "bags",
            ["address_string"] = "Plaza\u001b[31m",
        });
        Assert.Equal(HttpStatusCode.Created, (await app.PostAsync("/open311/v2/requests.json", body)).StatusCode);
        var xml = XDocument.Parse(await app.GetStringAsync($"/open311/v2/requests.xml?api_key={key}"));
        Assert.Equal("Bags by the bench", xml.Descendants("description").Single().Value);

        // An id with a control character in the path is echoed in a well-formed error document.
        var odd = await app.GetAsync("/open311/v2/requests/%01.xml");
        Assert.Equal(HttpStatusCode.NotFound, odd.StatusCode);
        Assert.NotNull(XDocument.Parse(await odd.Content.ReadAsStringAsync()).Root);

        using var retry = new HttpRequestMessage(HttpMethod.Post, "/open311/v2/requests.json") { Content = SpecExample(key) };
        retry.Headers.Add("Idempotency-Key", new string('k', 201));
        Assert.Equal(HttpStatusCode.BadRequest, (await app.SendAsync(retry)).StatusCode);
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(1, await db.Reports.CountAsync());
    }

    [Fact]
    public async Task Open311Key_CannotPostEvents_AndRemoteMediaUrlsAreNotFetched()
    {
        await using var server = await TestServer.StartAsync();
        var key = await Open311KeyAsync(server);
        var node = server.Client();
        node.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", key);
        var ingest = await node.PostAsJsonAsync("/api/ingest/events", new { events = Array.Empty<object>() });
        Assert.Equal(HttpStatusCode.Forbidden, ingest.StatusCode);
        var body = SpecExample(key);
        var withUrl = new FormUrlEncodedContent((await body.ReadAsStringAsync()).Split('&').Select(p => p.Split('='))
            .Select(p => new KeyValuePair<string, string>(Uri.UnescapeDataString(p[0]), Uri.UnescapeDataString(p[1].Replace('+', ' '))))
            .Append(new KeyValuePair<string, string>("media_url", "http://169.254.169.254/latest/meta-data")));
        var r = await server.Client().PostAsync("/open311/v2/requests.json", withUrl);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("not fetched", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
