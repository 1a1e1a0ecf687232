namespace CivicLens.Storage;

public enum StorageProvider
{
    Sqlite,
    PostgreSql,
}

/// <summary>Where the system of record lives: an embedded SQLite file (default) or a PostgreSQL 15+ server.</summary>
public sealed record StorageOptions
{
    public StorageProvider Provider { get; init; } = StorageProvider.Sqlite;

    /// <summary>For SQLite, <c>Data Source=path</c>; for PostgreSQL, an Npgsql connection string.</summary>
    public required string ConnectionString { get; init; }

    public static StorageOptions SqliteFile(string path) => new()
    {
        Provider = StorageProvider.Sqlite,
        // Pooling keeps the per-connection pragmas (and the page cache) warm between requests.
        ConnectionString = $"Data Source={path};Pooling=True",
    };
}
