using System.Security.Cryptography;
using CivicLens.Privacy.Sealed;
using CivicLens.Server.Hosting;
using CivicLens.Storage.Secrets;
using Npgsql;

namespace CivicLens.Cluster.Hosting;

/// <summary>
/// What every hub of one cluster must share, checked before a hub joins: the secrets key (the database's sealed
/// stream addresses and second factors open with it), the sealing key of unredacted originals, and the shared folder
/// (snapshots and report photos one hub stores, another serves). The first hub records each in PostgreSQL; a later
/// hub that differs is refused with what to copy or mount, instead of serving errors or half the evidence.
/// </summary>
public static class HubAgreement
{
    /// <summary>The file in the shared folder that names it; every hub must read the same one.</summary>
    public const string SharedFolderMark = ".civiclens-cluster";

    // Any constant apart from the Orleans schema's: two hubs starting at once record the facts one after the other.
    private const long LockKey = 0x436976_41677265;

    internal const string TablesSql = """
        CREATE TABLE IF NOT EXISTS civiclens_cluster_facts (name text PRIMARY KEY, value text NOT NULL, recorded_by text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS civiclens_session_keys (name text PRIMARY KEY, xml text NOT NULL, stored_at timestamptz NOT NULL DEFAULT now());
        """;

    public static async Task CheckAsync(string connectionString, ServerOptions options, string hubName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        var facts = new List<(string Name, string Value, string Problem)>();
        using (var secrets = SecretBox.LoadOrCreate(options.SecretsKeyPath))
        {
            facts.Add(("secrets-key", secrets.KeyCheck,
                $"its secrets key ({options.SecretsKeyPath}) is not the one the other hubs use: stop it, copy keys/secrets.key from a running hub (mode 0600) and start it again"));
        }

        if (options.SealedOriginals is { } sealing)
        {
            using var key = SealingKey.Load(sealing.KeyPath);
            facts.Add(("sealing-key", key.Id, $"its sealing key ({sealing.KeyPath}) is not the one the other hubs seal with: give every hub the same key file"));
        }

        Directory.CreateDirectory(options.SharedRoot);
        var markPath = Path.Combine(options.SharedRoot, SharedFolderMark);
        var mark = File.Exists(markPath) ? (await File.ReadAllTextAsync(markPath, ct)).Trim() : null;

        var problems = new List<string>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@k)", connection, tx))
        {
            take.Parameters.AddWithValue("k", LockKey);
            await take.ExecuteNonQueryAsync(ct);
        }

        await using (var create = new NpgsqlCommand(TablesSql, connection, tx)) await create.ExecuteNonQueryAsync(ct);
        var recorded = new Dictionary<string, (string Value, string By)>(StringComparer.Ordinal);
        await using (var read = new NpgsqlCommand("SELECT name, value, recorded_by FROM civiclens_cluster_facts", connection, tx))
        await using (var rows = await read.ExecuteReaderAsync(ct))
        {
            while (await rows.ReadAsync(ct)) recorded[rows.GetString(0)] = (rows.GetString(1), rows.GetString(2));
        }

        if (recorded.TryGetValue("shared-folder", out var folder))
        {
            if (mark != folder.Value)
            {
                problems.Add($"its shared folder {options.SharedRoot} is not the one hub {folder.By} uses ({(mark is null ? $"no {SharedFolderMark} in it" : "another folder's mark")}): " +
                    $"mount the same folder on every hub and give it as --shared (a folder restored from backup keeps its {SharedFolderMark})");
            }
        }
        else
        {
            mark ??= await MarkAsync(markPath, ct);
            facts.Add(("shared-folder", mark, ""));
        }

        foreach (var (name, value, problem) in facts)
        {
            if (recorded.TryGetValue(name, out var known))
            {
                if (known.Value != value) problems.Add(problem + $" (first recorded by hub {known.By})");
                continue;
            }

            await using var insert = new NpgsqlCommand("INSERT INTO civiclens_cluster_facts (name, value, recorded_by) VALUES (@n, @v, @b)", connection, tx);
            insert.Parameters.AddWithValue("n", name);
            insert.Parameters.AddWithValue("v", value);
            insert.Parameters.AddWithValue("b", hubName);
            await insert.ExecuteNonQueryAsync(ct);
        }

        if (problems.Count > 0) throw new StartupException($"Hub {hubName} cannot join the cluster: " + string.Join("; ", problems) + ".");
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// A node that seals originals must seal them with the key the hubs reveal with; a node started before any hub
    /// recorded one, or with another, is refused (its originals could never be opened, only destroyed).
    /// </summary>
    public static async Task CheckNodeSealingAsync(string connectionString, string keyPath, CancellationToken ct)
    {
        using var key = SealingKey.Load(keyPath);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('civiclens_cluster_facts') IS NOT NULL", connection))
        {
            if (await exists.ExecuteScalarAsync(ct) is not true) throw new StartupException($"This node seals originals (--sealing-key {keyPath}), but no hub has started yet: start a hub first.");
        }

        await using var read = new NpgsqlCommand("SELECT value, recorded_by FROM civiclens_cluster_facts WHERE name = 'sealing-key'", connection);
        await using var row = await read.ExecuteReaderAsync(ct);
        if (!await row.ReadAsync(ct))
        {
            throw new StartupException($"This node seals originals (--sealing-key {keyPath}), but no hub keeps sealed originals: start the hubs with the same --sealing-key first, or start this node without it.");
        }

        if (row.GetString(0) != key.Id)
        {
            throw new StartupException($"This node's sealing key ({keyPath}) is not the one the hubs reveal with (recorded by hub {row.GetString(1)}): give the node the hubs' key file.");
        }
    }

    private static async Task<string> MarkAsync(string path, CancellationToken ct)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await File.WriteAllTextAsync(path, id + "\n", ct);
        return id;
    }
}
