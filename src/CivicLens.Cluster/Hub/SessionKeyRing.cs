using System.Xml.Linq;
using CivicLens.Storage.Secrets;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CivicLens.Cluster.Hub;

/// <summary>
/// The keys that protect session cookies, kept in PostgreSQL (table <c>civiclens_session_keys</c>) so every hub reads
/// the same ring: a session made on one hub is valid on the others and survives its hub's death. Each key is sealed
/// with the secrets key the hubs share (<see cref="SealedKeyEncryptor"/>): a copy of the database alone forges nothing.
/// </summary>
public sealed class SessionKeyRing(string connectionString) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var read = new NpgsqlCommand("SELECT xml FROM civiclens_session_keys ORDER BY stored_at, name", connection);
        using var rows = read.ExecuteReader();
        var keys = new List<XElement>();
        while (rows.Read()) keys.Add(XElement.Parse(rows.GetString(0)));
        return keys;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        // Two hubs may each make the first key at once: both are kept (the ring holds several), none is lost.
        using var insert = new NpgsqlCommand("INSERT INTO civiclens_session_keys (name, xml) VALUES (@n, @x) ON CONFLICT (name) DO NOTHING", connection);
        insert.Parameters.AddWithValue("n", friendlyName);
        insert.Parameters.AddWithValue("x", element.ToString(SaveOptions.DisableFormatting));
        insert.ExecuteNonQuery();
    }
}

/// <summary>Seals a session key's XML with the secrets key before it is stored.</summary>
public sealed class SealedKeyEncryptor(SecretBox secrets) : IXmlEncryptor
{
    internal const string Purpose = "session-key";

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        ArgumentNullException.ThrowIfNull(plaintextElement);
        var sealedKey = secrets.SealText(plaintextElement.ToString(SaveOptions.DisableFormatting), Purpose);
        return new EncryptedXmlInfo(new XElement("sealedKey", Convert.ToBase64String(sealedKey)), typeof(SealedKeyDecryptor));
    }
}

/// <summary>Opens what <see cref="SealedKeyEncryptor"/> sealed (made by the data protection system with the hub's services).</summary>
public sealed class SealedKeyDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        ArgumentNullException.ThrowIfNull(encryptedElement);
        var secrets = services.GetRequiredService<SecretBox>();
        return XElement.Parse(secrets.OpenText(Convert.FromBase64String(encryptedElement.Value), SealedKeyEncryptor.Purpose));
    }
}
