using System.Security.Cryptography;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Secrets;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CivicLens.Server.Accounts;

/// <summary>How a login attempt ended.</summary>
public enum LoginOutcome
{
    Ok,
    Invalid,
    Locked,
    SecondFactorRequired,
    EnrolmentRequired,
}

public sealed record LoginResult(LoginOutcome Outcome, User? User = null, string? EnrolmentUri = null, string? EnrolmentSecret = null);

/// <summary>
/// Local accounts: PBKDF2-HMAC-SHA512 hashes (210,000 iterations, OWASP's 2023 figure), lockout after repeated
/// failures, TOTP for the roles that need it. Unknown names and wrong passwords get the same answer and take the
/// same time, so accounts cannot be enumerated.
/// </summary>
public sealed class AccountService(IDbContextFactory<CivicLensDb> dbs, SecretBox secrets, TimeProvider time)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan LockoutTime = TimeSpan.FromMinutes(15);
    private const string TotpPurpose = "totp";
    private const string Issuer = "CivicLens";

    private static readonly PasswordHasher<User> Hasher = new(Options.Create(new PasswordHasherOptions
    {
        CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
        IterationCount = 210_000,
    }));

    // Verified against for unknown names so both paths cost one hash.
    private static readonly string DummyHash = Hasher.HashPassword(null!, "not-a-real-password-" + Guid.NewGuid());

    public static string Hash(string password) => Hasher.HashPassword(null!, password);

    public async Task<LoginResult> LoginAsync(string userName, string password, string? code, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var user = await db.Users.FirstOrDefaultAsync(u => u.UserName == userName, ct);
        // An account of the OpenID Connect provider has no local password.
        if (user is null || user.Disabled || user.ExternalLogin is not null)
        {
            Hasher.VerifyHashedPassword(null!, DummyHash, password);
            return new(LoginOutcome.Invalid);
        }

        if (user.LockedUntil is { } until && until > now.ToUnixTimeMilliseconds()) return new(LoginOutcome.Locked, user);

        var verdict = Hasher.VerifyHashedPassword(user, user.PasswordHash, password);
        if (verdict == PasswordVerificationResult.Failed) return await FailAsync(db, user, now, ct);
        if (verdict == PasswordVerificationResult.SuccessRehashNeeded) user.PasswordHash = Hasher.HashPassword(user, password);

        if (Roles.RequiresSecondFactor(user.Role))
        {
            if (user.TotpSealed is null)
            {
                user.TotpSealed = secrets.Seal(Totp.NewSecret(), TotpPurpose);
                user.TotpConfirmed = false;
                await db.SaveChangesAsync(ct);
            }

            var secret = secrets.Open(user.TotpSealed, TotpPurpose);
            try
            {
                if (code is null)
                {
                    // Password right, second factor missing: no failure counted, nothing granted.
                    if (!user.TotpConfirmed) return new(LoginOutcome.EnrolmentRequired, user, Totp.Uri(Issuer, user.UserName, secret), Totp.Base32(secret));
                    return new(LoginOutcome.SecondFactorRequired, user);
                }

                if (Totp.Verify(secret, code, now, user.TotpLastStep) is not { } step) return await FailAsync(db, user, now, ct);
                user.TotpLastStep = step;
                user.TotpConfirmed = true;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }

        user.FailedLogins = 0;
        user.LockedUntil = null;
        await db.SaveChangesAsync(ct);
        return new(LoginOutcome.Ok, user);
    }

    private static async Task<LoginResult> FailAsync(CivicLensDb db, User user, DateTimeOffset now, CancellationToken ct)
    {
        user.FailedLogins++;
        if (user.FailedLogins >= MaxFailures)
        {
            user.LockedUntil = (now + LockoutTime).ToUnixTimeMilliseconds();
            user.FailedLogins = 0;
        }

        await db.SaveChangesAsync(ct);
        return new(user.LockedUntil is not null ? LoginOutcome.Locked : LoginOutcome.Invalid, user);
    }

    /// <summary>Creates an account; the password must pass <see cref="PasswordPolicy"/>.</summary>
    public async Task<User> CreateAsync(string userName, string password, string role, IReadOnlyList<string>? areas, CancellationToken ct)
    {
        if (!Roles.IsStaff(role)) throw new AccountException($"unknown role '{role}' (roles: {string.Join(", ", Roles.Staff)})");
        if (string.IsNullOrWhiteSpace(userName) || userName.Length > 64 || !userName.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
        {
            throw new AccountException("a user name is 1 to 64 letters, digits, '.', '-' or '_'");
        }

        if (PasswordPolicy.Check(password, userName) is { } problem) throw new AccountException($"the password {problem}");
        await using var db = await dbs.CreateDbContextAsync(ct);
        if (await db.Users.AnyAsync(u => u.UserName == userName, ct)) throw new AccountException($"user '{userName}' exists already");
        var user = new User
        {
            UserName = userName,
            PasswordHash = Hash(password),
            Role = role,
            AreaScope = areas is { Count: > 0 } ? string.Join(',', areas) : null,
            SecurityStamp = NewStamp(),
            CreatedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        db.Users.Add(user);
        await db.SaveChangesAsync(ct);
        return user;
    }

    public async Task ChangePasswordAsync(long userId, string current, string replacement, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var user = await db.Users.FirstAsync(u => u.Id == userId, ct);
        if (user.ExternalLogin is not null) throw new AccountException("this account logs in through the identity provider; its password is changed there");
        if (Hasher.VerifyHashedPassword(user, user.PasswordHash, current) == PasswordVerificationResult.Failed) throw new AccountException("the current password is wrong");
        if (PasswordPolicy.Check(replacement, user.UserName) is { } problem) throw new AccountException($"the new password {problem}");
        user.PasswordHash = Hash(replacement);
        user.SecurityStamp = NewStamp();
        await db.SaveChangesAsync(ct);
    }

    /// <summary>
    /// The local account of an OpenID Connect user (<paramref name="externalLogin"/> = issuer|subject): created at the
    /// first login, its role and areas set from the provider's claims at every login (a change voids older sessions).
    /// Null when the account is disabled.
    /// </summary>
    public async Task<User?> ExternalLoginAsync(string externalLogin, string displayName, string role, IReadOnlyList<string>? areas, CancellationToken ct)
    {
        if (!Roles.IsStaff(role)) throw new AccountException($"unknown role '{role}'");
        await using var db = await dbs.CreateDbContextAsync(ct);
        var scope = areas is { Count: > 0 } ? string.Join(',', areas) : null;
        var user = await db.Users.FirstOrDefaultAsync(u => u.ExternalLogin == externalLogin, ct);
        if (user is null)
        {
            // Provider names always hold an '@', which local names cannot: a provider user never takes over a local account.
            var name = displayName;
            for (var n = 2; await db.Users.AnyAsync(u => u.UserName == name, ct); n++) name = $"{displayName}~{n}";
            user = new User
            {
                UserName = name,
                PasswordHash = "",
                Role = role,
                AreaScope = scope,
                SecurityStamp = NewStamp(),
                CreatedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
                ExternalLogin = externalLogin,
            };
            db.Users.Add(user);
        }
        else
        {
            if (user.Disabled) return null;
            if (user.Role != role || user.AreaScope != scope)
            {
                user.Role = role;
                user.AreaScope = scope;
                user.SecurityStamp = NewStamp();
            }
        }

        await db.SaveChangesAsync(ct);
        return user;
    }

    public static string NewStamp() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}

/// <summary>An account change refused, with the reason to show.</summary>
public sealed class AccountException(string message) : Exception(message);
