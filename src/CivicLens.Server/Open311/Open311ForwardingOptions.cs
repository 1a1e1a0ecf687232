using Microsoft.Extensions.Options;

namespace CivicLens.Server.Open311;

/// <summary>How often forwarded cases' remote requests are read back (section <c>CivicLens:Open311</c>).</summary>
public sealed class Open311ForwardingOptions
{
    public const string Section = "CivicLens:Open311";

    /// <summary>Each forwarded, still open case's remote request is read back this often (<c>GET requests/{id}.json</c>).</summary>
    public TimeSpan StatusInterval { get; set; } = TimeSpan.FromMinutes(10);
}

internal sealed class Open311ForwardingOptionsValidator : IValidateOptions<Open311ForwardingOptions>
{
    public ValidateOptionsResult Validate(string? name, Open311ForwardingOptions options) =>
        options.StatusInterval < TimeSpan.FromSeconds(10) || options.StatusInterval > TimeSpan.FromDays(1)
            ? ValidateOptionsResult.Fail($"{Open311ForwardingOptions.Section}: StatusInterval must be between 10 seconds and 1 day (a department's system is not to be hammered)")
            : ValidateOptionsResult.Success;
}
