using CivicLens.Cluster.Hub;

namespace CivicLens.Cluster.Tests.Hub;

public sealed class HubIntakeGrainTests
{
    [Theory]
    [InlineData("cam-a-0000012-1a2b3c4d.jpg", true)]
    [InlineData("../keys/secrets.key", false)]
    [InlineData("/etc/passwd.jpg", false)]
    [InlineData("sub/cam.jpg", false)]
    [InlineData(".hidden.jpg", false)]
    [InlineData("cam.png", false)]
    [InlineData("", false)]
    public void Only_a_plain_evidence_file_name_lands_in_the_evidence_folder(string name, bool plain) =>
        Assert.Equal(plain, HubIntakeGrain.IsPlainName(name));
}
