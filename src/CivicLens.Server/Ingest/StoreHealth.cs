using System.Data.Common;
using CivicLens.Storage;
using Microsoft.Data.Sqlite;

namespace CivicLens.Server.Ingest;

/// <summary>Whether the store and the snapshot disk can take writes: drives 503 answers and the storage alarm.</summary>
public sealed class StoreHealth
{
    // SQLite's own "full" (13) is only what a write into the database or its WAL gets. A full disk also shows as a
    // plain I/O error (10) or "cannot open" (14) when SQLite must create its shared-memory index or WAL first (a
    // connection opened after every earlier one closed): a read then fails too. Those are told apart from a broken
    // disk by looking at the space left where the database lives.
    private const long NearlyFull = 1024 * 1024;

    private readonly string? _sqliteFolder;
    private volatile string? _storeProblem;

    public StoreHealth(StorageOptions storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        if (storage.Provider != StorageProvider.Sqlite) return;
        var file = new SqliteConnectionStringBuilder(storage.ConnectionString).DataSource;
        if (file.Length > 0 && file != ":memory:") _sqliteFolder = Path.GetDirectoryName(Path.GetFullPath(file));
    }

    public bool StoreAvailable => _storeProblem is null;

    public string? StoreProblem => _storeProblem;

    public void StoreReachable() => _storeProblem = null;

    /// <summary>Records the outage and why; returns whether it is a full disk (judged once, so answer and alarm agree).</summary>
    public bool StoreUnreachable(Exception ex)
    {
        var full = IsFull(ex);
        _storeProblem = full ? "the database disk is full" : "the database is unreachable";
        return full;
    }

    /// <summary>Errors that mean "the database cannot take this now" (gone, full, busy), not a bug.</summary>
    public static bool IsStoreFailure(Exception ex) =>
        ex is DbException or TimeoutException or IOException or InvalidOperationException { InnerException: DbException or TimeoutException }
        || ex.InnerException is DbException;

    /// <summary><see cref="IsDiskFull"/>, or a SQLite I/O error while the database's disk has (almost) no space left.</summary>
    private bool IsFull(Exception ex)
    {
        if (IsDiskFull(ex)) return true;
        if (_sqliteFolder is null || Cause<SqliteException>(ex) is not { SqliteErrorCode: 10 or 14 }) return false;
        try
        {
            return new DriveInfo(_sqliteFolder).AvailableFreeSpace < NearlyFull;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// SQLITE_FULL (13), PostgreSQL disk_full (53100), or the operating system's "no space left" (ENOSPC, or
    /// Windows' disk-full codes) from a file the store writes, anywhere in the exception's chain: EF Core and the
    /// providers wrap the cause one or two levels deep, and which wrapper carries it depends on where the write failed.
    /// </summary>
    public static bool IsDiskFull(Exception ex)
    {
        for (var e = (Exception?)ex; e is not null; e = e.InnerException)
        {
            if (e is SqliteException { SqliteErrorCode: 13 } || (e as DbException)?.SqlState == "53100") return true;
            if (e is IOException io && NoSpace.Contains(io.HResult)) return true;
        }

        return false;
    }

    // ENOSPC (28) is the HResult .NET gives an IOException on Linux and macOS; ERROR_DISK_FULL (0x70) and
    // ERROR_HANDLE_DISK_FULL (0x27) as HRESULTs on Windows.
    private static readonly int[] NoSpace = [28, unchecked((int)0x80070070), unchecked((int)0x80070027)];

    private static T? Cause<T>(Exception ex) where T : Exception
    {
        for (var e = (Exception?)ex; e is not null; e = e.InnerException)
        {
            if (e is T found) return found;
        }

        return null;
    }
}
