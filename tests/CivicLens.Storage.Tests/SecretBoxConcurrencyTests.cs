using System.Security.Cryptography;
using CivicLens.Storage.Secrets;

namespace CivicLens.Storage.Tests;

/// <summary>One key serves every thread: a hub opens many cameras' stream addresses in parallel when it places them.</summary>
public sealed class SecretBoxConcurrencyTests
{
    [Fact]
    public void OpenAndSeal_FromManyThreadsAtOnce_AllRoundTrip()
    {
        using var box = new SecretBox(RandomNumberGenerator.GetBytes(32));
        var sealedUrls = Enumerable.Range(0, 64).Select(i => (Url: $"rtsp://user:pw@10.0.0.{i}/stream", Sealed: box.SealText($"rtsp://user:pw@10.0.0.{i}/stream", "stream"))).ToList();
        Parallel.For(0, 200_000, new ParallelOptions { MaxDegreeOfParallelism = 16 }, i =>
        {
            var (url, sealedUrl) = sealedUrls[i % sealedUrls.Count];
            Assert.Equal(url, box.OpenText(sealedUrl, "stream"));
            Assert.Equal(url, box.OpenText(box.SealText(url, "stream"), "stream"));
        });
    }
}
