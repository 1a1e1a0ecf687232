using System.Xml.Linq;
using CivicLens.Cluster.Hosting;
using CivicLens.Cluster.Hub;
using CivicLens.Server.Hosting;
using CivicLens.Storage.Secrets;
using CivicLens.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace CivicLens.Cluster.Tests.Hosting;

/// <summary>What hubs of one cluster must share, on a real PostgreSQL: the first hub records it, the others must match.</summary>
public sealed class HubAgreementTests
{
    [Fact]
    public async Task A_hub_with_the_first_hubs_key_and_folder_joins_one_with_its_own_is_refused_naming_both()
    {
        await using var db = await TestDatabase.CreateAsync("PostgreSql", migrate: false);
        using var dir = TestAssets.CreateTempDirectory();
        var shared = Path.Combine(dir.Path, "shared");
        var first = new ServerOptions { DataDirectory = Path.Combine(dir.Path, "a"), SharedDirectory = shared };
        await HubAgreement.CheckAsync(db.Options.ConnectionString!, first, "hub-a", CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(shared, HubAgreement.SharedFolderMark)));

        // The same key (copied) and the same folder: joins, and again after a restart.
        var second = new ServerOptions { DataDirectory = Path.Combine(dir.Path, "b"), SharedDirectory = shared };
        Directory.CreateDirectory(Path.GetDirectoryName(second.SecretsKeyPath)!);
        File.Copy(first.SecretsKeyPath, second.SecretsKeyPath);
        await HubAgreement.CheckAsync(db.Options.ConnectionString!, second, "hub-b", CancellationToken.None);
        await HubAgreement.CheckAsync(db.Options.ConnectionString!, second, "hub-b", CancellationToken.None);

        // Its own key and an unmounted folder: refused, both said, and who recorded the cluster's.
        var stranger = new ServerOptions { DataDirectory = Path.Combine(dir.Path, "x"), SharedDirectory = Path.Combine(dir.Path, "empty-mount") };
        var refused = await Assert.ThrowsAsync<StartupException>(() => HubAgreement.CheckAsync(db.Options.ConnectionString!, stranger, "hub-x", CancellationToken.None));
        Assert.Contains("secrets key", refused.Message, StringComparison.Ordinal);
        Assert.Contains("shared folder", refused.Message, StringComparison.Ordinal);
        Assert.Contains("hub-a", refused.Message, StringComparison.Ordinal);
        // Refused means nothing recorded: the stranger's folder was not marked as the cluster's.
        Assert.False(File.Exists(Path.Combine(dir.Path, "empty-mount", HubAgreement.SharedFolderMark)));
    }

    [Fact]
    public async Task Session_keys_are_stored_sealed_and_read_back_by_any_hub_with_the_same_secrets_key()
    {
        await using var db = await TestDatabase.CreateAsync("PostgreSql", migrate: false);
        using var dir = TestAssets.CreateTempDirectory();
        var options = new ServerOptions { DataDirectory = dir.Path };
        await HubAgreement.CheckAsync(db.Options.ConnectionString!, options, "hub-a", CancellationToken.None);
        using var secrets = SecretBox.LoadOrCreate(options.SecretsKeyPath);
        var key = new XElement("key", new XAttribute("id", "k1"), new XElement("secret", "master key material"));
        var sealedKey = new SealedKeyEncryptor(secrets).Encrypt(key);
        Assert.DoesNotContain("master key material", sealedKey.EncryptedElement.ToString(), StringComparison.Ordinal);

        new SessionKeyRing(db.Options.ConnectionString!).StoreElement(sealedKey.EncryptedElement, "key-k1");
        // A second hub's ring reads the same row; only the secrets key opens it.
        var stored = Assert.Single(new SessionKeyRing(db.Options.ConnectionString!).GetAllElements());
        var services = new ServiceCollection().AddSingleton(secrets).BuildServiceProvider();
        Assert.Equal(key.ToString(), new SealedKeyDecryptor(services).Decrypt(stored).ToString());
        using var other = new SecretBox(new byte[32]);
        var wrong = new ServiceCollection().AddSingleton(other).BuildServiceProvider();
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => _ = new SealedKeyDecryptor(wrong).Decrypt(stored));
    }
}
