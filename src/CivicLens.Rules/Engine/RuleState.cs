namespace CivicLens.Rules.Engine;

/// <summary>
/// Where a camera's rules keep what must outlive the rule instance (a process restart, a stream restart, a zone
/// edit that rebuilds the rules): today the clean reference of each open scene-change incident, so a fix can still be
/// confirmed against it. Each camera gets its own folder under <see cref="Directory"/>; nothing there is kept longer
/// than <see cref="Retention"/>.
/// </summary>
/// <param name="Directory">The root folder (the server uses <c>rule-state/</c> inside its evidence folder).</param>
/// <param name="Retention">How long a kept reference may wait for its zone to clear (the event retention).</param>
public sealed record RuleStateSettings(string Directory, TimeSpan Retention)
{
    /// <summary>The server's default event retention: a reference lives no longer than the events it belongs to.</summary>
    public static TimeSpan DefaultRetention { get; } = TimeSpan.FromDays(365);
}
