using CivicLens.Storage.Entities;

namespace CivicLens.Server.Holds;

/// <summary>What a hold may name.</summary>
public static class HoldScopes
{
    public const string Case = "case";
    public const string Event = "event";
    public const string Report = "report";
    public const string Camera = "camera";

    public static IReadOnlyList<string> All { get; } = [Case, Event, Report, Camera];
}

/// <summary>
/// A request for a legal hold. <see cref="From"/> and <see cref="To"/> bound a camera's evidence and are refused for
/// the other scopes. Every hold serves a legal matter (its reference) for a stated reason, and ends on its own.
/// </summary>
public sealed record HoldRequest(string Scope, string Target, string CaseReference, string Reason, DateTimeOffset ExpiresAt, DateTimeOffset? From = null, DateTimeOffset? To = null)
{
    /// <summary>The longest reference or reason kept (what a court's or insurer's number and a sentence need).</summary>
    public const int MaxText = 500;

    /// <summary>What is wrong with the request, field by field; empty when it may be placed (the target is checked apart).</summary>
    public IReadOnlyList<HoldProblem> Problems(DateTimeOffset now)
    {
        var problems = new List<HoldProblem>();
        if (!HoldScopes.All.Contains(Scope)) problems.Add(new("scope", $"is one of {string.Join(", ", HoldScopes.All)}"));
        if (string.IsNullOrWhiteSpace(Target)) problems.Add(new("target", "is required"));
        if (string.IsNullOrWhiteSpace(CaseReference)) problems.Add(new("caseReference", "is required (the court's, police's or insurer's case number)"));
        else if (CaseReference.Length > MaxText) problems.Add(new("caseReference", $"is at most {MaxText} characters"));
        if (string.IsNullOrWhiteSpace(Reason)) problems.Add(new("reason", "is required"));
        else if (Reason.Length > MaxText) problems.Add(new("reason", $"is at most {MaxText} characters"));
        if (ExpiresAt <= now) problems.Add(new("expiresAt", "is in the future"));
        if (Scope == HoldScopes.Camera)
        {
            if (From is null || To is null) problems.Add(new("from", "and to bound the camera's held evidence"));
            else if (From >= To) problems.Add(new("to", "is after from"));
        }
        else if (From is not null || To is not null)
        {
            problems.Add(new("from", "and to are only for a camera's evidence"));
        }

        return problems;
    }
}

public sealed record HoldProblem(string Field, string Message)
{
    public override string ToString() => $"{Field} {Message}";
}

public sealed record HoldExtension(DateTimeOffset ExpiresAt, string Reason);

public sealed record HoldRelease(string Reason);

/// <summary>A hold as investigators and admins see it.</summary>
public sealed record HoldView(long Id, string Scope, string Target, DateTimeOffset? From, DateTimeOffset? To, string CaseReference, string Reason,
    string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? ReleasedAt, string? ReleasedBy, string? ReleaseReason, bool Active)
{
    public static HoldView Of(LegalHoldRecord h, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(h);
        static DateTimeOffset? Ms(long? v) => v is { } x ? DateTimeOffset.FromUnixTimeMilliseconds(x) : null;
        return new(h.Id, h.Scope, h.Target, Ms(h.From), Ms(h.To), h.CaseReference, h.Reason, h.CreatedBy, DateTimeOffset.FromUnixTimeMilliseconds(h.CreatedAt),
            DateTimeOffset.FromUnixTimeMilliseconds(h.ExpiresAt), Ms(h.ReleasedAt), h.ReleasedBy, h.ReleaseReason, LegalHoldService.IsActive(h, now));
    }
}

/// <summary>
/// "Held", as shown on a held case, event or report to everyone who may see the item: which hold, for which matter,
/// until when; the reason stays with investigators and admins (<c>/api/holds</c>).
/// </summary>
public sealed record HoldBadge(long Id, string Scope, string CaseReference, DateTimeOffset ExpiresAt);

/// <summary>A hold request, extension or release that cannot be done; the message says why, field by field.</summary>
public sealed class HoldRefusedException : Exception
{
    public HoldRefusedException() : this("the hold was refused")
    {
    }

    public HoldRefusedException(string message) : base(message) => Problems = [new HoldProblem("", message)];

    public HoldRefusedException(string message, Exception inner) : base(message, inner) => Problems = [new HoldProblem("", message)];

    public HoldRefusedException(IReadOnlyList<HoldProblem> problems) : base(string.Join("; ", problems)) => Problems = problems;

    public HoldRefusedException(string field, string message) : this([new HoldProblem(field, message)])
    {
    }

    public IReadOnlyList<HoldProblem> Problems { get; }
}
