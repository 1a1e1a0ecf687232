using System.CommandLine;
using CivicLens.Domain;
using CivicLens.Privacy.Sealed;
using CivicLens.Server.Hosting;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;

namespace CivicLens.Cli;

/// <summary>
/// <c>civiclens keys create PATH</c>: makes the key that seals unredacted originals (kept outside the database).
/// <c>civiclens keys api create NAME</c>: makes an ingest API key for an analysis node, straight in the store.
/// </summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "Where to write the key (mode 0600); never overwritten" };
        var create = new Command("create", "Create a new AES-256 sealing key for sealed originals") { path };
        create.SetAction((parse, _) => CliErrors.RunAsync(async () =>
        {
            using var key = SealingKey.Create(parse.GetValue(path)!);
            await Console.Out.WriteLineAsync($"sealing key {key.Id} written to {parse.GetValue(path)}; back it up apart from the database");
            return 0;
        }));
        return new Command("keys", "Keys for sealed originals and for analysis nodes") { create, Api() };
    }

    /// <summary>
    /// <c>keys api create NAME [--data DIR] [--postgres CS]</c>: for operators bootstrapping analysis nodes (no admin
    /// session needed, only access to the store). The key goes to stdout once, alone on its line, so a script can
    /// capture it; only its SHA-256 is stored. The creation is written to the audit log like the admin API's.
    /// </summary>
    private static Command Api()
    {
        var name = new Argument<string>("name") { Description = "What the key is for, e.g. the analysis node's name (at most 64 characters)" };
        var data = new Option<string>("--data")
        {
            Description = "Server data folder: SQLite database and audit anchor (default: $CIVICLENS_HOME/server)",
            DefaultValueFactory = _ => Path.Combine(CivicLensHome.Resolve().Root, "server"),
        };
        var postgres = new Option<string?>("--postgres")
        {
            Description = $"Use PostgreSQL 15+ with this Npgsql connection string (or set {ServeCommand.PostgresVariable}; prefer the variable, it stays out of ps)",
        };
        var scope = new Option<string>("--scope")
        {
            Description = "ingest (an analysis node posting events), open311 (a 311 app filing reports as api_key) or metrics (a Prometheus server scraping /metrics)",
            DefaultValueFactory = _ => ApiKeyHandler.IngestScope,
        };
        scope.AcceptOnlyFromAmong([.. ApiKeyHandler.Scopes.Keys]);
        var create = new Command("create", "Create an API key; prints the key once (only its hash is stored)") { name, data, postgres, scope };
        create.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var keyName = parse.GetValue(name)!.Trim();
            if (keyName.Length is 0 or > 64) throw new ArgumentException("The key's name is required (at most 64 characters).");
            var dataDir = parse.GetValue(data)!;
            var cs = parse.GetValue(postgres) ?? Environment.GetEnvironmentVariable(ServeCommand.PostgresVariable);
            var server = new ServerOptions
            {
                DataDirectory = dataDir,
                Storage = string.IsNullOrWhiteSpace(cs) ? null : new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = cs },
            };
            var storage = server.EffectiveStorage;
            Directory.CreateDirectory(dataDir);
            await StorageSetup.MigrateAsync(storage, ct);

            var secret = ApiKeyHandler.NewKey();
            await using (var db = new CivicLensDb(StorageSetup.Options(storage)))
            {
                db.ApiKeys.Add(new ApiKey
                {
                    Name = keyName,
                    Hash = ApiKeyHandler.HashKey(secret),
                    Scope = parse.GetValue(scope)!,
                    CreatedAt = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds(),
                });
                await db.SaveChangesAsync(ct);
            }

            using var audit = new AuditLog(storage, TimeProvider.System, server.AuditAnchorPath);
            await audit.AppendAsync(new AuditEntry("system", "key.create", "ok", "key:" + keyName, "civiclens keys api create"), ct);
            await Console.Out.WriteLineAsync(secret);
            await Console.Error.WriteLineAsync(parse.GetValue(scope) == ApiKeyHandler.Open311Scope
                ? $"open311 API key '{keyName}' created; it is shown only this once (the 311 app sends it as api_key)"
                : $"{parse.GetValue(scope)} API key '{keyName}' created; it is shown only this once (send it as 'Authorization: ApiKey <key>')");
            return 0;
        }));
        return new Command("api", "API keys for analysis nodes (ingest) and 311 apps (open311)") { create };
    }
}
