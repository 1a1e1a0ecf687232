using System.Text;
using CivicLens.Domain.Detection;

namespace CivicLens.Inference.Models;

/// <summary>
/// Privacy rule: CivicLens never identifies people or classifies them by who or what they are. A model
/// whose labels name identities, face embeddings, ethnicity/race, religion, emotion, gender or age is refused
/// before it is loaded. Terms match whole words, case-insensitively, after splitting on punctuation and
/// camelCase ("FaceEmbedding" -> "face embedding"). "face" alone is allowed: face boxes are only redacted.
/// </summary>
public static class ModelLabelGuard
{
    /// <summary>Forbidden words and phrases (a phrase matches consecutive words).</summary>
    public static IReadOnlyList<string> ForbiddenTerms { get; } =
    [
        // identity and biometric templates
        "identity", "identities", "identification", "identified", "person id", "face id", "faceid", "reid", "re id",
        "reidentification", "re identification", "embedding", "embeddings", "face recognition", "biometric", "biometrics",
        // ethnicity, race, skin
        "ethnicity", "ethnic", "race", "racial", "skin tone", "skin colour", "skin color", "caucasian", "asian", "african", "hispanic", "latino",
        // religion
        "religion", "religious", "muslim", "christian", "jewish", "hindu", "buddhist", "sikh", "hijab", "kippah",
        // emotion and expression
        "emotion", "emotions", "emotional", "facial expression", "expression", "happy", "sad", "angry", "anger", "fear", "fearful",
        "disgust", "disgusted", "surprise", "surprised", "smile", "smiling",
        // gender and sex
        "gender", "sex", "male", "female", "man", "men", "woman", "women", "boy", "boys", "girl", "girls",
        // age
        "age", "ages", "age group", "adult", "adults", "child", "children", "kid", "kids", "teen", "teenager", "infant", "baby", "elderly",
    ];

    /// <summary>Object names that merely contain a forbidden word; removed before matching.</summary>
    private static readonly string[] AllowedPhrases =
        ["race car", "race track", "race bike", "baby carriage", "baby stroller", "baby buggy", "child seat", "man hole", "manhole"];

    private static readonly string[][] ForbiddenWords = ForbiddenTerms.Select(t => t.Split(' ')).ToArray();
    private static readonly string[][] AllowedWords = AllowedPhrases.Select(t => t.Split(' ')).ToArray();

    /// <summary>Refuses the model when any label is forbidden.</summary>
    /// <exception cref="ModelException">Names the model, the label and the matched term.</exception>
    public static void EnsureAllowed(IReadOnlyList<string> labels, string modelName)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var violations = labels
            .Select(l => (Label: l, Term: FindForbiddenTerm(l)))
            .Where(v => v.Term is not null)
            .ToList();
        if (violations.Count == 0) return;
        var list = string.Join(", ", violations.Select(v => $"'{v.Label}' (term '{v.Term}')"));
        throw new ModelException(
            $"Model '{modelName}' is refused: its labels {list} would identify or classify people " +
            "(identity, face embeddings, ethnicity/race, religion, emotion, gender, age), which CivicLens never does. " +
            "Use a model (or a manifest 'labels' list) without these classes; 'person' and 'face' (for redaction) are fine.");
    }

    /// <summary>The forbidden term a label contains, or null when the label is allowed.</summary>
    public static string? FindForbiddenTerm(string label)
    {
        var words = Words(label);
        foreach (var allowed in AllowedWords) RemovePhrase(words, allowed);
        for (var t = 0; t < ForbiddenWords.Length; t++)
        {
            if (IndexOfPhrase(words, ForbiddenWords[t]) >= 0) return ForbiddenTerms[t];
        }

        return null;
    }

    /// <summary>Lower-case words: split on anything not a letter or digit, and at camelCase boundaries.</summary>
    private static List<string> Words(string label)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < label.Length; i++)
        {
            var ch = label[i];
            if (!char.IsLetterOrDigit(ch))
            {
                Flush();
                continue;
            }

            if (char.IsUpper(ch) && i > 0 && char.IsLower(label[i - 1])) Flush();
            current.Append(char.ToLowerInvariant(ch));
        }

        Flush();
        return words;

        void Flush()
        {
            if (current.Length > 0) words.Add(current.ToString());
            current.Clear();
        }
    }

    private static int IndexOfPhrase(List<string> words, string[] phrase)
    {
        for (var i = 0; i + phrase.Length <= words.Count; i++)
        {
            var match = true;
            for (var j = 0; j < phrase.Length && match; j++) match = words[i + j] == phrase[j];
            if (match) return i;
        }

        return -1;
    }

    private static void RemovePhrase(List<string> words, string[] phrase)
    {
        int at;
        while ((at = IndexOfPhrase(words, phrase)) >= 0)
        {
            words.RemoveRange(at, phrase.Length);
            words.Insert(at, "\0"); // keep the words either side apart
        }
    }
}
