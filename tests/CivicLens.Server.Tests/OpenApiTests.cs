using System.Text.Json;
using System.Text.Json.Nodes;
using CivicLens.TestSupport;

namespace CivicLens.Server.Tests;

/// <summary>
/// The committed OpenAPI document (docs/api/openapi.json) is what the server serves: an API change without an
/// updated document fails CI. Regenerate with <c>CIVICLENS_UPDATE_OPENAPI=1 dotnet test --filter OpenApiTests</c>.
/// </summary>
public sealed class OpenApiTests
{
    [Fact]
    public async Task ServedDocument_MatchesTheCommittedOne()
    {
        await using var server = await TestServer.StartAsync();
        var admin = await server.AdminAsync();
        var served = JsonNode.Parse(await admin.GetStringAsync("/api/openapi/v1.json"))!;
        // The server address differs per run; it is not part of the contract.
        served.AsObject().Remove("servers");
        var text = served.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        var path = Path.Combine(TestAssets.RepoRoot, "docs", "api", "openapi.json");
        if (Environment.GetEnvironmentVariable("CIVICLENS_UPDATE_OPENAPI") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, text);
        }

        Assert.True(File.Exists(path), $"{path} is missing: run CIVICLENS_UPDATE_OPENAPI=1 dotnet test --filter OpenApiTests and commit it");
        var committed = await File.ReadAllTextAsync(path);
        Assert.True(committed == text, "The API changed but docs/api/openapi.json did not: run CIVICLENS_UPDATE_OPENAPI=1 dotnet test --filter OpenApiTests, review the diff and commit it.");

        // Every operation documents its problem answers' shape.
        var paths = served["paths"]!.AsObject();
        Assert.Contains("/api/events", paths.Select(p => p.Key));
        Assert.Contains("/api/ingest/events", paths.Select(p => p.Key));
    }
}
