using System.Security.Cryptography;
using CivicLens.Privacy.Sealed;
using CivicLens.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Privacy.Tests.Sealed;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SealedOriginalStoreTests : IDisposable
{
    private const string Reason = "Hit-and-run reported at the market entrance; need the vehicle's colour and make.";
    private readonly TempDirectory _dir = TestAssets.CreateTempDirectory();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
    private readonly SealingKey _key;
    private readonly JsonLinesRevealAudit _audit;
    private readonly byte[] _frame = RandomNumberGenerator.GetBytes(64 * 48 * 3);
    private readonly Guid _event = Guid.NewGuid();

    public SealedOriginalStoreTests()
    {
        _key = SealingKey.Create(Path.Combine(_dir.Path, "keys", "sealing.key"));
        _audit = new JsonLinesRevealAudit(Path.Combine(_dir.Path, "audit", "reveals.jsonl"));
    }

    public void Dispose()
    {
        _key.Dispose();
        _dir.Dispose();
    }

    private SealedOriginalStore Store(bool secondApprover = false, SealingKey? key = null) =>
        new(new SealedOriginalOptions { Directory = Path.Combine(_dir.Path, "sealed"), RequireSecondApprover = secondApprover }, key ?? _key, _audit, _time);

    private RevealRequest Ask(string user = "inv.ana", PrivacyRole role = PrivacyRole.Investigator, string caseRef = "CASE-2026-0142", string reason = Reason) =>
        new(_event, user, role, caseRef, reason);

    [Fact]
    public void Seal_File_HoldsNoPlainPixelsAndIsPrivateToTheServiceUser()
    {
        var store = Store();
        store.Seal(_event, _frame, 64, 48);

        var path = Directory.GetFiles(Path.Combine(_dir.Path, "sealed")).Single();
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.AsSpan().IndexOf(_frame.AsSpan(0, 32)) < 0, "plain pixels found in the sealed file");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void Keep_AFileSealedElsewhereWithTheSameKey_IsRevealableHere_OneOfAnotherKeyIsRefusedUnwritten()
    {
        // A node seals; the hub keeps the file in its own store and reveals it there.
        var node = new SealedOriginalStore(new SealedOriginalOptions { Directory = Path.Combine(_dir.Path, "node") }, _key, _audit, _time);
        node.Seal(_event, _frame, 64, 48);
        var file = File.ReadAllBytes(Directory.GetFiles(Path.Combine(_dir.Path, "node")).Single());
        var hub = Store();
        Assert.True(hub.Keep(_event, file));
        Assert.Equal(_frame, hub.Open(hub.RequestReveal(Ask()).Id, "inv.ana").Rgb);

        using var other = SealingKey.Create(Path.Combine(_dir.Path, "keys", "other.key"));
        var stranger = new SealedOriginalStore(new SealedOriginalOptions { Directory = Path.Combine(_dir.Path, "stranger") }, other, _audit, _time);
        var foreignEvent = Guid.NewGuid();
        stranger.Seal(foreignEvent, _frame, 64, 48);
        Assert.False(hub.Keep(foreignEvent, File.ReadAllBytes(Directory.GetFiles(Path.Combine(_dir.Path, "stranger")).Single())));
        Assert.False(hub.Keep(foreignEvent, "not a sealed original at all, but long enough to pass a length check"u8));
        Assert.Single(Directory.GetFiles(Path.Combine(_dir.Path, "sealed")));
    }

    [Fact]
    public void Reveal_InvestigatorWithCaseAndReason_OpensTheExactOriginalAndAuditsEachStep()
    {
        var store = Store();
        store.Seal(_event, _frame, 64, 48);

        var grant = store.RequestReveal(Ask());
        var original = store.Open(grant.Id, "inv.ana");

        Assert.Equal(_frame, original.Rgb);
        Assert.Equal((64, 48), (original.Width, original.Height));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(15), original.ExpiresAt);
        var audit = _audit.ReadAll();
        Assert.Equal(["reveal.request", "reveal.open"], audit.Select(a => a.Action));
        Assert.All(audit, a => Assert.Equal(("CASE-2026-0142", true), (a.CaseReference, a.Allowed)));
    }

    [Theory]
    [InlineData(PrivacyRole.Operator, "CASE-1", Reason, "investigator role")]
    [InlineData(PrivacyRole.Admin, "CASE-1", Reason, "investigator role")]
    [InlineData(PrivacyRole.Investigator, "", Reason, "case reference")]
    [InlineData(PrivacyRole.Investigator, "CASE-1", "", "written reason")]
    [InlineData(PrivacyRole.Investigator, "CASE-1", "curious", "written reason")]
    public void RequestReveal_MissingRoleCaseOrReason_RefusedAndAudited(PrivacyRole role, string caseRef, string reason, string why)
    {
        var store = Store();
        store.Seal(_event, _frame, 64, 48);

        var ex = Assert.Throws<SealingException>(() => store.RequestReveal(Ask(role: role, caseRef: caseRef, reason: reason)));

        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
        var record = Assert.Single(_audit.ReadAll());
        Assert.False(record.Allowed);
        Assert.Contains(why, record.Outcome, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_AfterTheGrantExpired_Refused()
    {
        var store = Store();
        store.Seal(_event, _frame, 64, 48);
        var grant = store.RequestReveal(Ask());

        _time.Advance(TimeSpan.FromMinutes(16));

        var ex = Assert.Throws<SealingException>(() => store.Open(grant.Id, "inv.ana"));
        Assert.Contains("expired", ex.Message, StringComparison.Ordinal);
        Assert.False(_audit.ReadAll()[^1].Allowed);
    }

    [Fact]
    public void Open_ByAnotherUser_Refused()
    {
        var store = Store();
        store.Seal(_event, _frame, 64, 48);
        var grant = store.RequestReveal(Ask());

        Assert.Throws<SealingException>(() => store.Open(grant.Id, "inv.bob"));
    }

    [Fact]
    public void SecondApprover_RequiredSelfApprovalRefusedOtherInvestigatorApproves()
    {
        var store = Store(secondApprover: true);
        store.Seal(_event, _frame, 64, 48);
        var grant = store.RequestReveal(Ask());

        Assert.False(grant.IsApproved);
        Assert.Throws<SealingException>(() => store.Open(grant.Id, "inv.ana"));
        Assert.Throws<SealingException>(() => store.Approve(grant.Id, "inv.ana", PrivacyRole.Investigator));
        Assert.Throws<SealingException>(() => store.Approve(grant.Id, "admin.carl", PrivacyRole.Admin));
        var approved = store.Approve(grant.Id, "inv.bob", PrivacyRole.Investigator);

        Assert.Equal("inv.bob", approved.ApprovedBy);
        Assert.Equal(_frame, store.Open(grant.Id, "inv.ana").Rgb);
    }

    [Fact]
    public void Purge_AfterTheWindow_DestroysTheOriginalAndNothingCanBeRevealed()
    {
        var store = Store();
        store.Seal(_event, _frame, 64, 48);
        var other = Guid.NewGuid();
        _time.Advance(TimeSpan.FromHours(71));
        store.Seal(other, _frame, 64, 48);

        Assert.Equal(0, store.Purge());
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, store.Purge());

        var ex = Assert.Throws<SealingException>(() => store.RequestReveal(Ask()));
        Assert.Contains("no sealed original", ex.Message, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(Path.Combine(_dir.Path, "sealed")));
        Assert.Contains(_audit.ReadAll(), a => a.Action == "original.destroyed" && a.EventId == _event);
    }

    [Fact]
    public void Open_WithTheWrongKey_RefusedNamingBothKeys()
    {
        var store = Store();
        store.Seal(_event, _frame, 64, 48);
        using var otherKey = SealingKey.Create(Path.Combine(_dir.Path, "keys", "other.key"));
        var wrong = Store(key: otherKey);
        var grant = wrong.RequestReveal(Ask());

        var ex = Assert.Throws<SealingException>(() => wrong.Open(grant.Id, "inv.ana"));

        Assert.Contains(_key.Id, ex.Message, StringComparison.Ordinal);
        Assert.Contains(otherKey.Id, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_TamperedOrRenamedFile_FailsItsIntegrityCheck()
    {
        var store = Store();
        store.Seal(_event, _frame, 64, 48);
        var path = Directory.GetFiles(Path.Combine(_dir.Path, "sealed")).Single();
        var bytes = File.ReadAllBytes(path);
        bytes[^10] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        var grant = store.RequestReveal(Ask());

        var ex = Assert.Throws<SealingException>(() => store.Open(grant.Id, "inv.ana"));

        Assert.Contains("integrity", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingOrTooOpenOrWrongSizedKey_RefusedWithTheFix()
    {
        var missing = Assert.Throws<SealingException>(() => SealingKey.Load(Path.Combine(_dir.Path, "nope.key")));
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);

        var open = Path.Combine(_dir.Path, "open.key");
        File.WriteAllBytes(open, RandomNumberGenerator.GetBytes(32));
        File.SetUnixFileMode(open, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        Assert.Contains("chmod 600", Assert.Throws<SealingException>(() => SealingKey.Load(open)).Message, StringComparison.Ordinal);

        var shortKey = Path.Combine(_dir.Path, "short.key");
        File.WriteAllBytes(shortKey, new byte[16]);
        File.SetUnixFileMode(shortKey, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Contains("16 bytes", Assert.Throws<SealingException>(() => SealingKey.Load(shortKey)).Message, StringComparison.Ordinal);

        Assert.Throws<SealingException>(() => SealingKey.Create(Path.Combine(_dir.Path, "keys", "sealing.key")));
    }
}
