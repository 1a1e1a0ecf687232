using CivicLens.TestSupport;

namespace CivicLens.Cli.Tests;

public sealed class RedactCommandTests
{
    [Fact]
    public async Task Redact_WritesOneCleanJpegPerImage_RefusesTheRest_ExitsOne()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var notAnImage = Path.Combine(dir.Path, "invoice.jpg");
        await File.WriteAllTextAsync(notAnImage, "%PDF-1.7 not a photo");
        var output = Path.Combine(dir.Path, "out");

        var r = await Civiclens.RunAsync("redact", TestAssets.Still("messi5.jpg"), notAnImage, TestAssets.Still("person.jpg"), "--out", output);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("messi5.jpg -> ", r.StdOut, StringComparison.Ordinal);
        Assert.Matches(@"hid [1-9]\d* faces?, [1-9]\d* heads?", r.StdOut);
        Assert.Contains("error: invoice.jpg: Not an image", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("1 of 3 images not redacted", r.StdErr, StringComparison.Ordinal);
        Assert.Equal(["messi5.jpg", "person.jpg"], Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var jpeg = await File.ReadAllBytesAsync(Path.Combine(output, "messi5.jpg"));
        Assert.Equal(new byte[] { 0xFF, 0xD8 }, jpeg[..2]);
    }
}
