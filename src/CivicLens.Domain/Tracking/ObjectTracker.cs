using System.Collections.ObjectModel;

namespace CivicLens.Domain.Tracking;

/// <summary>
/// Multi-object tracker for ONE camera, after ByteTrack (Zhang et al. 2021): a constant-velocity Kalman
/// filter per track and three association stages solved optimally on IoU.
/// </summary>
/// <remarks>
/// <para>
/// Privacy: track ids are anonymous. An instance belongs to one camera; its ids are small sequential
/// numbers starting at 1 and mean nothing outside that camera. The tracker links detections by box overlap
/// and motion only: it keeps no appearance features, no embeddings and no crops, and nothing links a track
/// to a track of another camera (no re-identification). Do not add such linking here.
/// </para>
/// <para>
/// Each <see cref="Update"/>: (1) high-score detections against confirmed tracks, tracked or lost, at their
/// predicted boxes; (2) low-score detections against confirmed tracks still unmatched that were tracked in
/// the previous frame, so a partly hidden object keeps its id without letting doubtful detections start
/// tracks; (3) unconfirmed candidates against the high-score detections left. Leftover high-score detections
/// at or above <see cref="TrackerOptions.NewTrackThreshold"/> start candidates, which get an id after
/// <see cref="TrackerOptions.MinHitsToConfirm"/> consecutive hits.
/// </para>
/// <para>
/// Time is stream time, so frames may be sampled at any rate and skipped. After warm-up an update allocates
/// nothing: tracks are pooled, and lists and cost buffers are reused. Not thread-safe (one camera loop).
/// </para>
/// </remarks>
public sealed class ObjectTracker
{
    // Accept pairs whose IoU equals the threshold exactly (the solver rejects cost >= limit).
    private const double LimitSlack = 1e-6;

    private readonly TrackerOptions _options;
    private readonly LinearAssignment _assignment = new();
    private readonly List<Track> _tracks = [];
    private readonly Stack<Track> _pool = new();
    private readonly List<Track> _candidates = [];
    private readonly List<int> _high = [];
    private readonly List<int> _low = [];
    private readonly List<int> _detections = [];
    private readonly List<TrackedObject> _snapshot = [];
    private readonly List<TrackedObject> _ended = [];
    private int[] _rowToCol = new int[32];
    private bool[] _detectionUsed = new bool[32];
    private long _lastId;
    private TimeSpan? _lastTime;

    public ObjectTracker(TrackerOptions? options = null)
    {
        _options = options ?? TrackerOptions.Default;
        _options.Validate();
        Tracks = new ReadOnlyCollection<TrackedObject>(_snapshot);
    }

    public TrackerOptions Options => _options;

    /// <summary>
    /// Confirmed tracks alive after the last update (state New, Tracked or Lost), in the order they were
    /// confirmed. A view that the next update refreshes; copy it to keep it.
    /// </summary>
    public IReadOnlyCollection<TrackedObject> Tracks { get; }

    /// <summary>
    /// Feeds one frame's detections at <paramref name="streamTime"/>. <paramref name="output"/> is cleared and
    /// receives every confirmed track matched in this frame (state New or Tracked, with its filtered box),
    /// then every track that ended in this frame (state Removed, with its last box).
    /// </summary>
    /// <exception cref="ArgumentException">
    /// Stream time went backwards (call <see cref="Reset()"/> after a source restart), or a detection has a
    /// non-finite box or score.
    /// </exception>
    public void Update(ReadOnlySpan<Detection.Detection> detections, TimeSpan streamTime, List<TrackedObject> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_lastTime is { } previous && streamTime < previous)
        {
            throw new ArgumentException(
                $"Stream time went backwards from {previous} to {streamTime}; call Reset() after a source restart.",
                nameof(streamTime));
        }

        Validate(detections);
        output.Clear();
        var dt = _lastTime is { } last ? (streamTime - last).TotalSeconds : 0;
        _lastTime = streamTime;

        RemoveExpired(streamTime);
        foreach (var track in _tracks)
        {
            // ByteTrack: a box nobody saw in the last frame should not keep growing or shrinking.
            if (track.Lost) track.Filter.FreezeHeight();
            track.Filter.Predict(dt);
            track.Predicted = track.Filter.Box;
            track.Matched = false;
            track.JustConfirmed = false;
        }

        SplitByScore(detections);
        EnsureDetectionCapacity(detections.Length);
        Array.Clear(_detectionUsed, 0, detections.Length);

        // Stage 1: high-score detections vs confirmed tracks, lost ones included.
        _candidates.Clear();
        foreach (var track in _tracks)
        {
            if (track.Confirmed) _candidates.Add(track);
        }

        Associate(_candidates, detections, _high, _options.MatchIouThreshold, streamTime);

        // Stage 2: low-score detections only keep tracks that were being tracked; they never revive lost ones.
        _candidates.Clear();
        foreach (var track in _tracks)
        {
            if (track.Confirmed && !track.Matched && !track.Lost) _candidates.Add(track);
        }

        Associate(_candidates, detections, _low, _options.SecondStageIouThreshold, streamTime);

        // Stage 3: unconfirmed candidates vs the high-score detections nobody took.
        _candidates.Clear();
        foreach (var track in _tracks)
        {
            if (!track.Confirmed) _candidates.Add(track);
        }

        Associate(_candidates, detections, _high, _options.UnconfirmedIouThreshold, streamTime);

        FinishFrame();
        StartTracks(detections, streamTime);
        WriteOutput(output);
        RefreshSnapshot();
    }

    /// <summary>
    /// Forgets every track and the stream clock (after a reconnect or resolution change) without reporting
    /// them. Ids are not reused: the next track gets the next number, so events keyed by track id and stream
    /// time stay distinct even when the stream clock restarts.
    /// </summary>
    public void Reset() => Reset(null);

    /// <summary>As <see cref="Reset()"/>, but first adds every confirmed track to <paramref name="ended"/> as Removed.</summary>
    public void Reset(List<TrackedObject>? ended)
    {
        ended?.Clear();
        foreach (var track in _tracks)
        {
            if (ended is not null && track.Confirmed) ended.Add(track.ToTrackedObject(TrackState.Removed));
            _pool.Push(track);
        }

        _tracks.Clear();
        _snapshot.Clear();
        _lastTime = null;
    }

    private static void Validate(ReadOnlySpan<Detection.Detection> detections)
    {
        for (var i = 0; i < detections.Length; i++)
        {
            var d = detections[i];
            if (!float.IsFinite(d.Box.X) || !float.IsFinite(d.Box.Y) || !float.IsFinite(d.Box.Width)
                || !float.IsFinite(d.Box.Height) || !float.IsFinite(d.Score))
            {
                throw new ArgumentException(
                    $"Detection {i} (class {d.ClassId}) has a non-finite box or score: {d.Box} score {d.Score}.",
                    nameof(detections));
            }
        }
    }

    /// <summary>Ends tracks unseen for longer than allowed, before association so they cannot be revived.</summary>
    private void RemoveExpired(TimeSpan now)
    {
        _ended.Clear();
        var write = 0;
        for (var i = 0; i < _tracks.Count; i++)
        {
            var track = _tracks[i];
            if (track.Confirmed && now - track.LastSeen > _options.MaxLostTime)
            {
                _ended.Add(track.ToTrackedObject(TrackState.Removed));
                _pool.Push(track);
                continue;
            }

            _tracks[write++] = track;
        }

        _tracks.RemoveRange(write, _tracks.Count - write);
    }

    private void SplitByScore(ReadOnlySpan<Detection.Detection> detections)
    {
        _high.Clear();
        _low.Clear();
        for (var i = 0; i < detections.Length; i++)
        {
            var d = detections[i];
            // Degenerate boxes (e.g. clamped off the frame edge) cannot be matched by overlap.
            if (d.Box.Width <= 0 || d.Box.Height <= 0) continue;
            if (d.Score >= _options.HighScoreThreshold) _high.Add(i);
            else if (d.Score >= _options.LowScoreThreshold) _low.Add(i);
        }
    }

    private void EnsureDetectionCapacity(int count)
    {
        if (_detectionUsed.Length < count) _detectionUsed = new bool[Math.Max(count, _detectionUsed.Length * 2)];
    }

    private void Associate(List<Track> tracks, ReadOnlySpan<Detection.Detection> detections, List<int> pool, float minIou, TimeSpan now)
    {
        // Only detections not taken by an earlier stage.
        _detections.Clear();
        foreach (var index in pool)
        {
            if (!_detectionUsed[index]) _detections.Add(index);
        }

        var rows = tracks.Count;
        var cols = _detections.Count;
        if (rows == 0 || cols == 0) return;

        var costs = _assignment.Costs(rows, cols);
        for (var r = 0; r < rows; r++)
        {
            var track = tracks[r];
            for (var c = 0; c < cols; c++)
            {
                ref readonly var d = ref detections[_detections[c]];
                var cost = LinearAssignment.Forbidden;
                if (!_options.ClassAware || SameGroup(d.ClassId, track.ClassId))
                {
                    var iou = track.Predicted.IoU(d.Box);
                    if (iou >= minIou && iou > 0) cost = 1.0 - iou;
                }

                costs[r * cols + c] = cost;
            }
        }

        if (_rowToCol.Length < rows) _rowToCol = new int[Math.Max(rows, _rowToCol.Length * 2)];
        var rowToCol = _rowToCol.AsSpan(0, rows);
        _assignment.Solve(rows, cols, 1.0 - minIou + LimitSlack, rowToCol);
        for (var r = 0; r < rows; r++)
        {
            var c = rowToCol[r];
            if (c < 0) continue;
            var index = _detections[c];
            _detectionUsed[index] = true;
            tracks[r].Observe(detections[index], now);
        }
    }

    private void FinishFrame()
    {
        var write = 0;
        for (var i = 0; i < _tracks.Count; i++)
        {
            var track = _tracks[i];
            if (!track.Matched)
            {
                if (!track.Confirmed)
                {
                    // A candidate must be seen in consecutive frames; a miss discards it silently (it had no id).
                    _pool.Push(track);
                    continue;
                }

                track.Lost = true;
            }
            else if (!track.Confirmed && track.Hits >= _options.MinHitsToConfirm)
            {
                Confirm(track);
            }

            _tracks[write++] = track;
        }

        _tracks.RemoveRange(write, _tracks.Count - write);
    }

    private void WriteOutput(List<TrackedObject> output)
    {
        foreach (var track in _tracks)
        {
            if (track.Confirmed && track.Matched)
            {
                output.Add(track.ToTrackedObject(track.JustConfirmed ? TrackState.New : TrackState.Tracked));
            }
        }

        output.AddRange(_ended);
        _ended.Clear();
    }

    private void Confirm(Track track)
    {
        track.Confirmed = true;
        track.JustConfirmed = true;
        track.Id = ++_lastId;
    }

    private void StartTracks(ReadOnlySpan<Detection.Detection> detections, TimeSpan now)
    {
        foreach (var index in _high)
        {
            if (_detectionUsed[index]) continue;
            ref readonly var d = ref detections[index];
            if (d.Score < _options.NewTrackThreshold) continue;
            var track = _pool.Count > 0 ? _pool.Pop() : new Track();
            track.Start(d, now);
            if (_options.MinHitsToConfirm <= 1) Confirm(track);
            _tracks.Add(track);
        }
    }

    private void RefreshSnapshot()
    {
        _snapshot.Clear();
        foreach (var track in _tracks)
        {
            if (!track.Confirmed) continue;
            var state = track.Lost ? TrackState.Lost : track.JustConfirmed ? TrackState.New : TrackState.Tracked;
            _snapshot.Add(track.ToTrackedObject(state));
        }
    }

    private bool SameGroup(int a, int b)
    {
        if (a == b) return true;
        var groups = _options.ClassGroups;
        return groups is not null && (uint)a < (uint)groups.Count && (uint)b < (uint)groups.Count && groups[a] == groups[b];
    }
}
