using Microsoft.EntityFrameworkCore.Design;

namespace CivicLens.Storage.Sqlite;

/// <summary>Lets <c>dotnet ef migrations add</c> build the SQLite model; never used at run time.</summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<CivicLensDb>
{
    public CivicLensDb CreateDbContext(string[] args) => new(StorageSetup.Options(StorageOptions.SqliteFile("design.db")));
}
