using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Tests;

/// <summary>
/// The console map's API: cameras as grid cells or one by one by zoom, open events and cases with the map's
/// filters (a department's problems are what routing gives it, not what its cameras see), all within the caller's
/// areas.
/// </summary>
public sealed class MapTests
{
    // The sample district around the plaza camera (-1.5489, 53.8011), and a box on the other side of the world.
    private const string District = "west=-1.56&south=53.79&east=-1.53&north=53.81";
    private const string Elsewhere = "west=10&south=10&east=11&north=11";

    private static object Event(string category, string kind, string rule, Guid? id = null) =>
        new { id = id ?? Guid.NewGuid(), kind, phase = "start", camera = "vtest", rule, category, at = DateTimeOffset.UtcNow, confidence = 0.8 };

    private static async Task<List<JsonElement>> Incidents(HttpClient client, string query)
    {
        var doc = await client.GetFromJsonAsync<JsonElement>("/api/map/incidents?" + District + query);
        return [.. doc.GetProperty("items").EnumerateArray()];
    }

    [Fact]
    public async Task Cameras_AreCellsWhenZoomedOut_AndOneByOneWithTheirWedgeWhenZoomedIn_WithinTheCallersAreas()
    {
        await using var server = await TestServer.StartAsync();
        var viewer = await server.StaffAsync(Roles.Viewer);
        var city = await viewer.GetFromJsonAsync<JsonElement>("/api/map/cameras?" + District + "&zoom=11");
        Assert.Equal(1, city.GetProperty("total").GetInt32());
        Assert.Equal(1, city.GetProperty("cells").GetArrayLength());
        Assert.Equal(0, city.GetProperty("cameras").GetArrayLength());

        var street = await viewer.GetFromJsonAsync<JsonElement>("/api/map/cameras?" + District + "&zoom=17");
        var camera = Assert.Single(street.GetProperty("cameras").EnumerateArray());
        Assert.Equal("vtest", camera.GetProperty("id").GetString());
        Assert.Equal(225, camera.GetProperty("heading").GetDouble());
        Assert.Equal(70, camera.GetProperty("fieldOfView").GetDouble());
        Assert.Equal(0, (await viewer.GetFromJsonAsync<JsonElement>("/api/map/cameras?" + Elsewhere + "&zoom=17")).GetProperty("total").GetInt32());

        // A viewer scoped to the riverside ward does not see the campus camera.
        var riverside = await server.StaffAsync(Roles.Viewer, "riverside");
        Assert.Equal(0, (await riverside.GetFromJsonAsync<JsonElement>("/api/map/cameras?" + District + "&zoom=17")).GetProperty("total").GetInt32());

        // A whole-world box at street zoom is answered in coarser cells, not one cell per camera.
        var world = await viewer.GetFromJsonAsync<JsonElement>("/api/map/cameras?west=-180&south=-85&east=180&north=85&zoom=15");
        Assert.Equal(1, world.GetProperty("total").GetInt32());
        Assert.Equal(1, world.GetProperty("cells").GetArrayLength());

        foreach (var bad in new[] { "west=-1&south=53&east=-2&north=54", "south=53&east=-1&north=54", District + "&zoom=30" })
        {
            var r = await viewer.GetAsync("/api/map/cameras?" + bad);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        }
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Incidents_FilteredByDepartment_FollowRouting_AndByTypeStateAndTime(string provider)
    {
        await using var server = await TestServer.StartAsync(provider);
        var node = server.Client();
        node.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("ApiKey", await server.ApiKeyAsync());
        var van = Guid.NewGuid();
        var parked = Event("illegal-parking", "vehicle.stationary", "service-road-parking", van);
        (await node.PostAsJsonAsync("/api/ingest/events", new { events = new[] { parked, Event("crowding", "zone.occupancy", "plaza-crowding"), Event("crowding", "zone.occupancy", "plaza-crowding") } }))
            .EnsureSuccessStatusCode();
        var op = await server.StaffAsync(Roles.Operator);

        var all = await Incidents(op, "");
        Assert.Equal(2, all.Count);
        Assert.Equal(2, all.Single(i => i.GetProperty("category").GetString() == "crowding").GetProperty("new").GetInt32());

        // The camera belongs to public-space, but parking owns illegal parking: the van is parking's problem.
        var parking = Assert.Single(await Incidents(op, "&department=parking"));
        Assert.Equal("illegal-parking", parking.GetProperty("category").GetString());
        Assert.Equal("parking", parking.GetProperty("department").GetString());
        var publicSpace = Assert.Single(await Incidents(op, "&department=public-space"));
        Assert.Equal("crowding", publicSpace.GetProperty("category").GetString());
        Assert.Empty(await Incidents(op, "&department=sanitation"));

        Assert.Equal("crowding", Assert.Single(await Incidents(op, "&category=crowding")).GetProperty("category").GetString());
        Assert.Empty(await Incidents(op, "&from=" + Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(5).ToString("O"))));
        Assert.Empty(await Incidents(op, "&state=cases"));

        // The van turned into a case: it shows as a case (routed to parking), and no longer as an open event.
        var opened = await op.PostAsJsonAsync($"/api/events/{van}/case", new { title = "Van on the service road" });
        opened.EnsureSuccessStatusCode();
        var caseItem = Assert.Single(await Incidents(op, "&state=cases"));
        Assert.Equal("case", caseItem.GetProperty("kind").GetString());
        Assert.Equal("parking", caseItem.GetProperty("department").GetString());
        Assert.Equal("case", Assert.Single(await Incidents(op, "&department=parking")).GetProperty("kind").GetString());
        Assert.Single(await Incidents(op, "&state=new"));

        // A case from before cases had a place of their own is drawn at the camera of its first event.
        await using (var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync())
        {
            var stored = await db.Cases.SingleAsync();
            (stored.Latitude, stored.Longitude) = (null, null);
            await db.SaveChangesAsync();
        }

        var legacy = Assert.Single(await Incidents(op, "&state=cases"));
        Assert.Equal((53.8011, -1.5489), (legacy.GetProperty("latitude").GetDouble(), legacy.GetProperty("longitude").GetDouble()));
        Assert.Equal(0, (await op.GetFromJsonAsync<JsonElement>("/api/map/incidents?" + Elsewhere + "&state=cases")).GetProperty("items").GetArrayLength());

        // Scoped to another ward, nothing; a wrong state is a clear 400.
        Assert.Empty(await Incidents(await server.StaffAsync(Roles.Operator, "riverside"), ""));
        Assert.Equal(HttpStatusCode.BadRequest, (await op.GetAsync("/api/map/incidents?" + District + "&state=everything")).StatusCode);
    }
}
