namespace CivicLens.Rules.Configuration;

/// <summary>One problem in a configuration file, located by file, line, column and field path.</summary>
public sealed record ConfigError(string File, int Line, int Column, string Field, string Message)
{
    public override string ToString() => $"{File}:{Line}:{Column}: {Field}: {Message}";
}

/// <summary>A configuration that cannot be used; <see cref="Errors"/> lists every problem found, not just the first.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(Describe(errors)) => Errors = errors;

    public ConfigException(string message) : base(message) => Errors = [];

    public ConfigException() : this("Invalid configuration.") { }

    public ConfigException(string message, Exception inner) : base(message, inner) => Errors = [];

    public IReadOnlyList<ConfigError> Errors { get; }

    private static string Describe(IReadOnlyList<ConfigError> errors) =>
        errors.Count == 1
            ? $"Invalid configuration: {errors[0]}"
            : $"Invalid configuration ({errors.Count} problems):\n  " + string.Join("\n  ", errors);
}

/// <summary>Where a configured item was written, so later checks (against a model, a stream) can point at it.</summary>
public sealed record ConfigLocation(string File, int Line, int Column, string Field)
{
    public ConfigError Error(string field, string message) => new(File, Line, Column, $"{Field}.{field}", message);
}
