using CivicLens.Domain.Detection;

namespace CivicLens.Domain.Tests.Detection;

public sealed class ModelLabelsTests
{
    [Fact]
    public void Coco80_HasTheCocoOrder()
    {
        var labels = ModelLabels.Coco80;
        Assert.Equal(80, labels.Count);
        Assert.Equal(("person", "car", "truck", "toothbrush"), (labels[0], labels[2], labels[7], labels[79]));
    }

    [Fact]
    public void TryGetId_IgnoresCase()
    {
        Assert.True(ModelLabels.Coco80.TryGetId("Traffic Light", out var id));
        Assert.Equal(9, id);
        Assert.False(ModelLabels.Coco80.TryGetId("hard hat", out _));
        Assert.True(ModelLabels.Coco80.Contains("BUS"));
    }

    [Theory]
    [InlineData(80)]
    [InlineData(-1)]
    public void Indexer_UnknownClassId_GivesPlaceholderName(int classId)
    {
        Assert.Equal($"class{classId}", ModelLabels.Coco80[classId]);
    }

    [Fact]
    public void Constructor_DuplicateNames_FirstIdWins()
    {
        var labels = new ModelLabels(["car", "person", "Car"]);
        Assert.True(labels.TryGetId("car", out var id));
        Assert.Equal(0, id);
        Assert.Equal(3, labels.Count);
    }

    [Fact]
    public void Constructor_NoLabels_ThrowsNamingTheCause()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ModelLabels([]));
        Assert.Equal("names", ex.ParamName);
        Assert.Contains("at least one label", ex.Message, StringComparison.Ordinal);
    }
}
