using System.Security.Cryptography;

namespace CivicLens.Privacy.Sealed;

/// <summary>
/// The AES-256 key that seals unredacted originals. It lives in a file of its own, outside the database and the
/// snapshot folder (so a copy of either reveals nothing), readable by the service user only.
/// </summary>
public sealed class SealingKey : IDisposable
{
    private readonly byte[] _key;

    private SealingKey(byte[] key)
    {
        _key = key;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(key, hash);
        Id = Convert.ToHexStringLower(hash[..8]);
    }

    /// <summary>A fingerprint of the key (not the key): sealed files name the key they need.</summary>
    public string Id { get; }

    internal ReadOnlySpan<byte> Bytes => _key;

    /// <summary>Creates a new random key file (mode 0600); refuses to overwrite an existing one.</summary>
    public static SealingKey Create(string path)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var file = new FileStream(path, options);
            file.Write(key);
            file.Flush(flushToDisk: true);
        }
        catch (IOException ex) when (File.Exists(path))
        {
            throw new SealingException($"The sealing key {path} already exists; it is never overwritten (sealed originals would become unreadable).", ex);
        }

        return new SealingKey(key);
    }

    /// <summary>Loads the key; a missing, unreadable or malformed key file is refused with what to do about it.</summary>
    public static SealingKey Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException ex)
        {
            throw new SealingException($"The sealing key {path} does not exist. Create it once with 'civiclens keys create {path}' and keep it outside the database.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SealingException($"The sealing key {path} cannot be read: {ex.Message}", ex);
        }

        if (bytes.Length != 32) throw new SealingException($"The sealing key {path} holds {bytes.Length} bytes, not the 32 of an AES-256 key.");
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
        {
            throw new SealingException($"The sealing key {path} is readable by other users; restrict it: chmod 600 {path}");
        }

        return new SealingKey(bytes);
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_key);
}

/// <summary>A sealing or reveal problem an operator can act on (missing or wrong key, expired original, refused reveal).</summary>
public sealed class SealingException : Exception
{
    public SealingException(string message) : base(message) { }
    public SealingException(string message, Exception inner) : base(message, inner) { }
    public SealingException() { }
}
