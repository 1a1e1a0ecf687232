using System.Text.Json;
using CivicLens.Domain.Detection;
using CivicLens.Domain.Events;
using CivicLens.Domain.Frames;
using CivicLens.Domain.Tracking;
using CivicLens.Privacy.Redaction;
using CivicLens.Privacy.Sealed;
using CivicLens.Rules.Engine;

namespace CivicLens.Pipeline.Output;

/// <summary>
/// Writes what the pipeline sees as JSON lines: one <c>track</c> line per tracked object update and one
/// <c>event</c> line when an object appears or leaves. With a <see cref="SnapshotWriter"/>, it also stores a
/// redacted, annotated frame for each event (at most one per camera per <see cref="SnapshotInterval"/>).
/// Track ids are anonymous and valid in one camera only.
/// </summary>
public sealed class AnalysisWriter : IPipelineObserver, IAsyncDisposable
{
    private readonly Stream _output;
    private readonly Utf8JsonWriter _json;
    private readonly ModelLabels _labels;
    private readonly SnapshotWriter? _snapshots;
    private readonly Action<SourceHealth>? _onHealth;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, TimeSpan> _lastSnapshot = new(StringComparer.Ordinal);
    private readonly List<SnapshotAnnotation> _annotations = new(64);
    private readonly List<Detection> _redactionBoxes = new(64);

    public AnalysisWriter(Stream output, ModelLabels labels, SnapshotWriter? snapshots, Action<SourceHealth>? onHealth = null)
    {
        _output = output;
        _json = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = false });
        _labels = labels;
        _snapshots = snapshots;
        _onHealth = onHealth;
    }

    public AnalysisSummary Summary { get; } = new();

    /// <summary>
    /// Where a city turned sealed originals on: the unredacted frame of each event that gets evidence is kept
    /// encrypted for the store's short window (see <see cref="SealedOriginalStore"/>). Off (null) by default.
    /// </summary>
    public SealedOriginalStore? SealedOriginals { get; init; }

    /// <summary>Also hands every written event, with its evidence file, to a store (<c>civiclens serve</c>); awaited, so events are never dropped.</summary>
    public IRuleEventSink? EventSink { get; init; }

    /// <summary>Write track lines (off: only events).</summary>
    public bool WriteTracks { get; init; } = true;

    /// <summary>Write <c>object.appeared</c>/<c>object.left</c> events (off when configured rules produce the events).</summary>
    public bool WriteObjectEvents { get; init; } = true;

    public TimeSpan SnapshotInterval { get; init; } = TimeSpan.FromSeconds(1);

    public async ValueTask OnFrameAsync(FrameAnalysis analysis, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var frame = analysis.Frame;
            var hadEvent = false;
            foreach (var t in analysis.Tracks)
            {
                if (WriteTracks && t.State != TrackState.Removed) WriteTrack(analysis.Camera, frame, t);
                Summary.ObserveTrack(analysis.Camera, t.TrackId, _labels[t.ClassId], t.FirstSeen, t.LastSeen, ended: t.State == TrackState.Removed);
                if (t.State == TrackState.New)
                {
                    Summary.CountNewTrack(_labels[t.ClassId]);
                    if (!WriteObjectEvents) continue;
                    WriteEvent(analysis.Camera, frame, t, "appeared");
                    Summary.CountEvent();
                    hadEvent = true;
                }
                else if (t.State == TrackState.Removed && WriteObjectEvents)
                {
                    WriteEvent(analysis.Camera, frame, t, "left");
                    Summary.CountEvent();
                }
            }

            Summary.CountFrame(analysis.Tracks.Count);
            await _json.FlushAsync(cancellationToken);
            if (hadEvent && _snapshots is not null) TrySnapshot(analysis);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void OnHealth(SourceHealth health)
    {
        _gate.Wait();
        try
        {
            _json.Reset(_output);
            _json.WriteStartObject();
            _json.WriteString("type", "health");
            _json.WriteString("camera", health.SourceName);
            _json.WriteString("state", health.State.ToString().ToLowerInvariant());
            _json.WriteString("at", health.At);
            if (health.Reason is not null) _json.WriteString("reason", health.Reason);
            if (health.Width is { } w && health.Height is { } h)
            {
                _json.WriteNumber("width", w);
                _json.WriteNumber("height", h);
            }

            _json.WriteEndObject();
            _json.Flush();
            _output.WriteByte((byte)'\n');
            _output.Flush();
        }
        finally
        {
            _gate.Release();
        }

        _onHealth?.Invoke(health);
    }

    /// <summary>
    /// Writes rule events as JSON lines. With <paramref name="analysis"/> (events found on a frame) and a snapshot
    /// folder, the frame is stored redacted as the events' evidence: one file for all events of the frame that need one.
    /// Health events raised by a timer come without a frame.
    /// </summary>
    /// <returns>The evidence snapshot's file name, or null when none was written.</returns>
    public async ValueTask<string?> WriteRuleEventsAsync(IReadOnlyList<RuleEvent> events, FrameAnalysis? analysis, CancellationToken cancellationToken)
    {
        if (events.Count == 0) return null;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            string? snapshot = null;
            if (_snapshots is not null && analysis is not null && events.Any(NeedsEvidence))
            {
                var first = events.First(NeedsEvidence);
                snapshot = TryWriteEvidence(analysis, EvidenceName(analysis, first.Id, null), first.Box, $"{first.Kind} {first.Label}");
            }

            if (SealedOriginals is not null && analysis is not null) SealOriginals(events, analysis);

            foreach (var e in events)
            {
                RuleEventJson.Write(_json, _output, e, NeedsEvidence(e) ? snapshot : null);
                Summary.CountRuleEvent(e.Kind, e.Phase);
            }

            await _json.FlushAsync(cancellationToken);
            await _output.FlushAsync(cancellationToken);
            if (EventSink is not null)
            {
                await EventSink.OnEventsAsync(events.Select(e => new EvidencedEvent(e, NeedsEvidence(e) ? snapshot : null)).ToList(), cancellationToken);
            }

            return snapshot;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void SealOriginals(IReadOnlyList<RuleEvent> events, FrameAnalysis analysis)
    {
        var frame = analysis.Frame;
        foreach (var e in events)
        {
            if (!NeedsEvidence(e)) continue;
            try
            {
                SealedOriginals!.Seal(e.Id, frame.Pixels.AsSpan(0, frame.Width * frame.Height * 3), frame.Width, frame.Height);
                Summary.OriginalsSealed++;
            }
            catch (IOException)
            {
                // A full disk loses the original, never the event; the redacted evidence stands on its own.
                Summary.OriginalsNotSealed++;
            }
        }
    }

    /// <summary>
    /// Replaces an open condition's evidence with a better view (same file, so the event line that names it stays
    /// right); the file is swapped atomically and redacted like every stored image.
    /// </summary>
    public async ValueTask<bool> RefreshEvidenceAsync(FrameAnalysis analysis, string fileName, Domain.Geometry.BoxF box, string caption, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        if (_snapshots is null) return false;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (TryWriteEvidence(analysis, fileName, box, caption) is null) return false;
            Summary.EvidenceRefreshed++;
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Hands <paramref name="runtime"/> a live view of this frame, redacted exactly like stored evidence (same
    /// redactor, same boxes: detections and every live track) and encoded in memory; never the raw frame, never a
    /// file. Nothing is published when redaction fails.
    /// </summary>
    /// <param name="scene">Also (or only) the scene frame for the zone editor: the same, with every box filled whole.</param>
    public async ValueTask RenderLiveAsync(FrameAnalysis analysis, CameraRuntime runtime, bool live, bool scene, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentNullException.ThrowIfNull(runtime);
        if (_snapshots is null) return;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            FillRedactionBoxes(analysis);
            using var liveJpeg = live ? new MemoryStream(64 * 1024) : null;
            using var sceneJpeg = scene ? new MemoryStream(64 * 1024) : null;
            try
            {
                if (_snapshots.TryRender(analysis.Frame, _redactionBoxes, liveJpeg, sceneJpeg))
                {
                    if (liveJpeg is not null) runtime.Publish(liveJpeg.ToArray());
                    if (sceneJpeg is not null) runtime.PublishScene(sceneJpeg.ToArray());
                }
            }
            catch (IOException)
            {
                // An encoder failure costs one live frame; the next frame tries again.
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Counts and flows are data, not incidents: only events an operator acts on get a snapshot.</summary>
    public static bool NeedsEvidence(RuleEvent e) =>
        e.Phase is EventPhase.Start or EventPhase.Instant && e.Kind is not ("line.crossed" or "line.counts" or "rules.degraded" or "camera.offline");

    /// <summary>
    /// Stores this camera's redacted view for events that happened at a site it also covers, and writes one
    /// <c>evidence</c> line per event naming the file (and hands the views to the <see cref="EventSink"/>).
    /// </summary>
    public async ValueTask WriteSiteEvidenceAsync(IReadOnlyList<SiteEvidence.Pending> requests, FrameAnalysis analysis, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(analysis);
        if (_snapshots is null || requests.Count == 0) return;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var name = TryWriteEvidence(analysis, EvidenceName(analysis, requests[0].EventId, "site"), null, null);
            if (name is null) return;
            foreach (var r in requests)
            {
                _json.Reset(_output);
                _json.WriteStartObject();
                _json.WriteString("type", "evidence");
                _json.WriteString("event", r.EventId);
                _json.WriteString("kind", r.Kind);
                _json.WriteString("camera", analysis.Camera);
                _json.WriteString("from_camera", r.FromCamera);
                _json.WriteNumber("t", Math.Round(analysis.Frame.StreamTime.TotalSeconds, 3));
                _json.WriteString("at", analysis.Frame.CapturedAt);
                _json.WriteString("snapshot", name);
                _json.WriteEndObject();
                _json.Flush();
                _output.WriteByte((byte)'\n');
            }

            await _output.FlushAsync(cancellationToken);
            if (EventSink is not null)
            {
                var at = analysis.Frame.CapturedAt;
                await EventSink.OnViewsAsync(requests.Select(r => new SiteView(r.EventId, r.Kind, analysis.Camera, r.FromCamera, analysis.Frame.StreamTime, at, name)).ToList(),
                    cancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>What a stored or shown image of this frame is redacted from: the detections and every live track.</summary>
    private void FillRedactionBoxes(FrameAnalysis analysis)
    {
        _redactionBoxes.Clear();
        _redactionBoxes.AddRange(analysis.Detections);
        foreach (var t in analysis.Alive) _redactionBoxes.Add(new Detection(t.Box, t.ClassId, t.Score));
    }

    private static string EvidenceName(FrameAnalysis analysis, Guid eventId, string? suffix) =>
        $"{Sanitise(analysis.Camera)}-{analysis.Frame.Sequence:D7}-{eventId.ToString("N")[..8]}{(suffix is null ? "" : "-" + suffix)}.jpg";

    private string? TryWriteEvidence(FrameAnalysis analysis, string name, Domain.Geometry.BoxF? box, string? caption)
    {
        _annotations.Clear();
        FillRedactionBoxes(analysis);
        if (box is { } b) _annotations.Add(new SnapshotAnnotation(b, caption ?? ""));
        var path = _snapshots!.TryWrite(analysis.Frame, _redactionBoxes, _annotations, name);
        if (path is null)
        {
            Summary.SnapshotsDropped++;
            return null;
        }

        Summary.Snapshots++;
        return name;
    }

    private void WriteTrack(string camera, Frame frame, in TrackedObject t)
    {
        _json.Reset(_output);
        _json.WriteStartObject();
        _json.WriteString("type", "track");
        _json.WriteString("camera", camera);
        _json.WriteNumber("frame", frame.Sequence);
        _json.WriteNumber("t", Math.Round(frame.StreamTime.TotalSeconds, 3));
        _json.WriteNumber("track", t.TrackId);
        _json.WriteString("label", _labels[t.ClassId]);
        _json.WriteNumber("score", Math.Round(t.Score, 3));
        WriteBox(t.Box);
        _json.WriteString("state", t.State == TrackState.New ? "new" : t.State == TrackState.Lost ? "lost" : "tracked");
        _json.WriteEndObject();
        _json.Flush();
        _output.WriteByte((byte)'\n');
    }

    private void WriteEvent(string camera, Frame frame, in TrackedObject t, string transition)
    {
        var id = EventIds.Create(camera, "object-" + transition, t.TrackId, transition, frame.StreamTime);
        _json.Reset(_output);
        _json.WriteStartObject();
        _json.WriteString("type", "event");
        _json.WriteString("id", id);
        _json.WriteString("kind", "object." + transition);
        _json.WriteString("camera", camera);
        _json.WriteNumber("frame", frame.Sequence);
        _json.WriteNumber("t", Math.Round(frame.StreamTime.TotalSeconds, 3));
        _json.WriteString("at", frame.CapturedAt);
        _json.WriteNumber("track", t.TrackId);
        _json.WriteString("label", _labels[t.ClassId]);
        _json.WriteNumber("score", Math.Round(t.Score, 3));
        WriteBox(t.Box);
        if (transition == "left")
        {
            _json.WriteNumber("duration", Math.Round((t.LastSeen - t.FirstSeen).TotalSeconds, 3));
        }

        _json.WriteEndObject();
        _json.Flush();
        _output.WriteByte((byte)'\n');
    }

    private void WriteBox(in Domain.Geometry.BoxF b) => RuleEventJson.WriteBox(_json, b);

    private void TrySnapshot(FrameAnalysis analysis)
    {
        var frame = analysis.Frame;
        if (_lastSnapshot.TryGetValue(analysis.Camera, out var last) && frame.StreamTime - last < SnapshotInterval) return;
        _lastSnapshot[analysis.Camera] = frame.StreamTime;
        _annotations.Clear();
        _redactionBoxes.Clear();
        // Redact from raw detections AND track boxes: a person the tracker still holds but the detector
        // missed this frame must be hidden too.
        _redactionBoxes.AddRange(analysis.Detections);
        foreach (var t in analysis.Tracks)
        {
            if (t.State == TrackState.Removed) continue;
            _redactionBoxes.Add(new Detection(t.Box, t.ClassId, t.Score));
            _annotations.Add(new SnapshotAnnotation(t.Box, $"{_labels[t.ClassId]} #{t.TrackId} {t.Score:0.00}"));
        }

        var name = $"{Sanitise(analysis.Camera)}-{frame.Sequence:D7}.jpg";
        if (_snapshots!.TryWrite(frame, _redactionBoxes, _annotations, name) is not null) Summary.Snapshots++;
        else Summary.SnapshotsDropped++;
    }

    private static string Sanitise(string name)
    {
        Span<char> buffer = stackalloc char[Math.Min(name.Length, 64)];
        for (var i = 0; i < buffer.Length; i++)
        {
            var c = name[i];
            buffer[i] = char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_';
        }

        return new string(buffer);
    }

    public async ValueTask DisposeAsync()
    {
        await _json.FlushAsync();
        await _json.DisposeAsync();
        await _output.FlushAsync();
        _gate.Dispose();
    }
}
