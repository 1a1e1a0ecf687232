using CivicLens.Domain.Detection;
using CivicLens.Inference.Models;

namespace CivicLens.Inference.Tests.Models;

public sealed class ModelLabelGuardTests
{
    [Fact]
    public void EnsureAllowed_Coco80AndFace_Pass()
    {
        ModelLabelGuard.EnsureAllowed(ModelLabels.Coco80.Names, "nanodet-g-416.onnx");
        ModelLabelGuard.EnsureAllowed(["face"], "blazeface-back-256.onnx");
        ModelLabelGuard.EnsureAllowed(["helmet", "hi-vis vest", "person", "license plate", "race car", "baby stroller", "manhole"], "ppe.onnx");
    }

    [Theory]
    [InlineData("gender", "gender")]
    [InlineData("Age Group", "age")]
    [InlineData("age_25_34", "age")]
    [InlineData("face_embedding", "embedding")]
    [InlineData("FaceEmbedding", "embedding")]
    [InlineData("person_reid", "reid")]
    [InlineData("person-ReID", "re id")]
    [InlineData("identity_0042", "identity")]
    [InlineData("ethnicity:asian", "ethnicity")]
    [InlineData("Race", "race")]
    [InlineData("religious_symbol", "religious")]
    [InlineData("hijab", "hijab")]
    [InlineData("emotion/angry", "emotion")]
    [InlineData("Happy", "happy")]
    [InlineData("WOMAN", "woman")]
    [InlineData("male", "male")]
    [InlineData("child", "child")]
    [InlineData("skin-tone 3", "skin tone")]
    public void FindForbiddenTerm_PeopleClassification_ReturnsTerm(string label, string term)
    {
        Assert.Equal(term, ModelLabelGuard.FindForbiddenTerm(label));
    }

    [Theory]
    [InlineData("face")]
    [InlineData("Face")]
    [InlineData("person")]
    [InlineData("garbage")]     // contains "age", not as a word
    [InlineData("manager booth")] // contains "man", not as a word
    [InlineData("traffic cone")]
    [InlineData("race track")]
    [InlineData("baby carriage")]
    public void FindForbiddenTerm_ObjectLabels_ReturnsNull(string label)
    {
        Assert.Null(ModelLabelGuard.FindForbiddenTerm(label));
    }

    [Fact]
    public void EnsureAllowed_ForbiddenLabels_ThrowsNamingModelLabelsAndRule()
    {
        var ex = Assert.Throws<ModelException>(() =>
            ModelLabelGuard.EnsureAllowed(["person", "face", "gender_female", "car", "emotion"], "attributes.onnx"));

        Assert.Contains("'attributes.onnx'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'gender_female' (term 'gender')", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'emotion' (term 'emotion')", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("'person' (term", ex.Message, StringComparison.Ordinal);
        Assert.Contains("never", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ForbiddenTerms_CoverEveryProtectedCategory()
    {
        foreach (var term in new[] { "identity", "embedding", "ethnicity", "race", "religion", "emotion", "gender", "age" })
        {
            Assert.Contains(term, ModelLabelGuard.ForbiddenTerms);
        }

        Assert.DoesNotContain("face", ModelLabelGuard.ForbiddenTerms);
    }
}
