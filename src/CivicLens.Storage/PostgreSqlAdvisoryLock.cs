using Npgsql;

namespace CivicLens.Storage;

/// <summary>
/// A PostgreSQL session-level advisory lock held on a connection of its own while work that must run once at a time
/// across processes (schema migrations, a cluster's set-up) runs on other connections; released when disposed, or by
/// the server when the connection (or the process) dies, so a process killed while holding it leaves nothing behind.
/// </summary>
public sealed class PostgreSqlAdvisoryLock : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly long _key;

    private PostgreSqlAdvisoryLock(NpgsqlConnection connection, long key)
    {
        _connection = connection;
        _key = key;
    }

    /// <summary>Waits, without a time limit (a migration has none either), until no other session holds <paramref name="key"/>.</summary>
    public static async Task<PostgreSqlAdvisoryLock> AcquireAsync(string connectionString, long key, CancellationToken ct)
    {
        // Unpooled: the lock must not outlive its work on a connection some later query reuses.
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        try
        {
            await connection.OpenAsync(ct);
            await using var take = new NpgsqlCommand("SELECT pg_advisory_lock(@k)", connection);
            take.Parameters.AddWithValue("k", key);
            take.CommandTimeout = 0;
            await take.ExecuteNonQueryAsync(ct);
            return new PostgreSqlAdvisoryLock(connection, key);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(@k)", _connection);
            release.Parameters.AddWithValue("k", _key);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // The connection broke: the server released the lock with the session.
        }
        finally
        {
            await _connection.DisposeAsync();
        }
    }
}
