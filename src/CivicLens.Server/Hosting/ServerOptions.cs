using CivicLens.Storage;

namespace CivicLens.Server.Hosting;

/// <summary>Everything <c>civiclens serve</c> is told; the embedded defaults need nothing but the admin password at first start.</summary>
public sealed record ServerOptions
{
    /// <summary>Database, evidence snapshots, keys, the ingest journal and the audit anchor live here.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Null: SQLite in <see cref="DataDirectory"/>.</summary>
    public StorageOptions? Storage { get; init; }

    /// <summary>Where to listen. Anything beyond loopback must be https (see <see cref="StartupGuard"/>).</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:8080"];

    /// <summary>PFX certificate for https endpoints.</summary>
    public string? CertificatePath { get; init; }

    /// <summary>
    /// The address the public reaches this server at (e.g. https://cameras.city.example/), for absolute links such
    /// as the one printed on a camera's sign. Null: taken from each request, which a proxy or a forged Host header
    /// can change, so a city that prints signs should set it.
    /// </summary>
    public Uri? PublicUrl { get; init; }

    public string? CertificatePassword { get; init; }

    /// <summary>The district and camera configuration (YAML); imported into the store at start.</summary>
    public string? ConfigPath { get; init; }

    public string? ModelsDirectory { get; init; }

    /// <summary>Run every configured camera's pipeline in this process.</summary>
    public bool RunPipelines { get; init; } = true;

    /// <summary>Play file sources in a loop (the bundled sample camera behaves like a live one).</summary>
    public bool LoopFileSources { get; init; } = true;

    /// <summary>Frames per second each pipeline analyses (null: every frame).</summary>
    public double? SampleFps { get; init; }

    /// <summary>Sets the admin account's password at first start only; refused when weak or default.</summary>
    public string? AdminPassword { get; init; }

    /// <summary>An idle session ends after this long.</summary>
    public TimeSpan SessionIdle { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Login attempts a client address may make per minute.</summary>
    public int LoginAttemptsPerMinute { get; init; } = 10;

    /// <summary>API requests a user or key may make per minute.</summary>
    public int RequestsPerMinute { get; init; } = 1200;

    /// <summary>Largest request body (bytes); event batches are the biggest legitimate bodies.</summary>
    public long MaxRequestBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Sealed originals (off unless set): the pipelines seal each event's unredacted frame; investigators may reveal it.</summary>
    public CivicLens.Pipeline.SealedOriginalsSettings? SealedOriginals { get; init; }

    /// <summary>Events that belong to no case are deleted after this long (the city's rules decide; a year by default).</summary>
    public TimeSpan EventRetention { get; init; } = TimeSpan.FromDays(365);

    /// <summary>Closed cases, with their events and history, are deleted this long after closing.</summary>
    public TimeSpan ClosedCaseRetention { get; init; } = TimeSpan.FromDays(730);

    public IReadOnlyList<WebhookTarget> Webhooks { get; init; } = [];

    public MqttTarget? Mqtt { get; init; }

    /// <summary>Login through an OpenID Connect provider (off unless set); local accounts keep working beside it.</summary>
    public OidcSettings? Oidc { get; init; }

    public string DatabasePath => Path.Combine(DataDirectory, "civiclens.db");

    public string SnapshotDirectory => Path.Combine(DataDirectory, "snapshots");

    public string SecretsKeyPath => Path.Combine(DataDirectory, "keys", "secrets.key");

    public string AuditAnchorPath => Path.Combine(DataDirectory, "audit.anchor");

    public string JournalDirectory => Path.Combine(DataDirectory, "journal");

    public StorageOptions EffectiveStorage => Storage ?? StorageOptions.SqliteFile(DatabasePath);
}

/// <summary>A department's or integration's endpoint that receives every event (signed with HMAC-SHA256).</summary>
public sealed record WebhookTarget(string Name, Uri Url, string Secret);

/// <summary>An MQTT broker events are published to (topic prefix + event kind), at least once (QoS 1).</summary>
public sealed record MqttTarget(string Host, int Port, string TopicPrefix = "civiclens/events", string? UserName = null, string? Password = null);

/// <summary>
/// An OpenID Connect provider staff may log in through (authorization code flow with PKCE). The provider's role or group
/// claim decides the CivicLens role through <see cref="RoleMap"/>; a user whose claims map to no role is refused.
/// </summary>
public sealed record OidcSettings
{
    /// <summary>The issuer; https unless on loopback.</summary>
    public required Uri Authority { get; init; }

    public required string ClientId { get; init; }

    /// <summary>Null for a public client (PKCE only). Never printed.</summary>
    public string? ClientSecret { get; init; }

    /// <summary>The id_token claim carrying roles or groups (<c>roles</c> or <c>groups</c>).</summary>
    public string RoleClaim { get; init; } = "roles";

    /// <summary>Provider role or group value to CivicLens role.</summary>
    public required IReadOnlyDictionary<string, string> RoleMap { get; init; }

    /// <summary>The claim listing the area ids the user is scoped to; null: provider users see the whole district.</summary>
    public string? AreaClaim { get; init; }

    public IReadOnlyList<string> Scopes { get; init; } = ["openid", "profile"];

    // The secret stays out of logs and exception texts.
    public override string ToString() => $"OidcSettings {{ Authority = {Authority}, ClientId = {ClientId}, RoleClaim = {RoleClaim}, AreaClaim = {AreaClaim} }}";
}
