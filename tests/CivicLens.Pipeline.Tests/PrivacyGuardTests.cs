using System.Reflection;
using System.Text.RegularExpressions;

namespace CivicLens.Pipeline.Tests;

/// <summary>
/// A build guard: no type in a CivicLens product assembly may gain a field or property that could hold a biometric
/// template, a face or body embedding, a national id, a phone identifier (IMSI, IMEI, MAC), a licence-plate string,
/// or a sensitive class of a person; and no type may be a watch list. Names are split into words and matched against
/// the forbidden ones, so <c>PlateNumber</c>, <c>faceEmbedding</c> and <c>MAC_ADDRESS</c> all fail, while the
/// redaction's <c>PlateCarriers</c> (which labels carry a plate to be hidden) does not.
/// </summary>
public partial class PrivacyGuardTests
{
    private static readonly string[] SingleWords =
    [
        "imsi", "imei", "msisdn", "iccid", "biometric", "biometrics", "embedding", "embeddings", "faceprint", "gait",
        "ethnicity", "ethnic", "race", "religion", "religious", "emotion", "emotions", "passport", "fingerprint",
    ];

    private static readonly string[][] Phrases =
    [
        ["mac", "address"], ["national", "id"], ["social", "security"], ["face", "template"], ["face", "id"], ["face", "vector"],
        ["re", "id"], ["reid"], ["person", "score"], ["person", "rank"], ["citizen", "score"], ["plate", "number"], ["plate", "text"],
        ["plate", "string"], ["plate", "value"], ["plate", "id"], ["licence", "plate"], ["license", "plate"], ["registration", "number"],
        ["number", "plate"], ["sexual", "orientation"], ["political", "opinion"],
    ];

    private static readonly string[] ListNames = ["watchlist", "blacklist", "redlist", "blocklist", "hotlist"];

    [GeneratedRegex("[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")]
    private static partial Regex Words();

    internal static IReadOnlyList<string> Split(string name) =>
        Words().Matches(name.Replace("_", " ", StringComparison.Ordinal)).Select(m => m.Value.ToLowerInvariant()).ToList();

    internal static string? Forbidden(string name)
    {
        var words = Split(name);
        if (words.FirstOrDefault(w => SingleWords.Contains(w)) is { } single) return single;
        foreach (var phrase in Phrases)
        {
            for (var i = 0; i + phrase.Length <= words.Count; i++)
            {
                if (phrase.Select((p, k) => words[i + k] == p).All(b => b)) return string.Join(' ', phrase);
            }
        }

        var joined = string.Concat(words);
        return ListNames.FirstOrDefault(joined.Contains);
    }

    internal static IEnumerable<string> Violations(IEnumerable<Type> types)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in types)
        {
            if (type.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute), false)) continue;
            if (Forbidden(type.Name) is { } t) yield return $"{type.FullName}: type name ({t})";
            foreach (var member in type.GetFields(all).Cast<MemberInfo>().Concat(type.GetProperties(all)))
            {
                // Backing fields carry the property's name in angle brackets; the property itself is checked.
                if (member.Name.StartsWith('<')) continue;
                if (Forbidden(member.Name) is { } w) yield return $"{type.FullName}.{member.Name} ({w})";
            }
        }
    }

    private static IEnumerable<Assembly> ProductAssemblies() =>
        Directory.GetFiles(AppContext.BaseDirectory, "CivicLens.*.dll")
            .Where(f => !Path.GetFileName(f).Contains(".Tests", StringComparison.Ordinal) && !Path.GetFileName(f).Contains("TestSupport", StringComparison.Ordinal))
            .Select(f => Assembly.LoadFrom(f));

    [Fact]
    public void ProductAssemblies_HaveNoFieldForIdentitiesPlatesPhoneIdentifiersOrWatchLists()
    {
        var assemblies = ProductAssemblies().ToList();
        Assert.Contains(assemblies, a => a.GetName().Name == "CivicLens.Rules");
        Assert.Contains(assemblies, a => a.GetName().Name == "CivicLens.Privacy");

        var violations = assemblies.SelectMany(a => Violations(a.GetTypes())).ToList();

        Assert.True(violations.Count == 0, "Privacy guard (docs/privacy.md): these members could hold identity data:\n  " + string.Join("\n  ", violations));
    }

    [Theory]
    [InlineData("PlateNumber")]
    [InlineData("faceEmbedding")]
    [InlineData("MAC_ADDRESS")]
    [InlineData("NationalId")]
    [InlineData("SuspectWatchList")]
    [InlineData("ReIdVector")]
    [InlineData("Imsi")]
    public void Forbidden_IdentityNames_AreCaught(string name) => Assert.NotNull(Forbidden(name));

    [Theory]
    [InlineData("PlateCarriers")]
    [InlineData("MaxAddressLength")]
    [InlineData("TrackId")]
    [InlineData("FaceDetector")]
    [InlineData("Traced")]
    public void Forbidden_OrdinaryNames_Pass(string name) => Assert.Null(Forbidden(name));

    [Fact]
    public void Violations_TypeWithAPlateString_IsReported()
    {
        var found = Violations([typeof(ParkingTicket)]).ToList();

        Assert.Single(found);
        Assert.Contains("LicencePlate", found[0], StringComparison.Ordinal);
    }

    private sealed class ParkingTicket
    {
        public string LicencePlate { get; set; } = "";
        public int Minutes { get; set; }
    }
}
