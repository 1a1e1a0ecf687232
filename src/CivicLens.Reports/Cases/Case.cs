using System.Globalization;
using CivicLens.Rules.Configuration;

namespace CivicLens.Reports.Cases;

/// <summary>Where a case stands. Stored and shown by <see cref="CaseStateNames.Name"/> (<c>open</c>, <c>in_progress</c>...).</summary>
public enum CaseState
{
    Open,
    Acknowledged,
    InProgress,
    Fixed,
    Closed,
}

/// <summary>The stored names of <see cref="CaseState"/> (the API's and the database's words).</summary>
public static class CaseStateNames
{
    public static string Name(this CaseState state) => state switch
    {
        CaseState.Open => CaseStates.Open,
        CaseState.Acknowledged => CaseStates.Acknowledged,
        CaseState.InProgress => CaseStates.InProgress,
        CaseState.Fixed => CaseStates.Fixed,
        CaseState.Closed => CaseStates.Closed,
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    public static bool TryParse(string? name, out CaseState state)
    {
        (var ok, state) = name switch
        {
            CaseStates.Open => (true, CaseState.Open),
            CaseStates.Acknowledged => (true, CaseState.Acknowledged),
            CaseStates.InProgress => (true, CaseState.InProgress),
            CaseStates.Fixed => (true, CaseState.Fixed),
            CaseStates.Closed => (true, CaseState.Closed),
            _ => (false, CaseState.Open),
        };
        return ok;
    }

    /// <summary>A stored name; an unknown one is a corrupt row, not a user's mistake.</summary>
    public static CaseState Parse(string name) =>
        TryParse(name, out var s) ? s : throw new FormatException($"'{name}' is not a case state");
}

/// <summary>How a camera takes part in a fix: none asked, waiting for it to see the problem gone, or it did.</summary>
public enum CaseVerification
{
    None,
    AwaitingCamera,
    Confirmed,
}

/// <summary>The kinds of notice a department is sent about its cases.</summary>
public static class NoticeKinds
{
    public const string Opened = "case.opened";
    public const string ReportAdded = "case.report-added";
    public const string Escalated = "case.escalated";
    public const string Reopened = "case.reopened";
}

/// <summary>One line of a case's history.</summary>
public sealed record CaseNote(DateTimeOffset At, string Actor, string Text);

/// <summary>A department to tell of a change; <see cref="Department"/> null: the case's own department.</summary>
public sealed record NoticeRequest(string Kind, string? Department, string? Reason);

/// <summary>The camera and zone that can confirm a fix.</summary>
public sealed record CameraWatch(string Camera, string Zone);

/// <summary>
/// What one change of a case produced besides its new fields: history lines, notices to departments, whether the
/// case reached its outcome (so reporters who asked are told, once) and the audit record's action and detail. The
/// application service commits all of it with the case in one transaction.
/// </summary>
public sealed class CaseChangeSet(long caseId, string auditAction, string auditDetail)
{
    public long CaseId { get; } = caseId;

    public string AuditAction { get; } = auditAction;

    public string AuditDetail { get; } = auditDetail;

    public List<CaseNote> History { get; } = [];

    public List<NoticeRequest> Notices { get; } = [];

    /// <summary>The case was fixed or closed: reporters who agreed to one message get it now (if not told already).</summary>
    public bool TellReporters { get; set; }
}

/// <summary>A change the case's rules refuse (a move its state does not allow, a stale version); the API answers 409.</summary>
public sealed class CaseRuleException : InvalidOperationException
{
    public CaseRuleException() : this("the case does not allow this change") { }

    public CaseRuleException(string message) : base(message) { }

    public CaseRuleException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// A case: a problem being fixed by one department, moving open → acknowledged → in progress → fixed → closed
/// (a fixed case may be reopened, a closed one is final), with its SLA times, its escalation and its camera
/// verification. Every method enforces the allowed moves and stamps the times, bumps <see cref="Version"/> and
/// returns what the change produced (<see cref="CaseChangeSet"/>); nothing here reads or writes a store.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716", Justification = "The domain's own word; only Visual Basic reserves it, and no VB code consumes this.")]
public sealed class Case
{
    public const int MaxNote = 2000;

    /// <summary>The allowed moves; a fixed case may be reopened, a closed one is final.</summary>
    public static readonly IReadOnlyDictionary<CaseState, CaseState[]> Moves = new Dictionary<CaseState, CaseState[]>
    {
        [CaseState.Open] = [CaseState.Acknowledged, CaseState.InProgress, CaseState.Closed],
        [CaseState.Acknowledged] = [CaseState.InProgress, CaseState.Fixed, CaseState.Closed],
        [CaseState.InProgress] = [CaseState.Fixed, CaseState.Closed],
        [CaseState.Fixed] = [CaseState.Closed, CaseState.InProgress],
        [CaseState.Closed] = [],
    };

    public required long Id { get; init; }

    public required string Category { get; init; }

    public required string Department { get; init; }

    public CaseState State { get; private set; }

    public DateTimeOffset OpenedAt { get; init; }

    public DateTimeOffset? AcknowledgeBy { get; init; }

    public DateTimeOffset? FixBy { get; init; }

    public DateTimeOffset? AcknowledgedAt { get; private set; }

    public DateTimeOffset? FixedAt { get; private set; }

    public DateTimeOffset? ClosedAt { get; private set; }

    /// <summary>The breach already escalated (<c>acknowledge</c>, <c>fix</c>), so each is escalated once.</summary>
    public string? EscalatedFor { get; private set; }

    public DateTimeOffset? EscalatedAt { get; private set; }

    public CaseVerification Verification { get; private set; }

    public CameraWatch? Watch { get; private set; }

    public long? MergedInto { get; private set; }

    public long? AssigneeId { get; private set; }

    public int Version { get; private set; }

    /// <summary>A case as stored (every field as it is); the rules apply from here on.</summary>
    public static Case Restore(long id, string category, string department, CaseState state, int version, DateTimeOffset openedAt,
        DateTimeOffset? acknowledgeBy = null, DateTimeOffset? fixBy = null, DateTimeOffset? acknowledgedAt = null, DateTimeOffset? fixedAt = null,
        DateTimeOffset? closedAt = null, string? escalatedFor = null, DateTimeOffset? escalatedAt = null, CaseVerification verification = CaseVerification.None,
        CameraWatch? watch = null, long? mergedInto = null, long? assigneeId = null) => new()
        {
            Id = id,
            Category = category,
            Department = department,
            State = state,
            Version = version,
            OpenedAt = openedAt,
            AcknowledgeBy = acknowledgeBy,
            FixBy = fixBy,
            AcknowledgedAt = acknowledgedAt,
            FixedAt = fixedAt,
            ClosedAt = closedAt,
            EscalatedFor = escalatedFor,
            EscalatedAt = escalatedAt,
            Verification = verification,
            Watch = watch,
            MergedInto = mergedInto,
            AssigneeId = assigneeId,
        };

    /// <summary>
    /// A new case, open, routed to <paramref name="department"/> (for <paramref name="routeReason"/>) and timed by the
    /// category's service levels from <paramref name="at"/>; the change carries its first history line. Its id is the
    /// store's to give.
    /// </summary>
    public static (Case Case, CaseChangeSet Change) Open(CategoryConfig category, string department, string routeReason, DateTimeOffset at, string actor,
        string origin)
    {
        ArgumentNullException.ThrowIfNull(category);
        var (acknowledgeBy, fixBy) = Sla.For(category, at);
        var opened = new Case
        {
            Id = 0,
            Category = category.Id,
            Department = department,
            State = CaseState.Open,
            OpenedAt = at,
            AcknowledgeBy = acknowledgeBy,
            FixBy = fixBy,
        };
        var change = new CaseChangeSet(0, "case.open", $"{category.Id} from {origin}");
        change.History.Add(new CaseNote(at, actor, $"opened from {origin}; routed to {department} ({routeReason})"));
        return (opened, change);
    }

    public static bool CanMove(CaseState from, CaseState to) => Moves[from].Contains(to);

    /// <summary>The SLA breached at <paramref name="at"/>, if any (<c>acknowledge</c>, <c>fix</c>).</summary>
    public string? BreachAt(DateTimeOffset at) => Sla.Breach(State.Name(), at, AcknowledgeBy, FixBy);

    /// <summary>Refuses a change made against an older version (someone else changed the case meanwhile).</summary>
    public void ExpectVersion(int version)
    {
        if (version != Version) throw new CaseRuleException($"the case changed meanwhile (version {Version.ToString(CultureInfo.InvariantCulture)}); reload it");
    }

    /// <summary>The move an operator asks for by its target state: the method of that move.</summary>
    public CaseChangeSet MoveTo(CaseState to, string actor, DateTimeOffset at, string? note = null, CameraWatch? watch = null) => to switch
    {
        CaseState.Acknowledged => Acknowledge(actor, at, note),
        CaseState.InProgress when State == CaseState.Fixed => Reopen(actor, at, note),
        CaseState.InProgress => Start(actor, at, note),
        CaseState.Fixed => Fix(actor, at, note, watch),
        CaseState.Closed => Close(actor, at, note),
        _ => throw new CaseRuleException($"a case cannot go from {State.Name()} to {to.Name()}"),
    };

    public CaseChangeSet Acknowledge(string actor, DateTimeOffset at, string? note = null) => Move(CaseState.Acknowledged, actor, at, note);

    /// <summary>Work begins (from open or acknowledged).</summary>
    public CaseChangeSet Start(string actor, DateTimeOffset at, string? note = null)
    {
        if (State == CaseState.Fixed) throw new CaseRuleException("the case is fixed: reopen it instead");
        return Move(CaseState.InProgress, actor, at, note);
    }

    /// <summary>
    /// The department says it is fixed. With a <paramref name="watch"/> the case then waits for that camera to see
    /// the problem gone; reporters who asked are told now (the outcome they waited for).
    /// </summary>
    public CaseChangeSet Fix(string actor, DateTimeOffset at, string? note = null, CameraWatch? watch = null)
    {
        var change = Move(CaseState.Fixed, actor, at, note);
        FixedAt = at;
        change.TellReporters = true;
        if (watch is not null)
        {
            Verification = CaseVerification.AwaitingCamera;
            Watch = watch;
            change.History.Add(new CaseNote(at, "system", $"waiting for camera {watch.Camera} to see zone {watch.Zone} clear"));
        }

        return change;
    }

    /// <summary>
    /// Closes the case for good, with <paramref name="reason"/> (an operator, a camera, a remote system). A fix the
    /// camera has not yet confirmed closes only with a reason saying why not.
    /// </summary>
    public CaseChangeSet Close(string actor, DateTimeOffset at, string? reason = null)
    {
        var awaiting = Verification == CaseVerification.AwaitingCamera;
        if (awaiting && State == CaseState.Fixed && string.IsNullOrWhiteSpace(reason))
        {
            throw new CaseRuleException($"camera {Watch?.Camera} has not yet confirmed the problem is gone; wait for it, or close with a note saying why not");
        }

        var change = Move(CaseState.Closed, actor, at, reason);
        change.TellReporters = true;
        if (awaiting)
        {
            Verification = CaseVerification.None;
            change.History.Add(new CaseNote(at, actor, "closed without camera confirmation"));
        }

        return change;
    }

    /// <summary>
    /// The watching camera saw the zone clean again: a fixed case waiting for it closes, confirmed. <paramref name="seen"/>
    /// says what the camera saw, for the history.
    /// </summary>
    public CaseChangeSet ConfirmByCamera(DateTimeOffset at, string seen)
    {
        if (State != CaseState.Fixed || Verification != CaseVerification.AwaitingCamera)
        {
            throw new CaseRuleException("only a fixed case waiting for its camera is confirmed by it");
        }

        var moved = Move(CaseState.Closed, "system", at, null);
        Verification = CaseVerification.Confirmed;
        var change = new CaseChangeSet(Id, "case.verify", $"camera {Watch?.Camera}, zone {Watch?.Zone}") { TellReporters = true };
        change.History.Add(new CaseNote(at, "system", $"{seen}; {moved.History[0].Text}"));
        return change;
    }

    /// <summary>A fixed case turns out not to be: back to in progress, the camera watch dropped, the department told.</summary>
    public CaseChangeSet Reopen(string actor, DateTimeOffset at, string? note = null)
    {
        if (State != CaseState.Fixed) throw new CaseRuleException($"only a fixed case can be reopened (this one is {State.Name()})");
        var change = Move(CaseState.InProgress, actor, at, note);
        Verification = CaseVerification.None;
        Watch = null;
        change.Notices.Add(new NoticeRequest(NoticeKinds.Reopened, null, string.IsNullOrWhiteSpace(note) ? $"reopened by {actor}" : $"reopened by {actor}: {note.Trim()}"));
        return change;
    }

    /// <summary>Gives the case to an operator (or to nobody); the caller checked the account may take it.</summary>
    public CaseChangeSet Assign(string actor, long? assigneeId, string? assigneeName, DateTimeOffset at)
    {
        if (State == CaseState.Closed) throw new CaseRuleException("a closed case cannot be assigned");
        AssigneeId = assigneeId;
        Version++;
        var change = new CaseChangeSet(Id, "case.assign", assigneeName ?? "nobody");
        change.History.Add(new CaseNote(at, actor, assigneeName is null ? "unassigned" : $"assigned to {assigneeName}"));
        return change;
    }

    /// <summary>
    /// Escalates the breach the case is in at <paramref name="at"/>, once per breach: to <paramref name="escalateTo"/>
    /// (the department's escalation, else the fallback) or, with none, to its own department. Null: nothing to escalate.
    /// </summary>
    public CaseChangeSet? Escalate(DateTimeOffset at, string? escalateTo)
    {
        var breach = BreachAt(at);
        if (breach is null || breach == EscalatedFor) return null;
        EscalatedFor = breach;
        EscalatedAt = at;
        Version++;
        var what = breach == "fix" ? "not fixed by its due time" : "not acknowledged in time";
        var change = new CaseChangeSet(Id, "case.escalate", breach);
        change.History.Add(new CaseNote(at, "system", $"SLA breached: {what}; escalated to {escalateTo ?? "nobody (no escalation configured)"}"));
        change.Notices.Add(new NoticeRequest(NoticeKinds.Escalated, escalateTo ?? Department, $"{what} by {Department}"));
        return change;
    }

    /// <summary>Reports (and events) of another problem join this case: the history says so and the department is told of new reports.</summary>
    public CaseChangeSet AddReports(string actor, DateTimeOffset at, long fromCase, int reports, int events)
    {
        if (State == CaseState.Closed) throw new CaseRuleException("a closed case takes no more reports");
        Version++;
        var change = new CaseChangeSet(Id, "case.report-add", $"from case {fromCase.ToString(CultureInfo.InvariantCulture)}");
        change.History.Add(new CaseNote(at, actor, $"case {fromCase.ToString(CultureInfo.InvariantCulture)} merged in ({reports.ToString(CultureInfo.InvariantCulture)} report(s), {events.ToString(CultureInfo.InvariantCulture)} event(s))"));
        if (reports > 0)
        {
            change.Notices.Add(new NoticeRequest(NoticeKinds.ReportAdded, null,
                $"{reports.ToString(CultureInfo.InvariantCulture)} report(s) of case {fromCase.ToString(CultureInfo.InvariantCulture)} added by {actor}"));
        }

        return change;
    }

    /// <summary>
    /// Merges this case into <paramref name="survivor"/> (same category, both still open): this one closes pointing
    /// at it; its reports and events (counted by the caller, who moves them) join the survivor, whose reporters are
    /// told when it reaches its outcome. Returns this case's change and the survivor's.
    /// </summary>
    public (CaseChangeSet Merged, CaseChangeSet Survivor) MergeInto(Case survivor, string actor, DateTimeOffset at, int reports, int events)
    {
        ArgumentNullException.ThrowIfNull(survivor);
        if (survivor.Id == Id) throw new CaseRuleException("a case cannot be merged into itself");
        if (State == CaseState.Closed || survivor.State == CaseState.Closed) throw new CaseRuleException("closed cases cannot be merged");
        if (!string.Equals(Category, survivor.Category, StringComparison.Ordinal))
        {
            throw new CaseRuleException($"the cases are of different categories ({Category}, {survivor.Category})");
        }

        State = CaseState.Closed;
        ClosedAt = at;
        MergedInto = survivor.Id;
        Verification = CaseVerification.None;
        Version++;
        var merged = new CaseChangeSet(Id, "case.merge", $"into case {survivor.Id.ToString(CultureInfo.InvariantCulture)}");
        merged.History.Add(new CaseNote(at, actor, $"merged into case {survivor.Id.ToString(CultureInfo.InvariantCulture)}"));
        return (merged, survivor.AddReports(actor, at, Id, reports, events));
    }

    private CaseChangeSet Move(CaseState to, string actor, DateTimeOffset at, string? note)
    {
        if (!CanMove(State, to)) throw new CaseRuleException($"a case cannot go from {State.Name()} to {to.Name()}");
        if ((note?.Length ?? 0) > MaxNote) throw new ArgumentException($"note is at most {MaxNote} characters", nameof(note));
        var from = State;
        State = to;
        Version++;
        if (from == CaseState.Open && AcknowledgedAt is null) AcknowledgedAt = at;
        ClosedAt = to == CaseState.Closed ? at : null;
        var line = $"{from.Name()} -> {to.Name()}";
        var change = new CaseChangeSet(Id, "case.transition", line);
        change.History.Add(new CaseNote(at, actor, string.IsNullOrWhiteSpace(note) ? line : $"{line}: {note.Trim()}"));
        return change;
    }
}
