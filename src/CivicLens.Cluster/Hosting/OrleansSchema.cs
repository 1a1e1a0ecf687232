using System.Reflection;
using CivicLens.Storage;
using Npgsql;

namespace CivicLens.Cluster.Hosting;

/// <summary>
/// Orleans' own PostgreSQL tables (membership, reminders), created on first start. The scripts are
/// Orleans' published set-up scripts for its ADO.NET providers (MIT, .NET Foundation), shipped here because the
/// NuGet packages do not carry them; the providers read their queries from the <c>OrleansQuery</c> table they fill.
/// </summary>
public static class OrleansSchema
{
    private static readonly string[] Scripts = ["PostgreSQL-Main.sql", "PostgreSQL-Clustering.sql", "PostgreSQL-Reminders.sql"];

    // Any constant: two hubs starting at once must not both create the tables.
    private const long LockKey = 0x436976_4C656E73;

    public static async Task EnsureAsync(string connectionString, CancellationToken ct)
    {
        await using var held = await PostgreSqlAdvisoryLock.AcquireAsync(connectionString, LockKey, ct);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var exists = new NpgsqlCommand("SELECT to_regclass('orleansquery') IS NOT NULL AND to_regclass('orleansreminderstable') IS NOT NULL", connection);
        if (await exists.ExecuteScalarAsync(ct) is true) return;
        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var script in Scripts)
        {
            await using var command = new NpgsqlCommand(Read(script), connection, tx);
            await command.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
    }

    private static string Read(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("CivicLens.Cluster.Schema." + name)
            ?? throw new InvalidOperationException($"The Orleans schema script {name} is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
