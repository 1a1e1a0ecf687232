using Microsoft.EntityFrameworkCore.Design;

namespace CivicLens.Storage.PostgreSql;

/// <summary>Lets <c>dotnet ef migrations add</c> build the PostgreSQL model; never used at run time (no connection is made).</summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<CivicLensDb>
{
    public CivicLensDb CreateDbContext(string[] args) =>
        new(StorageSetup.Options(new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = "Host=localhost;Database=civiclens" }));
}
