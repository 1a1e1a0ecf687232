using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace CivicLens.Privacy.Sealed;

/// <summary>Where a city keeps sealed originals and how revealing one works. Off unless a city turns it on.</summary>
public sealed record SealedOriginalOptions
{
    public required string Directory { get; init; }

    /// <summary>How long an original is kept before it is destroyed (default 72 hours).</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromHours(72);

    /// <summary>How long an approved reveal may be opened.</summary>
    public TimeSpan RevealLifetime { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>A second investigator must approve each reveal.</summary>
    public bool RequireSecondApprover { get; init; }

    /// <summary>A written reason shorter than this is no reason.</summary>
    public int MinReasonLength { get; init; } = 20;
}

/// <summary>The roles that matter to sealed originals (the server's full role model maps onto these).</summary>
public enum PrivacyRole
{
    Viewer,
    Operator,
    Investigator,
    Admin,
    Auditor,
}

public sealed record RevealRequest(Guid EventId, string User, PrivacyRole Role, string CaseReference, string Reason);

/// <summary>Permission to open one sealed original: approved once <see cref="ExpiresAt"/> is set.</summary>
public sealed record RevealGrant(Guid Id, Guid EventId, string RequestedBy, string CaseReference, string Reason, DateTimeOffset RequestedAt,
    string? ApprovedBy = null, DateTimeOffset? ExpiresAt = null)
{
    public bool IsApproved => ExpiresAt is not null;
}

public sealed record RevealedOriginal(Guid EventId, int Width, int Height, byte[] Rgb, DateTimeOffset ExpiresAt);

/// <summary>
/// Keeps the unredacted frame of an event sealed (AES-256-GCM with a key kept outside the database) for a short
/// window, then destroys it. Revealing one takes the investigator role, a case reference and a written reason, and
/// optionally a second investigator's approval; the reveal can be opened only for a limited time, and every request,
/// approval, opening and refusal leaves an audit record. Nothing is revealed by mistake: a missing or wrong key, a
/// tampered file or an expired original is refused, with the reason, and audited.
/// </summary>
public sealed class SealedOriginalStore
{
    private static readonly byte[] Magic = "CLSO"u8.ToArray();
    private const int HeaderLength = 4 + 16 + 8 + 4 + 4 + 12 + 16;

    private readonly SealedOriginalOptions _options;
    private readonly SealingKey _key;
    private readonly IRevealAudit _audit;
    private readonly TimeProvider _time;
    private readonly Dictionary<Guid, RevealGrant> _grants = [];
    private readonly Lock _lock = new();

    public SealedOriginalStore(SealedOriginalOptions options, SealingKey key, IRevealAudit audit, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _key = key;
        _audit = audit;
        _time = time;
        System.IO.Directory.CreateDirectory(options.Directory);
    }

    private string PathOf(Guid eventId) => Path.Combine(_options.Directory, eventId.ToString("N") + ".sealed");

    /// <summary>Seals an event's unredacted RGB24 frame. Written atomically, readable by the service user only.</summary>
    public void Seal(Guid eventId, ReadOnlySpan<byte> rgb, int width, int height)
    {
        if (rgb.Length != checked(width * height * 3)) throw new ArgumentException("The pixels do not match the frame size.", nameof(rgb));
        var sealedAt = _time.GetUtcNow();
        var file = new byte[HeaderLength + rgb.Length];
        var header = file.AsSpan(0, HeaderLength);
        Magic.CopyTo(header);
        Encoding.ASCII.GetBytes(_key.Id, header[4..20]);
        BinaryPrimitives.WriteInt64LittleEndian(header[20..28], sealedAt.UtcTicks);
        BinaryPrimitives.WriteInt32LittleEndian(header[28..32], width);
        BinaryPrimitives.WriteInt32LittleEndian(header[32..36], height);
        var nonce = header[36..48];
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(_key.Bytes, 16))
        {
            aes.Encrypt(nonce, rgb, file.AsSpan(HeaderLength), header[48..64], AssociatedData(eventId, header[..48]));
        }

        Write(eventId, file);
    }

    /// <summary>
    /// Keeps an original another process sealed (a cluster's node) as if sealed here; false, and nothing written, when
    /// the file is not a sealed original of this store's key (it could never be revealed, only destroyed).
    /// </summary>
    public bool Keep(Guid eventId, ReadOnlySpan<byte> file)
    {
        Span<byte> keyId = stackalloc byte[16];
        Encoding.ASCII.GetBytes(_key.Id, keyId);
        if (file.Length < HeaderLength || !file[..4].SequenceEqual(Magic) || !file[4..20].SequenceEqual(keyId)) return false;
        Write(eventId, file);
        return true;
    }

    /// <summary>Written atomically and flushed, readable by the service user only.</summary>
    private void Write(Guid eventId, ReadOnlySpan<byte> file)
    {
        var path = PathOf(eventId);
        var temp = path + ".tmp";
        var create = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
            Options = FileOptions.WriteThrough,
        };
        if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, create))
        {
            stream.Write(file);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Asks to reveal an event's original; refused (and audited) without the role, a case reference or a reason.</summary>
    public RevealGrant RequestReveal(RevealRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = _time.GetUtcNow();
        string? refusal = null;
        if (request.Role != PrivacyRole.Investigator) refusal = $"revealing an original needs the investigator role, not {request.Role.ToString().ToLowerInvariant()}";
        else if (string.IsNullOrWhiteSpace(request.CaseReference)) refusal = "a case reference is required";
        else if (string.IsNullOrWhiteSpace(request.Reason) || request.Reason.Trim().Length < _options.MinReasonLength)
        {
            refusal = $"a written reason of at least {_options.MinReasonLength} characters is required";
        }
        else if (!File.Exists(PathOf(request.EventId))) refusal = "no sealed original exists for this event (never sealed, or destroyed after its window)";
        else if (SealedAt(request.EventId) + _options.Window <= now) refusal = "the original's window has passed; it is being destroyed";

        if (refusal is not null)
        {
            _audit.Record(new RevealAuditRecord(now, "reveal.request", request.EventId, request.User, request.CaseReference, request.Reason, false, refusal));
            throw new SealingException("Reveal refused: " + refusal + ".");
        }

        var grant = new RevealGrant(Guid.NewGuid(), request.EventId, request.User, request.CaseReference.Trim(), request.Reason.Trim(), now);
        if (!_options.RequireSecondApprover) grant = grant with { ApprovedBy = request.User, ExpiresAt = now + _options.RevealLifetime };
        lock (_lock) _grants[grant.Id] = grant;
        _audit.Record(new RevealAuditRecord(now, "reveal.request", request.EventId, request.User, grant.CaseReference, grant.Reason, true,
            grant.IsApproved ? $"granted until {grant.ExpiresAt:O}" : "waiting for a second investigator"));
        return grant;
    }

    /// <summary>A second investigator approves a pending reveal; the requester cannot approve their own.</summary>
    public RevealGrant Approve(Guid grantId, string approver, PrivacyRole role)
    {
        var now = _time.GetUtcNow();
        RevealGrant grant;
        lock (_lock)
        {
            if (!_grants.TryGetValue(grantId, out var found)) throw Refuse("reveal.approve", Guid.Empty, approver, null, now, "no such reveal request");
            grant = found;
            string? refusal = role != PrivacyRole.Investigator ? "approving needs the investigator role"
                : string.Equals(approver, grant.RequestedBy, StringComparison.Ordinal) ? "the requester cannot approve their own reveal"
                : grant.IsApproved ? "already approved"
                : null;
            if (refusal is not null) throw Refuse("reveal.approve", grant.EventId, approver, grant.CaseReference, now, refusal);
            grant = grant with { ApprovedBy = approver, ExpiresAt = now + _options.RevealLifetime };
            _grants[grantId] = grant;
        }

        _audit.Record(new RevealAuditRecord(now, "reveal.approve", grant.EventId, approver, grant.CaseReference, grant.Reason, true, $"granted until {grant.ExpiresAt:O}"));
        return grant;
    }

    /// <summary>Opens an approved reveal: the unredacted pixels, for the requester, until the grant expires.</summary>
    public RevealedOriginal Open(Guid grantId, string user)
    {
        var now = _time.GetUtcNow();
        RevealGrant? grant;
        lock (_lock) _grants.TryGetValue(grantId, out grant);
        if (grant is null) throw Refuse("reveal.open", Guid.Empty, user, null, now, "no such reveal");
        var refusal = !grant.IsApproved ? "the reveal has not been approved"
            : !string.Equals(user, grant.RequestedBy, StringComparison.Ordinal) ? "only the investigator who asked may open the reveal"
            : now >= grant.ExpiresAt ? "the reveal has expired; ask again with the case reference and reason"
            : null;
        if (refusal is not null) throw Refuse("reveal.open", grant.EventId, user, grant.CaseReference, now, refusal);

        byte[] file;
        try
        {
            file = File.ReadAllBytes(PathOf(grant.EventId));
        }
        catch (FileNotFoundException)
        {
            throw Refuse("reveal.open", grant.EventId, user, grant.CaseReference, now, "the original has been destroyed");
        }

        if (file.Length < HeaderLength || !file.AsSpan(0, 4).SequenceEqual(Magic))
        {
            throw Refuse("reveal.open", grant.EventId, user, grant.CaseReference, now, "the sealed file is not a sealed original");
        }

        var header = file.AsSpan(0, HeaderLength);
        var keyId = Encoding.ASCII.GetString(header[4..20]);
        if (keyId != _key.Id) throw Refuse("reveal.open", grant.EventId, user, grant.CaseReference, now, $"sealed with key {keyId}, but the loaded key is {_key.Id}");
        var width = BinaryPrimitives.ReadInt32LittleEndian(header[28..32]);
        var height = BinaryPrimitives.ReadInt32LittleEndian(header[32..36]);
        var rgb = new byte[file.Length - HeaderLength];
        try
        {
            using var aes = new AesGcm(_key.Bytes, 16);
            aes.Decrypt(header[36..48], file.AsSpan(HeaderLength), header[48..64], rgb, AssociatedData(grant.EventId, header[..48]));
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(rgb);
            throw Refuse("reveal.open", grant.EventId, user, grant.CaseReference, now, "the sealed file fails its integrity check (altered, or sealed for another event)");
        }

        _audit.Record(new RevealAuditRecord(now, "reveal.open", grant.EventId, user, grant.CaseReference, grant.Reason, true, $"opened, grant valid until {grant.ExpiresAt:O}"));
        return new RevealedOriginal(grant.EventId, width, height, rgb, grant.ExpiresAt!.Value);
    }

    /// <summary>
    /// Destroys every original older than the window (overwritten, then deleted), except those of events a legal hold
    /// keeps (<paramref name="held"/>); returns how many.
    /// </summary>
    public int Purge(Func<Guid, bool>? held = null)
    {
        var now = _time.GetUtcNow();
        var destroyed = 0;
        foreach (var path in System.IO.Directory.EnumerateFiles(_options.Directory, "*.sealed"))
        {
            if (!Guid.TryParseExact(Path.GetFileNameWithoutExtension(path), "N", out var eventId)) continue;
            if (SealedAt(eventId) + _options.Window > now || held?.Invoke(eventId) == true) continue;
            try
            {
                // Overwrite first: a deleted file's blocks should not keep the ciphertext for a later key leak.
                using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None))
                {
                    var zeros = new byte[64 * 1024];
                    for (long left = stream.Length; left > 0; left -= zeros.Length) stream.Write(zeros, 0, (int)Math.Min(zeros.Length, left));
                    stream.Flush(flushToDisk: true);
                }

                File.Delete(path);
                destroyed++;
                _audit.Record(new RevealAuditRecord(now, "original.destroyed", eventId, "retention", null, null, true, $"window of {_options.Window.TotalHours:0} h passed"));
            }
            catch (IOException)
            {
                // Tried again at the next purge.
            }
        }

        return destroyed;
    }

    private DateTimeOffset SealedAt(Guid eventId)
    {
        Span<byte> header = stackalloc byte[HeaderLength];
        using var stream = File.OpenRead(PathOf(eventId));
        stream.ReadExactly(header);
        return new DateTimeOffset(BinaryPrimitives.ReadInt64LittleEndian(header[20..28]), TimeSpan.Zero);
    }

    /// <summary>The event id and the header are authenticated: a file renamed to another event, or re-dated, fails.</summary>
    private static byte[] AssociatedData(Guid eventId, ReadOnlySpan<byte> header)
    {
        var data = new byte[16 + header.Length];
        eventId.TryWriteBytes(data);
        header.CopyTo(data.AsSpan(16));
        return data;
    }

    private SealingException Refuse(string action, Guid eventId, string user, string? caseReference, DateTimeOffset now, string refusal)
    {
        _audit.Record(new RevealAuditRecord(now, action, eventId, user, caseReference, null, false, refusal));
        return new SealingException("Reveal refused: " + refusal + ".");
    }
}
