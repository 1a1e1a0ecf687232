using System.Data;
using System.Data.Common;
using System.Diagnostics.Metrics;
using System.Text.Json;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace CivicLens.Storage.Events;

/// <summary>
/// Commits events in batches, idempotently: an id already stored is skipped (a replay or a client retry is a
/// no-op), and every newly stored event gets one outbox message per delivery channel in the same transaction.
/// Returns only after the commit, so an acknowledged event is durable.
/// </summary>
/// <remarks>
/// Plain parameterised SQL instead of EF change tracking: it is the hot write path and must reach tens of thousands
/// of events a second. On SQLite (in process) one prepared INSERT ... ON CONFLICT DO NOTHING is reused for each row;
/// on PostgreSQL a row per statement would cost a network round trip each, so the whole batch goes as column arrays
/// in one <c>INSERT ... SELECT FROM unnest(...)</c> that returns the new ids, and their outbox rows in a second.
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

    // Both ingest paths (the API and the journal drain) commit here, so the counts cover every stored event.
    private static readonly Meter Meter = new("CivicLens.Ingest");
    private static readonly Counter<long> Commits = Meter.CreateCounter<long>("civiclens.ingest.commits", "{commit}",
        "Event batches committed to the store (a batch of replays, which stores nothing new, counts too)");
    private static readonly Counter<long> Stored = Meter.CreateCounter<long>("civiclens.ingest.events", "{event}",
        "Events newly stored, by kind (replays and retries of stored events are not counted)");

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
            var kinds = new Dictionary<string, int>(StringComparer.Ordinal);
            if (!_sqlite)
            {
                var stored = await PostgresIngestAsync((NpgsqlConnection)connection, (NpgsqlTransaction)tx, events, now, kinds, cancellationToken);
                await tx.CommitAsync(cancellationToken);
                Committed(kinds);
                return stored;
            }

            await using var insert = Command(connection, tx, InsertEvent, Columns);
            await using var outbox = Command(connection, tx, InsertOutbox, ["channel", "event_id", "payload", "created_at"]);
            var inserted = 0;
            foreach (var e in events)
            {
                Bind(insert, e, now);
                if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0) continue;
                inserted++;
                kinds[e.Kind] = kinds.GetValueOrDefault(e.Kind) + 1;
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
            Committed(kinds);
            return inserted;
        }
        finally
        {
            _writer.Release();
        }
    }

    public void Dispose() => _writer.Dispose();

    private static void Committed(Dictionary<string, int> newByKind)
    {
        Commits.Add(1);
        foreach (var (kind, count) in newByKind) Stored.Add(count, new KeyValuePair<string, object?>("kind", kind));
    }

    private const string PostgresInsertEvents =
        "INSERT INTO events (id, kind, phase, camera_id, rule, category, zone, line, site_id, area_id, at, stored_at, incident_id, label, count, " +
        "confidence, box, duration_ms, direction, detail, snapshot, state) " +
        "SELECT * FROM unnest(@id, @kind, @phase, @camera_id, @rule, @category, @zone, @line, @site_id, @area_id, @at, @stored_at, @incident_id, " +
        "@label, @count, @confidence, @box, @duration_ms, @direction, @detail, @snapshot, @state) " +
        "ON CONFLICT (id) DO NOTHING RETURNING id";

    private const string PostgresInsertOutbox =
        "INSERT INTO outbox (channel, event_id, payload, created_at, attempts, next_attempt_at) " +
        "SELECT c, e, p, @created_at, 0, @created_at FROM unnest(@channel, @event_id, @payload) AS t(c, e, p)";

    private async Task<int> PostgresIngestAsync(NpgsqlConnection connection, NpgsqlTransaction tx, IReadOnlyList<EventRecord> events, long now,
        Dictionary<string, int> kinds, CancellationToken ct)
    {
        var n = events.Count;
        await using var insert = new NpgsqlCommand(PostgresInsertEvents, connection, tx);
        var p = insert.Parameters;
        p.Add(Array("id", NpgsqlDbType.Uuid, events.Select(e => e.Id).ToArray()));
        p.Add(Array("kind", NpgsqlDbType.Text, events.Select(e => e.Kind).ToArray()));
        p.Add(Array("phase", NpgsqlDbType.Text, events.Select(e => e.Phase).ToArray()));
        p.Add(Array("camera_id", NpgsqlDbType.Text, events.Select(e => e.CameraId).ToArray()));
        p.Add(Array("rule", NpgsqlDbType.Text, events.Select(e => e.Rule).ToArray()));
        p.Add(Array("category", NpgsqlDbType.Text, events.Select(e => e.Category).ToArray()));
        p.Add(Array("zone", NpgsqlDbType.Text, events.Select(e => e.Zone).ToArray()));
        p.Add(Array("line", NpgsqlDbType.Text, events.Select(e => e.Line).ToArray()));
        p.Add(Array("site_id", NpgsqlDbType.Text, events.Select(e => e.SiteId).ToArray()));
        p.Add(Array("area_id", NpgsqlDbType.Text, events.Select(e => e.AreaId).ToArray()));
        p.Add(Array("at", NpgsqlDbType.Bigint, events.Select(e => e.At).ToArray()));
        p.Add(Array("stored_at", NpgsqlDbType.Bigint, Enumerable.Repeat(now, n).ToArray()));
        p.Add(Array("incident_id", NpgsqlDbType.Uuid, events.Select(e => e.IncidentId).ToArray()));
        p.Add(Array("label", NpgsqlDbType.Text, events.Select(e => e.Label).ToArray()));
        p.Add(Array("count", NpgsqlDbType.Integer, events.Select(e => e.Count).ToArray()));
        p.Add(Array("confidence", NpgsqlDbType.Real, events.Select(e => e.Confidence).ToArray()));
        p.Add(Array("box", NpgsqlDbType.Text, events.Select(e => e.Box).ToArray()));
        p.Add(Array("duration_ms", NpgsqlDbType.Bigint, events.Select(e => e.DurationMs).ToArray()));
        p.Add(Array("direction", NpgsqlDbType.Text, events.Select(e => e.Direction).ToArray()));
        p.Add(Array("detail", NpgsqlDbType.Text, events.Select(e => e.Detail).ToArray()));
        p.Add(Array("snapshot", NpgsqlDbType.Text, events.Select(e => e.Snapshot).ToArray()));
        p.Add(Array("state", NpgsqlDbType.Text, events.Select(e => e.State).ToArray()));
        var fresh = new HashSet<Guid>();
        await using (var reader = await insert.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) fresh.Add(reader.GetGuid(0));
        }

        // A batch may name an id twice; it is counted once.
        var counted = new HashSet<Guid>();
        foreach (var e in events)
        {
            if (fresh.Contains(e.Id) && counted.Add(e.Id)) kinds[e.Kind] = kinds.GetValueOrDefault(e.Kind) + 1;
        }

        if (fresh.Count == 0 || Channels.Count == 0) return fresh.Count;
        var channels = new List<string>();
        var ids = new List<Guid>();
        var payloads = new List<string>();
        foreach (var e in events)
        {
            // A batch may name an id twice; the first one was stored.
            if (!fresh.Remove(e.Id)) continue;
            var payload = JsonSerializer.Serialize(EventMessage.From(e), EventMessage.JsonOptions);
            foreach (var channel in Channels)
            {
                channels.Add(channel);
                ids.Add(e.Id);
                payloads.Add(payload);
            }
        }

        await using var outbox = new NpgsqlCommand(PostgresInsertOutbox, connection, tx);
        outbox.Parameters.Add(new NpgsqlParameter("created_at", NpgsqlDbType.Bigint) { Value = now });
        outbox.Parameters.Add(Array("channel", NpgsqlDbType.Text, channels.ToArray()));
        outbox.Parameters.Add(Array("event_id", NpgsqlDbType.Uuid, ids.ToArray()));
        outbox.Parameters.Add(Array("payload", NpgsqlDbType.Text, payloads.ToArray()));
        await outbox.ExecuteNonQueryAsync(ct);
        return ids.Count / Channels.Count;
    }

    private static NpgsqlParameter Array<T>(string name, NpgsqlDbType type, T[] values) =>
        new(name, NpgsqlDbType.Array | type) { Value = values };

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
