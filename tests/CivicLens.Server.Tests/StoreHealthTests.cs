using CivicLens.Server.Ingest;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Tests;

/// <summary>A full disk must be told apart from a store that is gone, however deep the cause is wrapped.</summary>
public sealed class StoreHealthTests
{
    [Fact]
    public void IsDiskFull_TheOperatingSystemsNoSpace_FromARealWrite()
    {
        // /dev/full answers every write with ENOSPC, as a full disk does.
        var error = Assert.ThrowsAny<IOException>(() =>
        {
            using var file = new FileStream("/dev/full", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
            file.Write(new byte[16]);
            file.Flush();
        });
        Assert.True(StoreHealth.IsDiskFull(error), $"{error.HResult}: {error.Message}");
        Assert.True(StoreHealth.IsStoreFailure(error));
    }

    [Fact]
    public void IsDiskFull_SqliteFull_WrappedTwice_IsFull_AndOtherFailuresAreNot()
    {
        var full = new SqliteException("database or disk is full", 13);
        Assert.True(StoreHealth.IsDiskFull(new InvalidOperationException("retry failed", new DbUpdateException("save failed", full))));
        Assert.False(StoreHealth.IsDiskFull(new DbUpdateException("save failed", new SqliteException("unable to open database file", 14))));
        Assert.False(StoreHealth.IsDiskFull(new IOException("Connection reset by peer", 104)));
    }
}
