using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CivicLens.Server.Tests;

/// <summary>The user the provider logs in (it approves every authorization request as this user).</summary>
public sealed record TestIdpUser(string Subject, string UserName, string[] Groups, string[] Amr, string[]? Areas = null);

/// <summary>
/// A small but real OpenID provider on a loopback port: discovery, a JWKS with an RSA key made per run, an authorize
/// endpoint that approves the preset user and a token endpoint that checks the code, the PKCE verifier and the client
/// secret and answers an RS256 id_token.
/// </summary>
public sealed class TestOidcProvider : IAsyncDisposable
{
    public const string ClientId = "civiclens-test";
    public const string ClientSecret = "a client secret for the test provider";
    private const string KeyId = "test-key-1";

    private readonly WebApplication _app;
    private readonly RSA _key = RSA.Create(2048);
    private readonly RSA _foreignKey = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, Grant> _codes = new();

    private sealed record Grant(string RedirectUri, string Nonce, string Challenge, TestIdpUser User);

    private TestOidcProvider(WebApplication app)
    {
        _app = app;
        Authority = new Uri(app.Urls.First());
    }

    public Uri Authority { get; }

    /// <summary>Who the next authorization request logs in.</summary>
    public TestIdpUser User { get; set; } = new("sub-0", "nobody", [], ["pwd"]);

    /// <summary>Sign id_tokens with a key that is not in the JWKS (same key id): a forged token.</summary>
    public bool SignWithForeignKey { get; set; }

    /// <summary>The query of the last authorization request (to check what the client asked for).</summary>
    public IQueryCollection? LastAuthorize { get; private set; }

    public int TokensIssued { get; private set; }

    /// <summary>The browser's side at the provider: no cookies needed, redirects followed by the test.</summary>
    public HttpClient Browser { get; } = new(new HttpClientHandler { AllowAutoRedirect = false });

    public static async Task<TestOidcProvider> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        TestOidcProvider? provider = null;
        app.MapGet("/.well-known/openid-configuration", () => provider!.Discovery());
        app.MapGet("/jwks", () => provider!.Jwks());
        app.MapGet("/authorize", (HttpContext ctx) => provider!.Authorize(ctx.Request.Query));
        // HttpRequest, not HttpContext: a lambda of HttpContext returning a Task is a RequestDelegate, and its result would be dropped.
        app.MapPost("/token", async (HttpRequest request) => provider!.Token(await request.ReadFormAsync()));
        await app.StartAsync();
        provider = new TestOidcProvider(app);
        return provider;
    }

    private string Issuer => Authority.ToString().TrimEnd('/');

    private IResult Discovery() => Results.Json(new Dictionary<string, object>
    {
        ["issuer"] = Issuer,
        ["authorization_endpoint"] = Issuer + "/authorize",
        ["token_endpoint"] = Issuer + "/token",
        ["jwks_uri"] = Issuer + "/jwks",
        ["response_types_supported"] = new[] { "code" },
        ["response_modes_supported"] = new[] { "query" },
        ["subject_types_supported"] = new[] { "public" },
        ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        ["code_challenge_methods_supported"] = new[] { "S256" },
        ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_post" },
        ["scopes_supported"] = new[] { "openid", "profile" },
    });

    private IResult Jwks()
    {
        var p = _key.ExportParameters(false);
        return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = KeyId, n = Base64Url.EncodeToString(p.Modulus), e = Base64Url.EncodeToString(p.Exponent) } } });
    }

    private IResult Authorize(IQueryCollection q)
    {
        LastAuthorize = q;
        if (q["response_type"] != "code" || q["client_id"] != ClientId || q["code_challenge_method"] != "S256" || string.IsNullOrEmpty(q["code_challenge"])
            || string.IsNullOrEmpty(q["state"]) || string.IsNullOrEmpty(q["nonce"]) || !(q["scope"].ToString().Split(' ').Contains("openid")))
        {
            return Results.BadRequest(new { error = "invalid_request" });
        }

        var code = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24));
        _codes[code] = new Grant(q["redirect_uri"]!, q["nonce"]!, q["code_challenge"]!, User);
        return Results.Redirect($"{q["redirect_uri"]}?code={Uri.EscapeDataString(code)}&state={Uri.EscapeDataString(q["state"]!)}");
    }

    private IResult Token(IFormCollection f)
    {
        if (f["grant_type"] != "authorization_code" || !_codes.TryRemove(f["code"].ToString(), out var grant)) return Results.BadRequest(new { error = "invalid_grant" });
        if (f["client_id"] != ClientId || f["client_secret"] != ClientSecret) return Results.Json(new { error = "invalid_client" }, statusCode: 401);
        if (f["redirect_uri"] != grant.RedirectUri) return Results.BadRequest(new { error = "invalid_grant" });
        var challenge = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(f["code_verifier"].ToString())));
        if (challenge != grant.Challenge) return Results.BadRequest(new { error = "invalid_grant", error_description = "PKCE verifier" });

        var accessToken = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["aud"] = ClientId,
            ["sub"] = grant.User.Subject,
            ["nonce"] = grant.Nonce,
            ["iat"] = now,
            ["exp"] = now + 300,
            ["preferred_username"] = grant.User.UserName,
            ["groups"] = grant.User.Groups,
            ["amr"] = grant.User.Amr,
            ["at_hash"] = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)).AsSpan(0, 16)),
        };
        if (grant.User.Areas is { } areas) claims["areas"] = areas;
        TokensIssued++;
        return Results.Json(new { access_token = accessToken, token_type = "Bearer", expires_in = 300, id_token = Sign(claims) });
    }

    private string Sign(Dictionary<string, object> claims)
    {
        var header = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(new { alg = "RS256", kid = KeyId, typ = "JWT" }));
        var payload = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims));
        var input = $"{header}.{payload}";
        var signature = (SignWithForeignKey ? _foreignKey : _key).SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{input}.{Base64Url.EncodeToString(signature)}";
    }

    public async ValueTask DisposeAsync()
    {
        Browser.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _key.Dispose();
        _foreignKey.Dispose();
    }
}
