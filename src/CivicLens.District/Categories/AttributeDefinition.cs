using System.Globalization;

namespace CivicLens.District.Categories;

/// <summary>The datatypes of an Open311 GeoReport v2 service attribute, as the specification names them.</summary>
public static class AttributeDatatypes
{
    public const string ShortText = "string";
    public const string Number = "number";
    public const string Datetime = "datetime";
    public const string LongText = "text";
    public const string SingleValueList = "singlevaluelist";
    public const string MultiValueList = "multivaluelist";

    public static readonly IReadOnlyList<string> All = [ShortText, Number, Datetime, LongText, SingleValueList, MultiValueList];

    public static bool IsList(string datatype) => datatype is SingleValueList or MultiValueList;
}

/// <summary>One choice of a list attribute: the key a client sends, the name a person reads.</summary>
public sealed record AttributeValue(string Key, string Name);

/// <summary>
/// A question a category asks beyond the description (GeoReport v2's service definition <c>attribute</c>):
/// "how many bags?", "which kind of vehicle?". Configured per category in the district file; answers arrive as
/// <c>attribute[code]</c> (and <c>attribute[code][]</c> for a multivaluelist).
/// </summary>
/// <param name="Code">What the client sends it as: 1-64 letters, digits, '-' or '_'.</param>
/// <param name="Datatype">One of <see cref="AttributeDatatypes"/>.</param>
/// <param name="Description">The question as a person reads it.</param>
public sealed record AttributeDefinition(string Code, string Datatype, string Description)
{
    /// <summary>False: the attribute only informs (it is shown, never answered), as the specification allows.</summary>
    public bool Variable { get; init; } = true;

    public bool Required { get; init; }

    /// <summary>A hint about the expected value ("a whole number of bags").</summary>
    public string? DatatypeDescription { get; init; }

    /// <summary>Its place on a form (1 first); the list order when not written.</summary>
    public int Order { get; init; }

    /// <summary>The choices of a single- or multivaluelist; empty for the other datatypes.</summary>
    public IReadOnlyList<AttributeValue> Values { get; init; } = [];
}

/// <summary>
/// The rules of a category's attribute list, for the loader (a malformed definition is an error at load, located in
/// the file) and for intake (an answer is checked against its definition before anything is stored).
/// </summary>
public static class CategoryAttributes
{
    public const int MaxAttributes = 30;
    public const int MaxValues = 100;
    public const int MaxStringLength = 200;
    public const int MaxTextLength = 4000;

    /// <summary>
    /// Every problem of one definition as (field, message), the field named as the file writes it. Empty: the
    /// definition is sound.
    /// </summary>
    public static IReadOnlyList<(string Field, string Message)> Problems(AttributeDefinition a)
    {
        ArgumentNullException.ThrowIfNull(a);
        var problems = new List<(string, string)>();
        if (!IsCode(a.Code)) problems.Add(("code", $"'{a.Code}' must be 1-64 letters, digits, '-' or '_'"));
        if (!AttributeDatatypes.All.Contains(a.Datatype))
        {
            problems.Add(("datatype", $"'{a.Datatype}' is not a GeoReport v2 datatype (one of: {string.Join(", ", AttributeDatatypes.All)})"));
        }

        if (string.IsNullOrWhiteSpace(a.Description)) problems.Add(("description", "is required: it is the question a reporter reads"));
        if (!a.Variable && a.Required) problems.Add(("required", "an attribute with variable: false is never answered, so it cannot be required"));
        if (a.Order < 0) problems.Add(("order", "must be 1 or more"));
        if (AttributeDatatypes.IsList(a.Datatype))
        {
            if (a.Variable && a.Values.Count == 0) problems.Add(("values", $"a {a.Datatype} needs at least one value (key and name)"));
            if (a.Values.Count > MaxValues) problems.Add(("values", $"at most {MaxValues} values"));
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var v in a.Values)
            {
                // A multivaluelist may arrive comma-joined (a form posting attribute[code][] twice), so a key holds no comma.
                if (string.IsNullOrWhiteSpace(v.Key) || v.Key.Length > 100 || v.Key.Contains(',', StringComparison.Ordinal) || v.Key.Any(char.IsControl))
                {
                    problems.Add(("values", $"key '{v.Key}' must be 1-100 characters without commas"));
                }
                else if (!keys.Add(v.Key))
                {
                    problems.Add(("values", $"key '{v.Key}' is given twice"));
                }

                if (string.IsNullOrWhiteSpace(v.Name)) problems.Add(("values", $"key '{v.Key}' needs a name"));
            }
        }
        else if (a.Values.Count > 0)
        {
            problems.Add(("values", $"only a singlevaluelist or multivaluelist has values, not a {a.Datatype}"));
        }

        return problems;
    }

    /// <summary>Problems of the list as a whole: repeated codes, too many attributes.</summary>
    public static IReadOnlyList<string> ListProblems(IReadOnlyList<AttributeDefinition> list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var problems = new List<string>();
        if (list.Count > MaxAttributes) problems.Add($"at most {MaxAttributes} attributes per category");
        foreach (var code in list.GroupBy(a => a.Code, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key))
        {
            problems.Add($"attribute code '{code}' is given twice");
        }

        return problems;
    }

    /// <summary>
    /// Checks a report's answers against the category's attributes and returns them as they are stored: code to the
    /// value, or to the list of keys for a multivaluelist. Throws <see cref="AttributeAnswerException"/> naming the
    /// first attribute at fault: an unknown code, a missing required answer, a value outside the list, a wrong type.
    /// </summary>
    /// <param name="answers">Code to the values sent (one, or several for a multivaluelist); empty values count as absent.</param>
    public static IReadOnlyDictionary<string, object> Check(IReadOnlyList<AttributeDefinition> attributes, IReadOnlyDictionary<string, IReadOnlyList<string>> answers)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(answers);
        var byCode = attributes.ToDictionary(a => a.Code, StringComparer.Ordinal);
        foreach (var code in answers.Keys.Order(StringComparer.Ordinal))
        {
            if (!byCode.TryGetValue(code, out var a))
            {
                var known = attributes.Where(x => x.Variable).Select(x => x.Code).ToList();
                throw new AttributeAnswerException(code, known.Count == 0
                    ? $"attribute[{code}] is not asked by this service (it takes no attributes)"
                    : $"attribute[{code}] is not asked by this service (it asks: {string.Join(", ", known)})");
            }

            if (!a.Variable) throw new AttributeAnswerException(code, $"attribute[{code}] only informs; it takes no answer");
        }

        var stored = new SortedDictionary<string, object>(StringComparer.Ordinal);
        foreach (var a in attributes.Where(x => x.Variable).OrderBy(x => x.Order))
        {
            var given = answers.TryGetValue(a.Code, out var v) ? v.Select(x => x.Trim()).Where(x => x.Length > 0).ToList() : [];
            if (given.Count == 0)
            {
                if (a.Required) throw new AttributeAnswerException(a.Code, $"attribute[{a.Code}] is required: {a.Description}");
                continue;
            }

            stored[a.Code] = Answer(a, given);
        }

        return stored;
    }

    /// <summary>Stored answers (the JSON <see cref="Check"/>'s result was saved as) read back, each as a list; null when none or unreadable.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>>? ReadStored(string? json)
    {
        if (string.IsNullOrEmpty(json)) return null;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object) return null;
            var answers = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                answers[p.Name] = p.Value.ValueKind == System.Text.Json.JsonValueKind.Array
                    ? p.Value.EnumerateArray().Select(v => v.ToString()).ToList()
                    : [p.Value.ToString()];
            }

            return answers;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static object Answer(AttributeDefinition a, List<string> given)
    {
        if (a.Datatype == AttributeDatatypes.MultiValueList)
        {
            var keys = given.SelectMany(g => g.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct(StringComparer.Ordinal).ToList();
            foreach (var k in keys) RequireKey(a, k);
            return keys;
        }

        if (given.Count > 1) throw new AttributeAnswerException(a.Code, $"attribute[{a.Code}] takes one value");
        var value = given[0];
        switch (a.Datatype)
        {
            case AttributeDatatypes.SingleValueList:
                RequireKey(a, value);
                return value;
            case AttributeDatatypes.Number:
                if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || !double.IsFinite(n))
                {
                    throw new AttributeAnswerException(a.Code, $"attribute[{a.Code}] must be a number");
                }

                return value;
            case AttributeDatatypes.Datetime:
                if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
                {
                    throw new AttributeAnswerException(a.Code, $"attribute[{a.Code}] must be an ISO 8601 time (2026-11-23T10:00:00Z)");
                }

                return t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            default:
                var max = a.Datatype == AttributeDatatypes.LongText ? MaxTextLength : MaxStringLength;
                if (value.Length > max) throw new AttributeAnswerException(a.Code, $"attribute[{a.Code}] is at most {max} characters");
                return value;
        }
    }

    private static void RequireKey(AttributeDefinition a, string key)
    {
        if (a.Values.Any(v => string.Equals(v.Key, key, StringComparison.Ordinal))) return;
        var keys = string.Join(", ", a.Values.Select(v => v.Key));
        throw new AttributeAnswerException(a.Code, $"attribute[{a.Code}] '{Shorten(key)}' is not one of its values ({keys})");
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "...";

    private static bool IsCode(string? code) => code is { Length: > 0 and <= 64 } && code.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}

/// <summary>An answer that does not fit its attribute; the message names the attribute as the client sent it.</summary>
public sealed class AttributeAnswerException : Exception
{
    public AttributeAnswerException() : this("", "the attribute answer was refused") { }

    public AttributeAnswerException(string message) : this("", message) { }

    public AttributeAnswerException(string message, Exception inner) : base(message, inner) => Code = "";

    public AttributeAnswerException(string code, string message) : base(message) => Code = code;

    public string Code { get; }
}
