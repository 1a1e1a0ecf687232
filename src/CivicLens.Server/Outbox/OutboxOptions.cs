using Microsoft.Extensions.Options;

namespace CivicLens.Server.Outbox;

/// <summary>How the outbox dispatcher polls, retries and keeps delivered messages (section <c>CivicLens:Outbox</c>).</summary>
public sealed class OutboxOptions
{
    public const string Section = "CivicLens:Outbox";

    /// <summary>How often the outbox is read when the last read found less than a full batch.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Messages read (and delivered) per round, oldest first.</summary>
    public int BatchSize { get; set; } = 200;

    /// <summary>The wait after a message's first failed attempt; it doubles with each further failure.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between two attempts of one message.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A webhook request (connect, send, answer) or an MQTT connect or publish (until its PUBACK) fails after this long.</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Delivered messages are kept this long (to see what went where), then purged.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often delivered messages older than <see cref="Retention"/> are purged.</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The backoff after <paramref name="failures"/> failed attempts (1: <see cref="InitialBackoff"/>).</summary>
    public TimeSpan Backoff(int failures)
    {
        var exponent = Math.Clamp(failures - 1, 0, 30);
        var ticks = InitialBackoff.Ticks * Math.Pow(2, exponent);
        return ticks >= MaxBackoff.Ticks ? MaxBackoff : TimeSpan.FromTicks((long)ticks);
    }
}

internal sealed class OutboxOptionsValidator : IValidateOptions<OutboxOptions>
{
    public ValidateOptionsResult Validate(string? name, OutboxOptions options)
    {
        var problems = new List<string>();
        if (options.PollInterval <= TimeSpan.Zero) problems.Add("PollInterval must be positive");
        if (options.BatchSize is < 1 or > 10_000) problems.Add("BatchSize must be between 1 and 10000");
        if (options.InitialBackoff <= TimeSpan.Zero) problems.Add("InitialBackoff must be positive");
        if (options.MaxBackoff < options.InitialBackoff) problems.Add("MaxBackoff must be at least InitialBackoff");
        if (options.DeliveryTimeout <= TimeSpan.Zero) problems.Add("DeliveryTimeout must be positive");
        if (options.Retention < TimeSpan.Zero) problems.Add("Retention must not be negative");
        if (options.PurgeInterval <= TimeSpan.Zero) problems.Add("PurgeInterval must be positive");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{OutboxOptions.Section}: {p}"));
    }
}
