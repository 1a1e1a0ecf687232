using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Cli.Tests;

/// <summary><c>civiclens holds</c> as an administrator runs it: the real process on a real SQLite store.</summary>
public sealed class HoldsCommandTests
{
    [Fact]
    public async Task Holds_CreateListExtendRelease_OnTheStore_RefusedRequestsWriteNothing_AndAuditAsTheCli()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var data = Path.Combine(dir.Path, "server");
        var district = await TestAssets.SampleConfigAsync(dir.Path);
        var imported = await Civiclens.RunAsync("district", "import", district, "--data", data);
        Assert.True(imported.ExitCode == 0, imported.StdErr);
        var expires = DateTimeOffset.UtcNow.AddDays(90).ToString("O");

        var refused = await Civiclens.RunAsync("holds", "create", "--data", data, "--scope", "camera", "--target", "no-such-camera", "--reference", "CR-7",
            "--reason", "Insurance claim", "--expires", expires, "--from", "2026-10-01T10:00:00Z", "--to", "2026-10-01T12:00:00Z");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("target names no camera", refused.StdErr, StringComparison.Ordinal);

        var created = await Civiclens.RunAsync("holds", "create", "--data", data, "--scope", "camera", "--target", "vtest", "--reference", "CR-7",
            "--reason", "Insurance claim", "--expires", expires, "--from", "2026-10-01T10:00:00Z", "--to", "2026-10-01T12:00:00Z");
        Assert.True(created.ExitCode == 0, created.StdErr);
        Assert.StartsWith("placed #1 camera vtest 2026-10-01T10:00:00Z..2026-10-01T12:00:00Z [CR-7]", created.StdOut, StringComparison.Ordinal);

        var list = await Civiclens.RunAsync("holds", "list", "--data", data);
        Assert.Contains("#1 camera vtest", Assert.Single(list.Lines), StringComparison.Ordinal);

        var extended = await Civiclens.RunAsync("holds", "extend", "1", "--data", data, "--expires", DateTimeOffset.UtcNow.AddDays(200).ToString("O"), "--reason", "Trial moved");
        Assert.True(extended.ExitCode == 0, extended.StdErr);

        var released = await Civiclens.RunAsync("holds", "release", "1", "--data", data, "--reason", "Claim settled");
        Assert.True(released.ExitCode == 0, released.StdErr);
        Assert.Contains("released", released.StdOut, StringComparison.Ordinal);
        Assert.Contains("Claim settled", (await Civiclens.RunAsync("holds", "list", "--all", "--data", data)).StdOut, StringComparison.Ordinal);

        await using var db = new CivicLensDb(StorageSetup.Options(StorageOptions.SqliteFile(Path.Combine(data, "civiclens.db"))));
        Assert.Equal(1, await db.LegalHolds.CountAsync());
        var audit = await db.Audit.Where(a => a.Action.StartsWith("hold.")).OrderBy(a => a.Seq).Select(a => new { a.Action, a.Actor }).ToListAsync();
        Assert.Equal(["hold.create", "hold.extend", "hold.release"], audit.Select(a => a.Action).ToArray());
        Assert.All(audit, a => Assert.StartsWith("cli:", a.Actor, StringComparison.Ordinal));
    }
}
