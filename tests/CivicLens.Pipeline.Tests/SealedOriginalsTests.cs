using CivicLens.Privacy.Sealed;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Pipeline.Tests;

/// <summary>Sealed originals, turned on for a run on the real footage: one per event with evidence, revealable only by the rules.</summary>
public sealed class SealedOriginalsTests
{
    private static string SampleConfig => Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml");

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Analyze_WithSealedOriginals_SealsEachEventsFrameAndAnInvestigatorCanRevealIt()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var keyPath = Path.Combine(dir.Path, "keys", "sealing.key");
        SealingKey.Create(keyPath).Dispose();
        var sealedDir = Path.Combine(dir.Path, "sealed");
        var output = new LineStream();

        var summary = await AnalysisRunner.RunAsync(new AnalysisOptions
        {
            Source = TestAssets.SampleVideo,
            ConfigPath = SampleConfig,
            ModelsDirectory = TestAssets.ModelsDirectory,
            SnapshotDirectory = Path.Combine(dir.Path, "evidence"),
            UseFaceDetector = false,
            WriteTracks = false,
            MaxFrames = 320,
            SealedOriginals = new SealedOriginalsSettings(sealedDir, keyPath, TimeSpan.FromHours(72)),
        }, output, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);

        var withEvidence = output.Lines.Where(l => l.TryGetProperty("snapshot", out _) && l.GetProperty("type").GetString() == "event").ToList();
        Assert.NotEmpty(withEvidence);
        Assert.Equal(withEvidence.Count, summary.OriginalsSealed);
        Assert.Equal(withEvidence.Count, Directory.GetFiles(sealedDir, "*.sealed").Length);
        var eventId = Guid.Parse(withEvidence[0].GetProperty("id").GetString()!);

        using var key = SealingKey.Load(keyPath);
        var audit = new JsonLinesRevealAudit(Path.Combine(sealedDir, "audit.jsonl"));
        var store = new SealedOriginalStore(new SealedOriginalOptions { Directory = sealedDir }, key, audit, TimeProvider.System);
        Assert.Throws<SealingException>(() => store.RequestReveal(new RevealRequest(eventId, "op.dan", PrivacyRole.Operator, "CASE-7", "Looking at the entry to check the gate")));
        var grant = store.RequestReveal(new RevealRequest(eventId, "inv.ana", PrivacyRole.Investigator, "CASE-7", "Person fell on the lawn; ambulance asks what happened."));
        var original = store.Open(grant.Id, "inv.ana");

        Assert.Equal((768, 576), (original.Width, original.Height));
        Assert.Equal(768 * 576 * 3, original.Rgb.Length);
        Assert.Equal(["reveal.request", "reveal.request", "reveal.open"], audit.ReadAll().Select(a => a.Action));
    }

    [Fact]
    public async Task Analyze_SealingKeyMissing_RefusesBeforeDecoding()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var output = new LineStream();

        var ex = await Assert.ThrowsAsync<SealingException>(() => AnalysisRunner.RunAsync(new AnalysisOptions
        {
            Source = TestAssets.SampleVideo,
            ConfigPath = SampleConfig,
            ModelsDirectory = TestAssets.ModelsDirectory,
            SealedOriginals = new SealedOriginalsSettings(Path.Combine(dir.Path, "sealed"), Path.Combine(dir.Path, "none.key"), TimeSpan.FromHours(72)),
        }, output, NullLoggerFactory.Instance, new FakeTimeProvider(), CancellationToken.None));

        Assert.Contains("civiclens keys create", ex.Message, StringComparison.Ordinal);
        Assert.Empty(output.Lines);
    }
}
