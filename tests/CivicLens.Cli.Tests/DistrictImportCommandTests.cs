using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Cli.Tests;

/// <summary><c>civiclens district import</c> as an operator runs it: the real process on a real SQLite store.</summary>
public sealed class DistrictImportCommandTests
{
    [Fact]
    public async Task Import_DistrictThenCsv_CreatesCameras_BadCsvWritesNothing()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var data = Path.Combine(dir.Path, "server");
        var district = await TestAssets.SampleConfigAsync(dir.Path);

        var yaml = await Civiclens.RunAsync("district", "import", district, "--data", data);
        Assert.True(yaml.ExitCode == 0, yaml.StdErr);
        Assert.Contains("1 cameras imported", yaml.StdOut, StringComparison.Ordinal);

        var bad = Path.Combine(dir.Path, "bad.csv");
        await File.WriteAllTextAsync(bad, "id,latitude,longitude,source,area\n"
            + "east-1,53.80,-1.54,rtsp://viewer:Sup3rSecret@10.0.0.9/s1,riverside\n"
            + "east-2,53.80,-1.54,not a stream,riverside\n"
            + "east-3,53.80,-1.54,,nowhere\n");
        var refused = await Civiclens.RunAsync("district", "import", bad, "--data", data);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("row 3, source:", refused.StdErr, StringComparison.Ordinal);
        Assert.Contains("row 4, area: unknown area 'nowhere'", refused.StdErr, StringComparison.Ordinal);
        Assert.Contains("nothing was imported", refused.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("Sup3rSecret", refused.StdErr + refused.StdOut, StringComparison.Ordinal);

        var good = Path.Combine(dir.Path, "good.csv");
        await File.WriteAllTextAsync(good, "id,latitude,longitude,source,area\n"
            + "east-1,53.80,-1.54,rtsp://viewer:Sup3rSecret@10.0.0.9/s1,riverside\n"
            + "east-2,53.81,-1.54,,riverside\n");
        var dry = await Civiclens.RunAsync("district", "import", good, "--data", data, "--dry-run");
        Assert.Contains("2 created, 0 updated, 0 unchanged (dry run", dry.StdOut, StringComparison.Ordinal);
        var imported = await Civiclens.RunAsync("district", "import", good, "--data", data);
        Assert.True(imported.ExitCode == 0, imported.StdErr);

        await using var db = new CivicLensDb(StorageSetup.Options(StorageOptions.SqliteFile(Path.Combine(data, "civiclens.db"))));
        var cameras = await db.Cameras.AsNoTracking().OrderBy(c => c.Id).Select(c => new { c.Id, c.AreaId, c.Enabled, c.Health, c.StreamUrlSealed }).ToListAsync();
        Assert.Equal(["east-1", "east-2", "vtest"], cameras.Select(c => c.Id).ToArray());
        Assert.All(cameras.Where(c => c.Id.StartsWith("east", StringComparison.Ordinal)), c => Assert.False(c.Enabled));
        Assert.True(cameras.Single(c => c.Id == "vtest").Enabled);
        var sealedUrl = cameras.Single(c => c.Id == "east-1").StreamUrlSealed!;
        Assert.DoesNotContain("Sup3rSecret", System.Text.Encoding.UTF8.GetString(sealedUrl), StringComparison.Ordinal);
        Assert.True(await db.Audit.AnyAsync(a => a.Action == "camera.import"));
    }
}
