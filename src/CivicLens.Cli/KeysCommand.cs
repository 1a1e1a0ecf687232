using System.CommandLine;
using CivicLens.Cluster.Security;
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
/// <c>civiclens keys cluster create</c>: makes the cluster's private CA and the node certificates for mutual TLS.
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
        return new Command("keys", "Keys for sealed originals, analysis nodes and the cluster's TLS") { create, Api(), Cluster() };
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

    // A CA outlives the node certificates it issues: re-keying the CA means re-issuing every node at once.
    private const int AuthorityDays = 3650;

    /// <summary>
    /// <c>keys cluster create --out DIR --name CLUSTER --node NAME[=host,...]</c>: the private CA every silo trusts and
    /// one certificate per node. An existing CA in DIR is reused, so nodes can be enrolled later with the same command;
    /// what was written is printed, never a key.
    /// </summary>
    private static Command Cluster()
    {
        var output = new Option<string>("--out")
        {
            Description = "Folder for the CA (ca.crt, ca.key) and each node's NAME.pfx and NAME.crt; a CA already there is reused",
            Required = true,
        };
        var name = new Option<string>("--name") { Description = "The cluster's name, in its CA's subject", Required = true };
        var nodes = new Option<string[]>("--node")
        {
            Description = "A node to issue a certificate for: NAME or NAME=host1,host2 (repeatable); NAME, localhost, 127.0.0.1 and ::1 are always in it",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var days = new Option<int>("--days")
        {
            Description = $"Days each node certificate is valid (a new CA gets {AuthorityDays} days, or this if longer)",
            DefaultValueFactory = _ => 825,
        };
        var create = new Command("create", "Create (or reuse) the cluster's CA and issue node certificates for mutual TLS") { output, name, nodes, days };
        create.SetAction((parse, _) => CliErrors.RunAsync(async () =>
        {
            var dir = parse.GetValue(output)!;
            var cluster = parse.GetValue(name)!.Trim();
            if (cluster.Length is 0 or > 64) throw new ArgumentException("The cluster's name is required (at most 64 characters).");
            var validity = parse.GetValue(days);
            if (validity <= 0) throw new ArgumentException($"--days must be at least 1, not {validity}.");
            // Every name is checked before anything is written: a typo in the third node leaves no half-made set.
            var requested = (parse.GetValue(nodes) ?? []).Select(ParseNode).ToList();
            var twice = requested.GroupBy(n => n.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (twice is not null) throw new ArgumentException($"--node {twice.Key} is given more than once; list all its hosts in one --node {twice.Key}=host1,host2.");

            var caCrt = Path.Combine(dir, ClusterCertificates.AuthorityCertificateFile);
            var caKey = Path.Combine(dir, ClusterCertificates.AuthorityKeyFile);
            var reuse = File.Exists(caCrt) || File.Exists(caKey);
            using var ca = reuse
                ? ClusterCertificates.LoadAuthorityWithKey(dir)
                : ClusterCertificates.CreateAuthority(cluster, TimeSpan.FromDays(Math.Max(AuthorityDays, validity)));
            if (reuse)
            {
                if (!ca.SubjectName.RawData.AsSpan().SequenceEqual(ClusterCertificates.AuthorityName(cluster).RawData))
                {
                    throw new ArgumentException($"{caCrt} is the CA '{ca.Subject}', not that of cluster '{cluster}'; use another --out.");
                }

                await Console.Out.WriteLineAsync($"reusing cluster CA {caCrt} (valid until {new DateTimeOffset(ca.NotAfter):u})");
            }
            else
            {
                ClusterCertificates.WriteAuthority(ca, dir);
                await Console.Out.WriteLineAsync($"cluster CA '{cluster}' written: {caCrt} (copy to every node) and {caKey} (mode 0600; keep it off the nodes, it admits new ones)");
            }

            foreach (var (node, hosts) in requested)
            {
                string[] names = [node, "localhost", "127.0.0.1", "::1", .. hosts];
                using var cert = ClusterCertificates.Issue(ca, node, names, TimeSpan.FromDays(validity));
                ClusterCertificates.WriteNode(cert, dir, node);
                await Console.Out.WriteLineAsync(
                    $"node {node}: {Path.Combine(dir, node + ".pfx")} (mode 0600, for that node only) and {node}.crt; " +
                    $"names {string.Join(", ", names.Distinct(StringComparer.OrdinalIgnoreCase))}; valid until {new DateTimeOffset(cert.NotAfter):u}");
            }

            return 0;
        }));
        return new Command("cluster", "The cluster's private CA and node certificates (mutual TLS between silos)") { create };
    }

    private static (string Name, string[] Hosts) ParseNode(string value)
    {
        var eq = value.IndexOf('=', StringComparison.Ordinal);
        var node = (eq < 0 ? value : value[..eq]).Trim();
        if (!ClusterCertificates.IsValidNodeName(node))
        {
            throw new ArgumentException($"--node '{value}': '{node}' is not a valid node name; use 1 to 63 lower-case letters, digits and '-', starting with a letter or digit.");
        }

        var hosts = eq < 0 ? [] : value[(eq + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return (node, hosts);
    }
}
