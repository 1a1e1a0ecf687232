using CivicLens.District.Categories;
using CivicLens.Rules.Configuration;
using CivicLens.TestSupport;

namespace CivicLens.Rules.Tests.Configuration;

/// <summary>Category attributes in the district file: read as written, and a malformed one stops the load where it is.</summary>
public sealed class CategoryAttributeConfigTests
{
    [Fact]
    public void Sample_WasteAndParking_HaveTheirAttributes()
    {
        var config = ConfigLoader.LoadFile(Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"));
        var waste = config.Categories.Single(c => c.Id == "waste");
        Assert.Equal(["kind", "items"], waste.Attributes.Select(a => a.Code).ToArray());
        var kind = waste.Attributes[0];
        Assert.True(kind.Required);
        Assert.Equal(AttributeDatatypes.SingleValueList, kind.Datatype);
        Assert.Equal(1, kind.Order);
        Assert.Contains(kind.Values, v => v.Key == "furniture" && v.Name == "Furniture or mattress");
        Assert.Equal(2, waste.Attributes[1].Order);
        Assert.Equal("a whole number", waste.Attributes[1].DatatypeDescription);
        Assert.Equal(AttributeDatatypes.MultiValueList, config.Categories.Single(c => c.Id == "illegal-parking").Attributes.Single().Datatype);
        Assert.Empty(config.Categories.Single(c => c.Id == "graffiti").Attributes);
    }

    [Fact]
    public void Malformed_Attributes_AreLocatedErrorsAtLoad()
    {
        const string yaml = """
            categories:
              - id: waste
                attributes:
                  - code: kind
                    datatype: dropdown
                    description: What was left?
                  - code: size
                    datatype: singlevaluelist
                    description: How big?
                  - code: items
                    datatype: number
                    description: How many?
                    colour: red
                  - code: items
                    datatype: number
                    description: How many again?
            """;
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "district.yaml"));
        Assert.Contains(ex.Errors, e => e.Field == "categories[0].attributes[0].datatype" && e.Message.Contains("'dropdown' is not a GeoReport v2 datatype", StringComparison.Ordinal) && e.Line == 5);
        Assert.Contains(ex.Errors, e => e.Field == "categories[0].attributes[1].values" && e.Message.Contains("needs at least one value", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Field == "categories[0].attributes[2].colour" && e.Message.StartsWith("unknown key", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Field == "categories[0].attributes" && e.Message == "attribute code 'items' is given twice");
    }
}
