using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using CivicLens.Server.Accounts;
using CivicLens.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CivicLens.Server.Security;

/// <summary>
/// <c>Authorization: ApiKey &lt;key&gt;</c> for analysis nodes and integrations. Only the key's SHA-256 is stored;
/// a key grants its scope (ingest, open311, metrics) and nothing else.
/// </summary>
public sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    IDbContextFactory<CivicLensDb> dbs) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    public const string IngestScope = "ingest";

    public const string Open311Scope = "open311";

    public const string MetricsScope = "metrics";

    /// <summary>Each scope grants one role and nothing else: an Open311 app's key cannot post events.</summary>
    public static readonly IReadOnlyDictionary<string, string> Scopes = new Dictionary<string, string>
    {
        [IngestScope] = Roles.Node,
        [Open311Scope] = Roles.Open311App,
        [MetricsScope] = Roles.Metrics,
    };

    public static string HashKey(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static string NewKey() => "clk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith(SchemeName + " ", StringComparison.Ordinal)) return AuthenticateResult.NoResult();
        var hash = HashKey(header[(SchemeName.Length + 1)..].Trim());
        await using var db = await dbs.CreateDbContextAsync(Context.RequestAborted);
        var key = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Hash == hash && !k.Revoked, Context.RequestAborted);
        if (key is null) return AuthenticateResult.Fail("unknown or revoked API key");
        if (!Scopes.TryGetValue(key.Scope, out var role)) return AuthenticateResult.Fail("the API key's scope is not known to this server");
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, "0"), new Claim(ClaimTypes.Name, "key:" + key.Name), new Claim(ClaimTypes.Role, role)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
