using CivicLens.District.Categories;

namespace CivicLens.District.Tests;

/// <summary>Open311 service definition attributes: a definition's rules at load, an answer's rules at intake.</summary>
public sealed class CategoryAttributesTests
{
    private static readonly AttributeDefinition Kind = new("kind", AttributeDatatypes.SingleValueList, "What was left?")
    {
        Required = true,
        Order = 1,
        Values = [new("bags", "Bin bags"), new("furniture", "Furniture")],
    };

    private static readonly AttributeDefinition Items = new("items", AttributeDatatypes.Number, "How many?") { Order = 2 };

    private static readonly AttributeDefinition Blocking = new("blocking", AttributeDatatypes.MultiValueList, "What does it block?")
    {
        Order = 3,
        Values = [new("footway", "The footway"), new("fire-lane", "A fire lane")],
    };

    private static readonly AttributeDefinition When = new("seen", AttributeDatatypes.Datetime, "When was it seen?") { Order = 4 };

    private static readonly AttributeDefinition[] All = [Kind, Items, Blocking, When];

    private static Dictionary<string, IReadOnlyList<string>> Answers(params (string Code, string[] Values)[] a) =>
        a.ToDictionary(x => x.Code, x => (IReadOnlyList<string>)x.Values, StringComparer.Ordinal);

    [Fact]
    public void Problems_SoundDefinitions_None()
    {
        Assert.All(All, a => Assert.Empty(CategoryAttributes.Problems(a)));
        Assert.Empty(CategoryAttributes.ListProblems(All));
    }

    [Fact]
    public void Problems_UnknownDatatype_NamesTheSpecificationsDatatypes()
    {
        var p = Assert.Single(CategoryAttributes.Problems(new AttributeDefinition("x", "enum", "Which?")));
        Assert.Equal("datatype", p.Field);
        Assert.Contains("'enum' is not a GeoReport v2 datatype", p.Message, StringComparison.Ordinal);
        Assert.Contains("singlevaluelist, multivaluelist", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_ListWithoutValues_DuplicateOrCommaKeys_AndValuesOnAString_AreRefused()
    {
        Assert.Contains(CategoryAttributes.Problems(Kind with { Values = [] }), p => p.Field == "values" && p.Message.Contains("at least one value", StringComparison.Ordinal));
        Assert.Contains(CategoryAttributes.Problems(Kind with { Values = [new("a", "A"), new("a", "B")] }), p => p.Message == "key 'a' is given twice");
        Assert.Contains(CategoryAttributes.Problems(Kind with { Values = [new("a,b", "A")] }), p => p.Message.Contains("without commas", StringComparison.Ordinal));
        Assert.Contains(CategoryAttributes.Problems(Items with { Values = [new("1", "One")] }), p => p.Message == "only a singlevaluelist or multivaluelist has values, not a number");
    }

    [Fact]
    public void Problems_BadCodeMissingDescriptionRequiredInformative_AreEachReported()
    {
        var p = CategoryAttributes.Problems(new AttributeDefinition("no spaces", AttributeDatatypes.ShortText, " ") { Variable = false, Required = true });
        Assert.Equal(["code", "description", "required"], p.Select(x => x.Field).ToArray());
    }

    [Fact]
    public void ListProblems_RepeatedCode_IsRefused()
    {
        Assert.Equal(["attribute code 'kind' is given twice"], CategoryAttributes.ListProblems([Kind, Kind with { Order = 5 }]));
    }

    [Fact]
    public void Check_ValidAnswers_AreNormalisedForStorage()
    {
        var stored = CategoryAttributes.Check(All, Answers(("kind", ["furniture"]), ("items", ["3"]), ("blocking", ["footway,fire-lane", "footway"]), ("seen", ["2026-12-07T10:00:00+01:00"])));
        Assert.Equal("furniture", stored["kind"]);
        Assert.Equal("3", stored["items"]);
        Assert.Equal(["footway", "fire-lane"], Assert.IsType<List<string>>(stored["blocking"]));
        Assert.Equal("2026-12-07T09:00:00Z", stored["seen"]);
    }

    [Fact]
    public void Check_MissingRequired_NamesTheAttributeAndItsQuestion()
    {
        var ex = Assert.Throws<AttributeAnswerException>(() => CategoryAttributes.Check(All, Answers(("items", ["2"]))));
        Assert.Equal("kind", ex.Code);
        Assert.Equal("attribute[kind] is required: What was left?", ex.Message);
        // An empty value is no answer.
        Assert.Throws<AttributeAnswerException>(() => CategoryAttributes.Check(All, Answers(("kind", [" "]))));
    }

    [Theory]
    [InlineData("kind", "sofa", "attribute[kind] 'sofa' is not one of its values (bags, furniture)")]
    [InlineData("blocking", "footway,road", "attribute[blocking] 'road' is not one of its values (footway, fire-lane)")]
    [InlineData("items", "three", "attribute[items] must be a number")]
    [InlineData("seen", "yesterday", "attribute[seen] must be an ISO 8601 time (2026-11-23T10:00:00Z)")]
    [InlineData("colour", "red", "attribute[colour] is not asked by this service (it asks: kind, items, blocking, seen)")]
    public void Check_BadAnswer_IsRefusedWithWhy(string code, string value, string message)
    {
        var answers = Answers(("kind", ["bags"]));
        answers[code] = [value];
        var ex = Assert.Throws<AttributeAnswerException>(() => CategoryAttributes.Check(All, answers));
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void ReadStored_GivesEveryAnswerAsAList()
    {
        var stored = CategoryAttributes.ReadStored("""{"blocking":["footway","fire-lane"],"kind":"bags"}""")!;
        Assert.Equal(["footway", "fire-lane"], stored["blocking"]);
        Assert.Equal(["bags"], stored["kind"]);
        Assert.Null(CategoryAttributes.ReadStored(null));
        Assert.Null(CategoryAttributes.ReadStored("not json"));
    }
}
