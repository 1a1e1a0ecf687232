using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace CivicLens.Server.Ingest;

/// <summary>Whether the store and the snapshot disk can take writes: drives 503 answers and the storage alarm.</summary>
public sealed class StoreHealth
{
    private volatile string? _storeProblem;

    public bool StoreAvailable => _storeProblem is null;

    public string? StoreProblem => _storeProblem;

    public void StoreReachable() => _storeProblem = null;

    public void StoreUnreachable(Exception ex) => _storeProblem = Describe(ex);

    /// <summary>Errors that mean "the database cannot take this now" (gone, full, busy), not a bug.</summary>
    public static bool IsStoreFailure(Exception ex) =>
        ex is DbException or TimeoutException or IOException or InvalidOperationException { InnerException: DbException or TimeoutException }
        || ex.InnerException is DbException;

    /// <summary>SQLITE_FULL (13) or PostgreSQL disk_full (53100).</summary>
    public static bool IsDiskFull(Exception ex) =>
        ex is SqliteException { SqliteErrorCode: 13 } || ex.InnerException is SqliteException { SqliteErrorCode: 13 }
        || (ex as DbException ?? ex.InnerException as DbException)?.SqlState == "53100";

    private static string Describe(Exception ex) => IsDiskFull(ex) ? "the database disk is full" : "the database is unreachable";
}
