using System.Data;
using System.Data.Common;
using System.Text.Json;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Storage.Events;

/// <summary>
/// Commits events in batches, idempotently: an id already stored is skipped (a replay or a client retry is a
/// no-op), and every newly stored event gets one outbox message per delivery channel in the same transaction.
/// Returns only after the commit, so an acknowledged event is durable.
/// </summary>
/// <remarks>
/// Plain parameterised SQL (one prepared INSERT ... ON CONFLICT DO NOTHING, reused for the batch) instead of
/// EF change tracking: it is the hot write path and must reach tens of thousands of events a second.
/// </remarks>
public sealed class EventStore(StorageOptions options, TimeProvider time) : IDisposable
{
    private static readonly string[] Columns =
    [
        "id", "kind", "phase", "camera_id", "rule", "category", "zone", "line", "site_id", "area_id", "at", "stored_at",
        "incident_id", "label", "count", "confidence", "box", "duration_ms", "direction", "detail", "snapshot", "state",
    ];

    private static readonly string InsertEvent =
        $"INSERT INTO events ({string.Join(", ", Columns)}) VALUES ({string.Join(", ", Columns.Select(c => "@" + c))}) ON CONFLICT (id) DO NOTHING";

    private const string InsertOutbox =
        "INSERT INTO outbox (channel, event_id, payload, created_at, attempts, next_attempt_at) VALUES (@channel, @event_id, @payload, @created_at, 0, @created_at)";

    // SQLite has one writer; queueing here is cheaper than its busy-wait.
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly bool _sqlite = options.Provider == StorageProvider.Sqlite;

    /// <summary>Delivery channels every new event is queued for (e.g. <c>mqtt</c>, <c>webhook:works</c>).</summary>
    public IReadOnlyList<string> Channels { get; init; } = [];

    /// <returns>How many of <paramref name="events"/> were new (the rest were already stored).</returns>
    public async Task<int> IngestAsync(IReadOnlyList<EventRecord> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0) return 0;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await _writer.WaitAsync(cancellationToken);
        try
        {
            await using var db = new CivicLensDb(StorageSetup.Options(options));
            var connection = db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync(cancellationToken);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            await using var insert = Command(connection, tx, InsertEvent, Columns);
            await using var outbox = Command(connection, tx, InsertOutbox, ["channel", "event_id", "payload", "created_at"]);
            var inserted = 0;
            foreach (var e in events)
            {
                Bind(insert, e, now);
                if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0) continue;
                inserted++;
                if (Channels.Count == 0) continue;
                var payload = JsonSerializer.Serialize(EventMessage.From(e), EventMessage.JsonOptions);
                foreach (var channel in Channels)
                {
                    outbox.Parameters[0].Value = channel;
                    outbox.Parameters[1].Value = IdValue(e.Id);
                    outbox.Parameters[2].Value = payload;
                    outbox.Parameters[3].Value = now;
                    await outbox.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            await tx.CommitAsync(cancellationToken);
            return inserted;
        }
        finally
        {
            _writer.Release();
        }
    }

    public void Dispose() => _writer.Dispose();

    private static DbCommand Command(DbConnection connection, DbTransaction tx, string sql, IEnumerable<string> names)
    {
        var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var n in names)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = "@" + n;
            cmd.Parameters.Add(p);
        }

        return cmd;
    }

    private object IdValue(Guid id) => _sqlite ? id.ToString("D") : id;

    private void Bind(DbCommand cmd, EventRecord e, long now)
    {
        var p = cmd.Parameters;
        p[0].Value = IdValue(e.Id);
        p[1].Value = e.Kind;
        p[2].Value = e.Phase;
        p[3].Value = e.CameraId;
        p[4].Value = e.Rule;
        p[5].Value = e.Category;
        p[6].Value = (object?)e.Zone ?? DBNull.Value;
        p[7].Value = (object?)e.Line ?? DBNull.Value;
        p[8].Value = (object?)e.SiteId ?? DBNull.Value;
        p[9].Value = e.AreaId;
        p[10].Value = e.At;
        p[11].Value = now;
        p[12].Value = e.IncidentId is { } i ? IdValue(i) : DBNull.Value;
        p[13].Value = (object?)e.Label ?? DBNull.Value;
        p[14].Value = (object?)e.Count ?? DBNull.Value;
        p[15].Value = e.Confidence;
        p[16].Value = (object?)e.Box ?? DBNull.Value;
        p[17].Value = (object?)e.DurationMs ?? DBNull.Value;
        p[18].Value = (object?)e.Direction ?? DBNull.Value;
        p[19].Value = (object?)e.Detail ?? DBNull.Value;
        p[20].Value = (object?)e.Snapshot ?? DBNull.Value;
        p[21].Value = e.State;
        foreach (DbParameter parameter in p)
        {
            // Npgsql infers text for strings; make the integer and real columns explicit once.
            if (parameter.Value is long) parameter.DbType = DbType.Int64;
        }
    }
}
