namespace CivicLens.Storage.Entities;

/// <summary>A local account. Staff only: residents never need one.</summary>
public sealed class User
{
    public long Id { get; set; }

    public required string UserName { get; set; }

    public required string PasswordHash { get; set; }

    /// <summary>viewer, operator, investigator, admin, auditor.</summary>
    public required string Role { get; set; }

    /// <summary>Areas (comma separated ids) this account may see; null sees the whole district.</summary>
    public string? AreaScope { get; set; }

    /// <summary>TOTP secret, sealed like every stored secret.</summary>
    public byte[]? TotpSealed { get; set; }

    public bool TotpConfirmed { get; set; }

    /// <summary>The last accepted TOTP time step: a code is never accepted twice.</summary>
    public long TotpLastStep { get; set; }

    public int FailedLogins { get; set; }

    /// <summary>Unix ms until which logins are refused.</summary>
    public long? LockedUntil { get; set; }

    public bool Disabled { get; set; }

    /// <summary>Changes on password reset, role change or disable: every session issued before is void.</summary>
    public required string SecurityStamp { get; set; }

    public long CreatedAt { get; set; }

    /// <summary>Set for an account that logs in through the OpenID Connect provider: <c>issuer|subject</c>. It has no local password.</summary>
    public string? ExternalLogin { get; set; }
}

/// <summary>A key an analysis node or an integration uses to post events; only its hash is kept.</summary>
public sealed class ApiKey
{
    public long Id { get; set; }

    public required string Name { get; set; }

    /// <summary>SHA-256 of the key, hex.</summary>
    public required string Hash { get; set; }

    /// <summary>What it may do: <c>ingest</c>.</summary>
    public required string Scope { get; set; }

    public long CreatedAt { get; set; }

    public bool Revoked { get; set; }
}
