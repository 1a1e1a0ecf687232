using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CivicLens.Server.Tests;

/// <summary>
/// The authorization matrix, generated from the server's own endpoint table: every endpoint x every role x an
/// object in and out of the caller's area scope. A new endpoint is covered the moment it is mapped; one mapped
/// without a policy fails here.
/// </summary>
public sealed class AuthorizationMatrixTests
{
    private const string Anonymous = "anonymous";

    private sealed record Endpoint(string Method, string Pattern, IReadOnlyList<string>? Roles, bool AllowAnonymous);

    private static List<Endpoint> Endpoints(TestServer server)
    {
        var list = new List<Endpoint>();
        foreach (var e in server.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var methods = e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            var pattern = "/" + e.RoutePattern.RawText!.TrimStart('/');
            var anonymous = e.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var policies = e.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).Where(p => p is not null).ToList();
            IReadOnlyList<string>? roles = policies.Count == 0 ? null : policies.Select(p => Policies.Matrix[p!]).Aggregate((a, b) => [.. a.Intersect(b)]);
            foreach (var m in methods) list.Add(new Endpoint(m, pattern, roles, anonymous));
        }

        return list;
    }

    [Fact]
    public async Task EveryEndpoint_AnswersEachRoleAsTheMatrixSays_AndHidesObjectsOutOfScope()
    {
        await using var server = await TestServer.StartAsync();
        var fixtures = await SeedTwoAreasAsync(server);
        var callers = new Dictionary<string, HttpClient>
        {
            [Anonymous] = server.Client(),
            [Roles.Node] = NodeClient(server, await server.ApiKeyAsync()),
        };
        // Staff scoped to the campus area: what lies in riverside must look like it does not exist.
        foreach (var role in Roles.Staff) callers[role] = await server.StaffAsync(role, "campus");

        // Logout would end the caller's session mid-matrix; the login answers 401 to the empty credentials on purpose.
        var endpoints = Endpoints(server).Where(e => e.Pattern is not ("/api/auth/logout" or "/api/auth/login")).ToList();
        Assert.Contains(endpoints, e => e.Pattern.StartsWith("/api/events", StringComparison.Ordinal));
        var failures = new List<string>();
        foreach (var endpoint in endpoints)
        {
            // Only the public pages may be reached without a session: the transparency register, the reporter's
            // status page (found by a 128-bit token), public report intake (off unless the city turns it on,
            // rate-limited) and Open311 (reading minimised for anonymous callers; filing needs a key or public intake).
            var isPublic = endpoint.AllowAnonymous;
            if (isPublic && !PublicSurface.IsPublic(endpoint.Pattern))
            {
                failures.Add($"{endpoint.Method} {endpoint.Pattern} is reachable without login");
            }

            foreach (var (caller, client) in callers)
            {
                foreach (var inScope in new[] { true, false })
                {
                    var url = Fill(endpoint.Pattern, fixtures, inScope);
                    if (url is null) continue;
                    using var request = new HttpRequestMessage(new HttpMethod(endpoint.Method), url);
                    if (endpoint.Method is "POST" or "PUT" or "PATCH") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                    using var response = await client.SendAsync(request);
                    var status = (int)response.StatusCode;
                    var allowed = isPublic || (caller != Anonymous && (endpoint.Roles is null ? caller != Roles.Node : endpoint.Roles.Contains(caller)));
                    // An API key is not a session: endpoints for staff answer a key as they answer nobody.
                    var expectDenied = caller == Anonymous || (caller == Roles.Node && endpoint.Roles is null) ? 401 : 403;
                    if (!allowed && status != expectDenied) failures.Add($"{caller} {endpoint.Method} {url}: {status}, expected {expectDenied}");
                    if (allowed && status is 401 or 403) failures.Add($"{caller} {endpoint.Method} {url}: {status}, expected access");
                    if (allowed && !isPublic && !inScope && caller != Roles.Node && HasScopedObject(endpoint.Pattern) && status != 404)
                    {
                        failures.Add($"{caller} {endpoint.Method} {url} (out of scope): {status}, expected 404");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task EventList_ScopedViewer_SeesOnlyItsArea()
    {
        await using var server = await TestServer.StartAsync();
        var fixtures = await SeedTwoAreasAsync(server);
        var campus = await server.StaffAsync(Roles.Viewer, "campus");
        var everyone = await server.StaffAsync(Roles.Viewer);
        var scoped = await campus.GetFromJsonAsync<JsonElement>("/api/events?limit=500");
        var all = await everyone.GetFromJsonAsync<JsonElement>("/api/events?limit=500");
        var scopedAreas = scoped.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("area").GetString()).Distinct().ToList();
        Assert.Equal(["campus"], scopedAreas);
        Assert.Contains(all.GetProperty("items").EnumerateArray(), e => e.GetProperty("id").GetGuid() == fixtures.EventOut);
        var cameras = await campus.GetFromJsonAsync<JsonElement>("/api/cameras");
        Assert.DoesNotContain(cameras.GetProperty("items").EnumerateArray(), c => c.GetProperty("id").GetString() == "river-cam");
    }

    private sealed record Fixtures(Guid EventIn, Guid EventOut, long CaseIn, long CaseOut)
    {
        /// <summary>Another camera's view of each event (site evidence).</summary>
        public long ViewIn { get; init; }

        public long ViewOut { get; init; }
    }

    private static bool HasScopedObject(string pattern) =>
        pattern.StartsWith("/api/events/{", StringComparison.Ordinal) || pattern.StartsWith("/api/cases/{", StringComparison.Ordinal)
        || pattern.StartsWith("/api/cameras/{", StringComparison.Ordinal);

    private static string? Fill(string pattern, Fixtures f, bool inScope)
    {
        if (!pattern.Contains('{', StringComparison.Ordinal)) return inScope ? pattern : null;
        string Value(string name) => name switch
        {
            "viewId" => (inScope ? f.ViewIn : f.ViewOut).ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ when pattern.StartsWith("/api/events/", StringComparison.Ordinal) => (inScope ? f.EventIn : f.EventOut).ToString(),
            _ when pattern.StartsWith("/api/cases/", StringComparison.Ordinal) => (inScope ? f.CaseIn : f.CaseOut).ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ when pattern.StartsWith("/api/cameras/", StringComparison.Ordinal) => inScope ? "vtest" : "river-cam",
            _ when pattern.StartsWith("/transparency", StringComparison.Ordinal) && name == "year" => "2026",
            _ when pattern.StartsWith("/transparency", StringComparison.Ordinal) => "vtest",
            "documentName" => "v1",
            "grant" => Guid.NewGuid().ToString(),
            // Accounts and keys: an id that does not exist, so the matrix never disables a real one.
            _ => "999999",
        };

        if (!inScope && !HasScopedObject(pattern)) return null;
        var sb = new StringBuilder();
        var i = 0;
        while (i < pattern.Length)
        {
            if (pattern[i] == '{')
            {
                var end = pattern.IndexOf('}', i);
                var name = pattern[(i + 1)..end].Split(':', '=', '?')[0].TrimStart('*');
                sb.Append(Value(name));
                i = end + 1;
            }
            else
            {
                sb.Append(pattern[i++]);
            }
        }

        return sb.ToString();
    }

    private static HttpClient NodeClient(TestServer server, string key)
    {
        var client = server.Client();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("ApiKey", key);
        return client;
    }

    /// <summary>A second camera in the riverside area, and an event and a case on each side.</summary>
    private static async Task<Fixtures> SeedTwoAreasAsync(TestServer server)
    {
        var dbs = server.Service<IDbContextFactory<CivicLensDb>>();
        await using (var db = await dbs.CreateDbContextAsync())
        {
            db.Cameras.Add(new Camera
            {
                Id = "river-cam",
                Name = "Riverside quay",
                AreaId = "riverside",
                Purpose = "Quay safety",
                LegalBasis = "Sample ordinance",
                DepartmentId = "public-space",
                RetentionDays = 30,
                Analytics = "occupancy",
            });
            await db.SaveChangesAsync();
        }

        var node = NodeClient(server, await server.ApiKeyAsync("seed"));
        Guid eventIn = Guid.NewGuid(), eventOut = Guid.NewGuid(), caseIn = Guid.NewGuid(), caseOut = Guid.NewGuid();
        var at = DateTimeOffset.UtcNow;
        object E(Guid id, string camera) => new { id, kind = "zone.occupancy", phase = "start", camera, rule = "crowding", category = "crowding", at, count = 7, confidence = 0.7 };
        var posted = await node.PostAsJsonAsync("/api/ingest/events", new { events = new[] { E(eventIn, "vtest"), E(eventOut, "river-cam"), E(caseIn, "vtest"), E(caseOut, "river-cam") } });
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());

        var everywhere = await server.StaffAsync(Roles.Operator);
        async Task<long> CaseFrom(Guid id)
        {
            var r = await everywhere.PostAsJsonAsync($"/api/events/{id}/case", new { title = "Crowding at the gate" });
            Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
            return (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        }

        EventEvidence viewIn = new() { EventId = eventIn, CameraId = "river-cam", Snapshot = "river-cam-0000001-view.jpg", At = at.ToUnixTimeMilliseconds() };
        EventEvidence viewOut = new() { EventId = eventOut, CameraId = "vtest", Snapshot = "vtest-0000001-view.jpg", At = at.ToUnixTimeMilliseconds() };
        await using (var db = await dbs.CreateDbContextAsync())
        {
            db.EventEvidence.AddRange(viewIn, viewOut);
            await db.SaveChangesAsync();
        }

        return new Fixtures(eventIn, eventOut, await CaseFrom(caseIn), await CaseFrom(caseOut)) { ViewIn = viewIn.Id, ViewOut = viewOut.Id };
    }
}
