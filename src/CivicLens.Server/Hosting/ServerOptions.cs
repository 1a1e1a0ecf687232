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

    /// <summary>
    /// Reverse proxies (addresses or networks) whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are
    /// believed: rate limits and the audit then see the caller, not the proxy. Empty: the headers are ignored, so
    /// nobody can pick an address for themselves by sending one.
    /// </summary>
    public IReadOnlyList<System.Net.IPNetwork> TrustedProxies { get; init; } = [];

    /// <summary>
    /// Base map tiles for the console map (<c>https://tiles.example/{z}/{x}/{y}.png</c>); null: no base map, the map
    /// draws areas, sites and cameras on a plain background. Its origin is added to the pages' img-src.
    /// </summary>
    public string? TileUrlTemplate { get; init; }

    /// <summary>An absolute http(s) URL template with the {z}, {x} and {y} placeholders.</summary>
    public static bool IsTileTemplate(string? template) =>
        template is not null && template.Contains("{z}", StringComparison.Ordinal) && template.Contains("{x}", StringComparison.Ordinal)
        && template.Contains("{y}", StringComparison.Ordinal) && TileOrigin(template) is not null;

    /// <summary>The scheme, host and port of a tile template (what the content security policy must allow), or null.</summary>
    public static string? TileOrigin(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var probe = template.Replace("{s}", "a", StringComparison.Ordinal).Replace("{z}", "0", StringComparison.Ordinal)
            .Replace("{x}", "0", StringComparison.Ordinal).Replace("{y}", "0", StringComparison.Ordinal).Replace("{r}", "", StringComparison.Ordinal);
        if (!Uri.TryCreate(probe, UriKind.Absolute, out var u) || u.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(u.UserInfo)) return null;
        // A {s} subdomain template needs every subdomain allowed.
        var host = template.Contains("{s}.", StringComparison.Ordinal) ? "*." + u.Host[(u.Host.IndexOf('.', StringComparison.Ordinal) + 1)..] : u.Host;
        return $"{u.Scheme}://{host}" + (u.IsDefaultPort ? "" : ":" + u.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The district and camera configuration (YAML); imported into the store at start.</summary>
    public string? ConfigPath { get; init; }

    public string? ModelsDirectory { get; init; }

    /// <summary>Another detector than the bundled one (NanoDet layout, labels in a manifest beside it), e.g. a city's PPE model.</summary>
    public string? DetectorPath { get; init; }

    /// <summary>Where inference runs; a GPU provider that cannot start falls back to the CPU (logged).</summary>
    public CivicLens.Inference.Detectors.ExecutionProviderKind ExecutionProvider { get; init; } = CivicLens.Inference.Detectors.ExecutionProviderKind.Cpu;

    /// <summary>Run the registry's enabled cameras in this process.</summary>
    public bool RunPipelines { get; init; } = true;

    /// <summary>How often this server looks for registry changes made elsewhere (another hub, the import command).</summary>
    public TimeSpan RegistryPollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Camera health changes are kept this long (the current state is always kept).</summary>
    public TimeSpan HealthHistoryRetention { get; init; } = TimeSpan.FromDays(90);

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

    /// <summary>The largest photo a field report may carry (each; a report carries up to three).</summary>
    public long PhotoMaxBytes { get; init; } = 15L * 1024 * 1024;

    /// <summary>Public report submissions per minute from one address (when the city takes public reports).</summary>
    public int PublicReportsPerMinute { get; init; } = 10;

    /// <summary>Sealed originals (off unless set): the pipelines seal each event's unredacted frame; investigators may reveal it.</summary>
    public CivicLens.Pipeline.SealedOriginalsSettings? SealedOriginals { get; init; }

    /// <summary>Events that belong to no case are deleted after this long (the city's rules decide; a year by default).</summary>
    public TimeSpan EventRetention { get; init; } = TimeSpan.FromDays(365);

    /// <summary>Closed cases, with their events and history, are deleted this long after closing.</summary>
    public TimeSpan ClosedCaseRetention { get; init; } = TimeSpan.FromDays(730);

    /// <summary>Reports, photos, reporters' contacts and the audit log: each kind's own retention (docs/privacy.md).</summary>
    public Retention.RetentionSettings Retention { get; init; } = new();

    public IReadOnlyList<WebhookTarget> Webhooks { get; init; } = [];

    public MqttTarget? Mqtt { get; init; }

    /// <summary>The mail server departments' email deliveries go through (off unless set).</summary>
    public SmtpTarget? Smtp { get; init; }

    /// <summary>How each department is told of its cases (from the district file's <c>departments[].delivery</c>).</summary>
    public IReadOnlyList<DepartmentDelivery> DepartmentDeliveries { get; init; } = [];

    /// <summary>Login through an OpenID Connect provider (off unless set); local accounts keep working beside it.</summary>
    public OidcSettings? Oidc { get; init; }

    public string DatabasePath => Path.Combine(DataDirectory, "civiclens.db");

    /// <summary>
    /// Where the files every hub of a cluster must see live: redacted snapshots, report photos, sealed originals. The
    /// hubs of one cluster mount one folder here (docs/cluster.md); one machine keeps them in its data folder.
    /// </summary>
    public string? SharedDirectory { get; init; }

    public string SharedRoot => SharedDirectory ?? DataDirectory;

    public string SnapshotDirectory => Path.Combine(SharedRoot, "snapshots");

    public string ReportPhotoDirectory => Path.Combine(SharedRoot, "reports");

    public string SecretsKeyPath => Path.Combine(DataDirectory, "keys", "secrets.key");

    public string AuditAnchorPath => Path.Combine(DataDirectory, "audit.anchor");

    public string JournalDirectory => Path.Combine(DataDirectory, "journal");

    public StorageOptions EffectiveStorage => Storage ?? StorageOptions.SqliteFile(DatabasePath);
}

/// <summary>A department's or integration's endpoint that receives every event (signed with HMAC-SHA256).</summary>
public sealed record WebhookTarget(string Name, Uri Url, string Secret);

/// <summary>An MQTT broker events are published to (topic prefix + event kind), at least once (QoS 1).</summary>
public sealed record MqttTarget(string Host, int Port, string TopicPrefix = "civiclens/events", string? UserName = null, string? Password = null);

/// <summary>How the connection to the mail server is protected.</summary>
public enum SmtpSecurity
{
    /// <summary>Plain SMTP: allowed to a loopback relay only.</summary>
    None,

    /// <summary>Plain connect, then STARTTLS, required (usually port 587).</summary>
    StartTls,

    /// <summary>TLS from the first byte (usually port 465).</summary>
    Tls,
}

/// <summary>
/// The mail server (submission) that departments' emails go through; the password comes from the environment only.
/// <paramref name="TrustedCaFile"/>: a PEM file with the CA that signed the server's certificate (a city's internal
/// relay), trusted for this server as well as the system's CAs.
/// </summary>
public sealed record SmtpTarget(string Host, int Port, string From, SmtpSecurity Security = SmtpSecurity.StartTls, string? UserName = null, string? Password = null,
    string? TrustedCaFile = null)
{
    // The password stays out of logs and exception texts.
    public override string ToString() =>
        $"SmtpTarget {{ Host = {Host}, Port = {Port}, From = {From}, Security = {Security}, UserName = {UserName}, TrustedCaFile = {TrustedCaFile} }}";
}

/// <summary>
/// One way a department is told of its cases. <paramref name="Kind"/>: <c>email</c> (<paramref name="Target"/> an
/// address), <c>open311</c> (a GeoReport v2 base URL; <paramref name="ServiceCode"/> and the api key's environment
/// variable <paramref name="ApiKeyEnv"/>) or <c>webhook</c> (a <c>--webhook</c> name).
/// </summary>
public sealed record DepartmentDelivery(string Department, string Kind, string Target, string? ServiceCode = null, string? ApiKeyEnv = null);

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
