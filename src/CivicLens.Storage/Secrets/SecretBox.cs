using System.Security.Cryptography;

namespace CivicLens.Storage.Secrets;

/// <summary>
/// Encrypts the secrets the database must hold (camera stream URLs with their credentials, TOTP secrets) with
/// AES-256-GCM under a key kept in a file outside the database: a copy of the database alone reveals none of them.
/// Layout: version byte, 12-byte nonce, 16-byte tag, ciphertext; the purpose is bound as associated data so a
/// sealed TOTP secret cannot be passed off as a stream URL.
/// </summary>
public sealed class SecretBox : IDisposable
{
    private const byte Version = 1;
    private readonly AesGcm _aes;

    // AesGcm is not safe for concurrent use: on OpenSSL one cipher context serves every call, and two threads at once
    // fail ("cipher operation failed", "authentication tag did not match"): a hub placing cameras in parallel did.
    private readonly Lock _gate = new();

    public SecretBox(ReadOnlySpan<byte> key)
    {
        if (key.Length != 32) throw new ArgumentException("The secrets key must be 32 bytes.", nameof(key));
        _aes = new AesGcm(key, 16);
        Span<byte> check = stackalloc byte[32];
        HMACSHA256.HashData(key, "civiclens secrets key check"u8, check);
        KeyCheck = Convert.ToHexStringLower(check[..8]);
    }

    /// <summary>Names the key without revealing it: processes that must share one key (a cluster's hubs) compare this.</summary>
    public string KeyCheck { get; }

    /// <summary>Loads the key file, creating it (0600) on first start.</summary>
    public static SecretBox LoadOrCreate(string path)
    {
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var key = RandomNumberGenerator.GetBytes(32);
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var fs = new FileStream(path, create))
            {
                fs.Write(key);
                fs.Flush(flushToDisk: true);
            }

            return new SecretBox(key);
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw new InvalidOperationException($"The secrets key {path} is readable by other users; make it 0600 (chmod 600).");
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != 32) throw new InvalidOperationException($"The secrets key {path} is not a 32-byte key.");
        return new SecretBox(bytes);
    }

    public byte[] Seal(ReadOnlySpan<byte> plaintext, string purpose)
    {
        var output = new byte[1 + 12 + 16 + plaintext.Length];
        output[0] = Version;
        var nonce = output.AsSpan(1, 12);
        RandomNumberGenerator.Fill(nonce);
        lock (_gate) _aes.Encrypt(nonce, plaintext, output.AsSpan(29), output.AsSpan(13, 16), System.Text.Encoding.UTF8.GetBytes(purpose));
        return output;
    }

    public byte[] Open(ReadOnlySpan<byte> sealedBytes, string purpose)
    {
        if (sealedBytes.Length < 29 || sealedBytes[0] != Version) throw new CryptographicException("Not a sealed secret.");
        var plaintext = new byte[sealedBytes.Length - 29];
        lock (_gate) _aes.Decrypt(sealedBytes.Slice(1, 12), sealedBytes[29..], sealedBytes.Slice(13, 16), plaintext, System.Text.Encoding.UTF8.GetBytes(purpose));
        return plaintext;
    }

    public byte[] SealText(string text, string purpose) => Seal(System.Text.Encoding.UTF8.GetBytes(text), purpose);

    public string OpenText(byte[] sealedBytes, string purpose) => System.Text.Encoding.UTF8.GetString(Open(sealedBytes, purpose));

    public void Dispose()
    {
        lock (_gate) _aes.Dispose();
    }
}
