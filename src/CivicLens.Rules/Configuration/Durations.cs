using System.Globalization;
using System.Text.RegularExpressions;

namespace CivicLens.Rules.Configuration;

/// <summary>Durations as operators write them: <c>90s</c>, <c>6m</c>, <c>1h30m</c>, <c>30d</c>, <c>500ms</c>, or a bare number of seconds.</summary>
public static partial class Durations
{
    [GeneratedRegex(@"^(?:(?<d>\d+(?:\.\d+)?)d)?(?:(?<h>\d+(?:\.\d+)?)h)?(?:(?<m>\d+(?:\.\d+)?)m(?!s))?(?:(?<s>\d+(?:\.\d+)?)s)?(?:(?<ms>\d+)ms)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        if (text.Length == 0) return false;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            if (seconds < 0 || double.IsNaN(seconds) || double.IsInfinity(seconds)) return false;
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }

        var m = Pattern().Match(text);
        if (!m.Success || m.Length == 0) return false;
        double Part(string name) => m.Groups[name].Success ? double.Parse(m.Groups[name].Value, CultureInfo.InvariantCulture) : 0;
        value = TimeSpan.FromDays(Part("d")) + TimeSpan.FromHours(Part("h")) + TimeSpan.FromMinutes(Part("m")) + TimeSpan.FromSeconds(Part("s")) + TimeSpan.FromMilliseconds(Part("ms"));
        return true;
    }

    public static string Format(TimeSpan value) =>
        value.TotalSeconds < 60 ? string.Create(CultureInfo.InvariantCulture, $"{value.TotalSeconds:0.###}s")
        : value.TotalMinutes < 60 ? string.Create(CultureInfo.InvariantCulture, $"{value.TotalMinutes:0.##}m")
        : value.TotalHours < 48 ? string.Create(CultureInfo.InvariantCulture, $"{value.TotalHours:0.##}h")
        : string.Create(CultureInfo.InvariantCulture, $"{value.TotalDays:0.##}d");
}
