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

    /// <summary>Undoes the usual disguises: l33t digits and symbols become letters, everything else but letters goes.</summary>
    private static string Normalise(string lower)
    {
        var sb = new System.Text.StringBuilder(lower.Length);
        foreach (var c in lower)
        {
            var mapped = c switch { '0' => 'o', '1' => 'i', '3' => 'e', '4' => 'a', '5' => 's', '7' => 't', '@' => 'a', '$' => 's', _ => c };
            if (char.IsLetter(mapped)) sb.Append(mapped);
        }

        return sb.ToString();
    }

    /// <summary>A weak word, the same word repeated, or a weak word with a short tail ("passwordis", "adminadmin").</summary>
    private static bool IsWeakWord(string letters)
    {
        if (letters.Length == 0 || Weak.Contains(letters)) return true;
        foreach (var w in Weak)
        {
            if (w.Length < 5 || !letters.StartsWith(w, StringComparison.Ordinal)) continue;
            var rest = letters[w.Length..];
            if (rest.Length <= 3 || rest.Replace(w, "", StringComparison.Ordinal).Length == 0) return true;
        }

        return false;
    }

    /// <returns>Why the password is refused, or null when it may be used.</returns>
    public static string? Check(string? password, string userName)
    {
        if (string.IsNullOrEmpty(password)) return "a password is required";
        var length = new System.Globalization.StringInfo(password).LengthInTextElements;
        if (length < MinLength) return $"must be at least {MinLength} characters (a passphrase of several words is easiest)";
        if (length > MaxLength) return $"must be at most {MaxLength} characters";
        var lower = password.ToLowerInvariant();
        // "P@ssw0rd2024!" is "password" with a tail: judge it with and without the trailing digits and symbols.
        var stem = lower.TrimEnd("0123456789!?.#*_-+ ".ToCharArray());
        if (Weak.Contains(lower) || IsWeakWord(Normalise(lower)) || IsWeakWord(Normalise(stem))) return "is a well-known password; choose another";
        if (!string.IsNullOrEmpty(userName) && lower.Contains(userName.ToLowerInvariant(), StringComparison.Ordinal)) return "must not contain the user name";
        if (password.Distinct().Count() < 4) return "repeats too few characters";
        return null;
    }
}
