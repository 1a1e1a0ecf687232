using CivicLens.Reports.Cases;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Reports.Tests;

/// <summary>The case lifecycle as plain rules: allowed moves, their times, SLA escalation, merging, and what each change asks to be told.</summary>
public sealed class CaseTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));

    private Case New(long id = 1, string category = "waste", CaseState state = CaseState.Open) =>
        Case.Restore(id, category, "sanitation", state, 0, _time.GetUtcNow(), _time.GetUtcNow().AddHours(4), _time.GetUtcNow().AddDays(2));

    [Fact]
    public void Acknowledge_OpenCase_StampsTheTimeOnceAndWritesTheMove()
    {
        var c = New();
        _time.Advance(TimeSpan.FromMinutes(30));
        var change = c.Acknowledge("ops1", _time.GetUtcNow(), "on it");
        Assert.Equal(CaseState.Acknowledged, c.State);
        Assert.Equal(_time.GetUtcNow(), c.AcknowledgedAt);
        Assert.Equal(1, c.Version);
        var line = Assert.Single(change.History);
        Assert.Equal("open -> acknowledged: on it", line.Text);
        Assert.Equal("ops1", line.Actor);
        Assert.Equal(("case.transition", "open -> acknowledged"), (change.AuditAction, change.AuditDetail));
        Assert.Empty(change.Notices);
        Assert.False(change.TellReporters);

        _time.Advance(TimeSpan.FromHours(1));
        c.Start("ops1", _time.GetUtcNow());
        Assert.Equal(_time.GetUtcNow().AddHours(-1), c.AcknowledgedAt);
    }

    [Fact]
    public void Start_StraightFromOpen_CountsAsAcknowledged()
    {
        var c = New();
        c.Start("ops1", _time.GetUtcNow());
        Assert.Equal(CaseState.InProgress, c.State);
        Assert.Equal(_time.GetUtcNow(), c.AcknowledgedAt);
    }

    [Theory]
    [InlineData(CaseState.Open, CaseState.Fixed)]
    [InlineData(CaseState.InProgress, CaseState.Acknowledged)]
    [InlineData(CaseState.Closed, CaseState.InProgress)]
    [InlineData(CaseState.Closed, CaseState.Closed)]
    [InlineData(CaseState.Acknowledged, CaseState.Open)]
    public void MoveTo_NotAllowed_IsRefusedAndChangesNothing(CaseState from, CaseState to)
    {
        var c = New(state: from);
        var ex = Assert.Throws<CaseRuleException>(() => c.MoveTo(to, "ops1", _time.GetUtcNow()));
        Assert.Contains($"from {from.Name()}", ex.Message, StringComparison.Ordinal);
        Assert.Equal(from, c.State);
        Assert.Equal(0, c.Version);
    }

    [Fact]
    public void Fix_AsksToTellReporters_AndWithACameraWaitsForIt()
    {
        var c = New(state: CaseState.InProgress);
        _time.Advance(TimeSpan.FromHours(3));
        var change = c.Fix("ops1", _time.GetUtcNow(), watch: new CameraWatch("cam-1", "kerb"));
        Assert.Equal(CaseState.Fixed, c.State);
        Assert.Equal(_time.GetUtcNow(), c.FixedAt);
        Assert.True(change.TellReporters);
        Assert.Equal(CaseVerification.AwaitingCamera, c.Verification);
        Assert.Equal(["in_progress -> fixed", "waiting for camera cam-1 to see zone kerb clear"], change.History.Select(h => h.Text));
    }

    [Fact]
    public void Close_FixAwaitingCamera_NeedsAReason_ThenSaysItWasNotConfirmed()
    {
        var c = New(state: CaseState.InProgress);
        c.Fix("ops1", _time.GetUtcNow(), watch: new CameraWatch("cam-1", "kerb"));
        var ex = Assert.Throws<CaseRuleException>(() => c.Close("ops1", _time.GetUtcNow()));
        Assert.Contains("camera cam-1 has not yet confirmed", ex.Message, StringComparison.Ordinal);
        Assert.Equal(CaseState.Fixed, c.State);

        _time.Advance(TimeSpan.FromMinutes(5));
        var change = c.Close("ops1", _time.GetUtcNow(), "camera is down, checked on site");
        Assert.Equal(CaseState.Closed, c.State);
        Assert.Equal(_time.GetUtcNow(), c.ClosedAt);
        Assert.Equal(CaseVerification.None, c.Verification);
        Assert.Equal(["fixed -> closed: camera is down, checked on site", "closed without camera confirmation"], change.History.Select(h => h.Text));
        Assert.True(change.TellReporters);
    }

    [Fact]
    public void Open_IsOpenAtVersionZero_TimedByTheCategorysServiceLevels_WithWhereItCameFromAndWhy()
    {
        var category = new Rules.Configuration.CategoryConfig("waste", "Waste") { AcknowledgeWithin = TimeSpan.FromHours(2), FixWithin = TimeSpan.FromDays(1) };
        var (c, change) = Case.Open(category, "sanitation", "waste in campus", _time.GetUtcNow(), "public", "public report");
        Assert.Equal((CaseState.Open, 0, "sanitation"), (c.State, c.Version, c.Department));
        Assert.Equal(_time.GetUtcNow().AddHours(2), c.AcknowledgeBy);
        Assert.Equal(_time.GetUtcNow().AddDays(1), c.FixBy);
        Assert.Equal(["opened from public report; routed to sanitation (waste in campus)"], change.History.Select(h => h.Text));
        Assert.Equal("public", change.History[0].Actor);
        // Three hours on, still unacknowledged: in breach.
        Assert.Equal("acknowledge", c.BreachAt(_time.GetUtcNow().AddHours(3)));
    }

    [Fact]
    public void ConfirmByCamera_OnlyAFixWaitingForItsCamera_ClosesConfirmed_AndIsAuditedAsAVerification()
    {
        var c = New(state: CaseState.InProgress);
        Assert.Throws<CaseRuleException>(() => c.ConfirmByCamera(_time.GetUtcNow(), "camera cam-1 saw zone kerb clear"));
        c.Fix("ops1", _time.GetUtcNow());
        // Fixed without a watching camera: nothing for a camera to confirm.
        Assert.Throws<CaseRuleException>(() => c.ConfirmByCamera(_time.GetUtcNow(), "camera cam-1 saw zone kerb clear"));

        var watched = New(state: CaseState.InProgress);
        watched.Fix("ops1", _time.GetUtcNow(), watch: new CameraWatch("cam-1", "kerb"));
        _time.Advance(TimeSpan.FromHours(2));
        var change = watched.ConfirmByCamera(_time.GetUtcNow(), "camera cam-1 saw zone kerb clear");
        Assert.Equal(CaseState.Closed, watched.State);
        Assert.Equal(CaseVerification.Confirmed, watched.Verification);
        Assert.Equal(_time.GetUtcNow(), watched.ClosedAt);
        Assert.Equal("case.verify", change.AuditAction);
        Assert.Equal("camera cam-1, zone kerb", change.AuditDetail);
        Assert.Equal(["camera cam-1 saw zone kerb clear; fixed -> closed"], change.History.Select(h => h.Text));
        Assert.Throws<CaseRuleException>(() => watched.ConfirmByCamera(_time.GetUtcNow(), "again"));
    }

    [Fact]
    public void Reopen_FixedCase_GoesBackInProgress_DropsTheWatch_AndTellsTheDepartment()
    {
        var c = New(state: CaseState.InProgress);
        c.Fix("ops1", _time.GetUtcNow(), watch: new CameraWatch("cam-1", "kerb"));
        _time.Advance(TimeSpan.FromDays(1));
        var change = c.MoveTo(CaseState.InProgress, "ops2", _time.GetUtcNow(), "still there");
        Assert.Equal(CaseState.InProgress, c.State);
        Assert.Equal(CaseVerification.None, c.Verification);
        Assert.Null(c.Watch);
        Assert.Null(c.ClosedAt);
        var notice = Assert.Single(change.Notices);
        Assert.Equal(NoticeKinds.Reopened, notice.Kind);
        Assert.Null(notice.Department);
        Assert.Equal("reopened by ops2: still there", notice.Reason);
        Assert.False(change.TellReporters);
    }

    [Fact]
    public void Reopen_CaseNotFixed_IsRefused()
    {
        Assert.Throws<CaseRuleException>(() => New(state: CaseState.InProgress).Reopen("ops1", _time.GetUtcNow()));
        Assert.Throws<CaseRuleException>(() => New(state: CaseState.Closed).Reopen("ops1", _time.GetUtcNow()));
    }

    [Fact]
    public void ExpectVersion_Stale_IsRefused()
    {
        var c = New();
        c.Acknowledge("ops1", _time.GetUtcNow());
        c.ExpectVersion(1);
        var ex = Assert.Throws<CaseRuleException>(() => c.ExpectVersion(0));
        Assert.Contains("version 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Escalate_EachBreachOnce_AcknowledgeThenFix()
    {
        var c = New();
        Assert.Null(c.Escalate(_time.GetUtcNow(), "works"));

        _time.Advance(TimeSpan.FromHours(5));
        var first = c.Escalate(_time.GetUtcNow(), "works");
        Assert.NotNull(first);
        Assert.Equal("acknowledge", c.EscalatedFor);
        Assert.Equal(_time.GetUtcNow(), c.EscalatedAt);
        var notice = Assert.Single(first.Notices);
        Assert.Equal((NoticeKinds.Escalated, "works", "not acknowledged in time by sanitation"), (notice.Kind, notice.Department, notice.Reason));
        Assert.Equal("SLA breached: not acknowledged in time; escalated to works", Assert.Single(first.History).Text);
        Assert.Null(c.Escalate(_time.GetUtcNow().AddMinutes(1), "works"));

        c.Acknowledge("ops1", _time.GetUtcNow());
        _time.Advance(TimeSpan.FromDays(2));
        var second = c.Escalate(_time.GetUtcNow(), null);
        Assert.NotNull(second);
        Assert.Equal("fix", c.EscalatedFor);
        Assert.Equal("sanitation", Assert.Single(second.Notices).Department);
        Assert.Contains("nobody (no escalation configured)", second.History[0].Text, StringComparison.Ordinal);
        Assert.Null(c.Escalate(_time.GetUtcNow().AddDays(1), null));
    }

    [Fact]
    public void Escalate_FixedCase_IsNotInBreach()
    {
        var c = New(state: CaseState.InProgress);
        c.Fix("ops1", _time.GetUtcNow());
        _time.Advance(TimeSpan.FromDays(5));
        Assert.Null(c.Escalate(_time.GetUtcNow(), "works"));
    }

    [Fact]
    public void MergeInto_ClosesTheDuplicate_AndTellsTheSurvivorsDepartmentOfTheReports()
    {
        var dup = New(2);
        var survivor = New(1, state: CaseState.Acknowledged);
        _time.Advance(TimeSpan.FromMinutes(10));
        var (merged, kept) = dup.MergeInto(survivor, "ops1", _time.GetUtcNow(), reports: 2, events: 1);
        Assert.Equal(CaseState.Closed, dup.State);
        Assert.Equal(1, dup.MergedInto);
        Assert.Equal(_time.GetUtcNow(), dup.ClosedAt);
        Assert.False(merged.TellReporters);
        Assert.Equal("merged into case 1", Assert.Single(merged.History).Text);
        Assert.Equal(("case.merge", "into case 1"), (merged.AuditAction, merged.AuditDetail));
        Assert.Equal(CaseState.Acknowledged, survivor.State);
        Assert.Equal(1, survivor.Version);
        Assert.Equal("case 2 merged in (2 report(s), 1 event(s))", Assert.Single(kept.History).Text);
        var notice = Assert.Single(kept.Notices);
        Assert.Equal(NoticeKinds.ReportAdded, notice.Kind);
        Assert.Null(notice.Department);
    }

    [Fact]
    public void MergeInto_NoReports_TellsNobody()
    {
        var (_, kept) = New(2).MergeInto(New(1), "ops1", _time.GetUtcNow(), reports: 0, events: 3);
        Assert.Empty(kept.Notices);
    }

    [Fact]
    public void MergeInto_ClosedSelfOrOtherCategory_IsRefused()
    {
        Assert.Throws<CaseRuleException>(() => New(2).MergeInto(New(2), "ops1", _time.GetUtcNow(), 0, 0));
        Assert.Throws<CaseRuleException>(() => New(2).MergeInto(New(1, state: CaseState.Closed), "ops1", _time.GetUtcNow(), 0, 0));
        var ex = Assert.Throws<CaseRuleException>(() => New(2).MergeInto(New(1, "graffiti"), "ops1", _time.GetUtcNow(), 0, 0));
        Assert.Contains("different categories", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Assign_WritesWhoAndBumpsTheVersion_ClosedCaseRefuses()
    {
        var c = New();
        var change = c.Assign("sup1", 7, "ops1", _time.GetUtcNow());
        Assert.Equal(7, c.AssigneeId);
        Assert.Equal(1, c.Version);
        Assert.Equal("assigned to ops1", Assert.Single(change.History).Text);
        Assert.Equal("unassigned", c.Assign("sup1", null, null, _time.GetUtcNow()).History[0].Text);
        Assert.Throws<CaseRuleException>(() => New(state: CaseState.Closed).Assign("sup1", 7, "ops1", _time.GetUtcNow()));
    }

    [Fact]
    public void Transitions_ByName_FollowTheAggregatesRules()
    {
        foreach (var (from, tos) in Case.Moves)
        {
            Assert.Equal(tos.Select(t => t.Name()), CaseStates.Transitions[from.Name()]);
            Assert.Equal(from, CaseStateNames.Parse(from.Name()));
        }

        Assert.False(CaseStateNames.TryParse("reopened", out _));
    }
}
