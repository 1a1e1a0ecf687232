namespace CivicLens.Server.Accounts;

/// <summary>
/// Password rules after OWASP ASVS 4.0 level 2 (V2.1): at least 12 characters, at most 128, any characters
/// (spaces and Unicode allowed, no composition rules), and not a known-weak or context-specific password.
/// </summary>
public static class PasswordPolicy
{
    public const int MinLength = 12;
    public const int MaxLength = 128;

    // The commonest passwords and their 12+ character padding; ASVS 2.1.7 asks for a breached-password check,
    // which offline means a list. Lower-cased; a candidate is compared lower-cased and with digits stripped.
    private static readonly HashSet<string> Weak = new(StringComparer.Ordinal)
    {
        "password", "passwordpassword", "changeme", "changemechangeme", "admin", "adminadmin", "administrator",
        "qwerty", "qwertyuiop", "qwertyqwerty", "letmein", "welcome", "iloveyou", "civiclens", "civiclensadmin",
        "default", "secret", "monkey", "dragon", "football", "baseball", "trustno", "sunshine", "princess",
        "abcdefghijkl", "abcdefghijklmnop", "superman", "master", "access", "shadow", "passw", "p@ssw", "p@ssword",
        "p@ssw0rd", "passw0rd", "operator", "investigator", "auditor", "viewer", "correcthorsebatterystaple",
    };

    /// <returns>Why the password is refused, or null when it may be used.</returns>
    public static string? Check(string? password, string userName)
    {
        if (string.IsNullOrEmpty(password)) return "a password is required";
        var length = new System.Globalization.StringInfo(password).LengthInTextElements;
        if (length < MinLength) return $"must be at least {MinLength} characters (a passphrase of several words is easiest)";
        if (length > MaxLength) return $"must be at most {MaxLength} characters";
        var lower = password.ToLowerInvariant();
        var letters = new string(lower.Where(c => !char.IsAsciiDigit(c) && !char.IsWhiteSpace(c) && c is not ('!' or '.' or '-' or '_')).ToArray());
        if (Weak.Contains(lower) || Weak.Contains(letters)) return "is a well-known password; choose another";
        if (!string.IsNullOrEmpty(userName) && lower.Contains(userName.ToLowerInvariant(), StringComparison.Ordinal)) return "must not contain the user name";
        if (password.Distinct().Count() < 4) return "repeats too few characters";
        return null;
    }
}
