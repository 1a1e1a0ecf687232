using CivicLens.Domain.Detection;
using CivicLens.Domain.Events;
using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Evaluators;
using CivicLens.Rules.Health;

namespace CivicLens.Rules.Engine;

/// <summary>
/// Runs one camera's rules over its frames. Zones are drawn in the camera's configured resolution: a stream of
/// another size with the same aspect is scaled; one whose aspect differs pauses every rule and reports
/// <c>rules.degraded</c> (a zone drawn for one view must never judge another). A rule whose input fails (a silent
/// signal) reports itself degraded the same way. Built once per camera; every problem with the configuration
/// against the model (unknown labels, a PPE rule without PPE labels) is reported at construction, all at once.
/// </summary>
public sealed class CameraRuleEngine
{
    private readonly CameraContext _context;
    private readonly List<RuleEvaluator> _rules = [];
    private readonly bool[] _active;
    private readonly string?[] _degraded;
    private readonly Guid?[] _degradedIncident;
    private readonly TamperMonitor? _tamper;
    private readonly RuleFrame _scaled = new();
    private Guid? _resolutionIncident;
    private string? _resolutionProblem;

    /// <param name="state">Where rules keep what must outlive this engine (scene-change references); null keeps nothing.</param>
    public CameraRuleEngine(CameraConfig camera, CivicLensConfig config, ModelLabels labels, SignalBoard signals, RuleStateSettings? state = null)
    {
        ArgumentNullException.ThrowIfNull(camera);
        _context = new CameraContext(camera, config, labels, signals, state);
        var errors = new List<ConfigError>();
        foreach (var rule in camera.Rules.Where(r => r.Enabled))
        {
            try
            {
                _rules.Add(Create(rule, _context));
            }
            catch (ConfigException ex)
            {
                errors.AddRange(ex.Errors);
            }
        }

        if (errors.Count > 0) throw new ConfigException(errors);
        _active = Enumerable.Repeat(true, _rules.Count).ToArray();
        _degraded = new string?[_rules.Count];
        _degradedIncident = new Guid?[_rules.Count];
        if (camera.Health.Tamper) _tamper = new TamperMonitor(camera.Id, camera.Health);
    }

    public string Camera => _context.Camera.Id;

    public IReadOnlyList<RuleEvaluator> Rules => _rules;

    public static RuleEvaluator Create(RuleConfig rule, CameraContext context) => rule switch
    {
        ZoneEntryRuleConfig r => new ZoneEntryRule(r, context),
        StationaryVehicleRuleConfig r => new StationaryVehicleRule(r, context),
        OccupancyRuleConfig r => new OccupancyRule(r, context),
        LineCrossingRuleConfig r => new LineCrossingRule(r, context),
        RedCrossingRuleConfig r => new RedCrossingRule(r, context),
        PpeRuleConfig r => new PpeRule(r, context),
        SceneChangeRuleConfig r => new SceneChangeRule(r, context),
        _ => throw new ArgumentException($"No evaluator for rule type '{rule.Type}'.", nameof(rule)),
    };

    /// <summary>Evaluates every rule on one frame (boxes in the stream's pixels); appends events to <paramref name="output"/>.</summary>
    public void Process(RuleFrame frame, List<RuleEvent> output)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(output);
        _tamper?.Process(frame, output);
        if (!TryScale(frame, output, out var scale)) return;
        var input = scale == 1f ? frame : _scaled;
        var rulesStart = output.Count;
        for (var i = 0; i < _rules.Count; i++)
        {
            var rule = _rules[i];
            var active = rule.Config.Schedule.Count == 0 || rule.Config.Schedule.Any(w => w.Contains(frame.At, _context.Config.TimeZone));
            if (!active)
            {
                if (_active[i]) rule.Suspend(input, output);
                _active[i] = false;
                continue;
            }

            _active[i] = true;
            rule.Evaluate(input, output);
            ReportDegraded(i, rule, frame, output);
        }

        // Evaluators work in the configured pixel space; events carry boxes in the stream's pixels.
        if (scale != 1f)
        {
            for (var i = rulesStart; i < output.Count; i++)
            {
                if (output[i].Box is { } b) output[i] = output[i] with { Box = new BoxF(b.X / scale, b.Y / scale, b.Width / scale, b.Height / scale) };
            }
        }

    }

    /// <summary>The source ended: flush partial counts and end open conditions.</summary>
    public void Complete(RuleFrame last, List<RuleEvent> output)
    {
        ArgumentNullException.ThrowIfNull(last);
        foreach (var rule in _rules) rule.Complete(last, output);
        _tamper?.Complete(last, output);
    }

    /// <summary>
    /// The source reconnected: track ids and the stream clock started over, so per-object state is void.
    /// Open conditions end (they are judged afresh) and later event ids carry the new epoch.
    /// </summary>
    public void Restart(RuleFrame first, List<RuleEvent> output)
    {
        Complete(first, output);
        _context.Epoch++;
        if (_tamper is not null) _tamper.Epoch = _context.Epoch;
    }

    private void ReportDegraded(int i, RuleEvaluator rule, RuleFrame frame, List<RuleEvent> output)
    {
        var reason = rule.Degraded;
        if (reason == _degraded[i]) return;
        if (_degradedIncident[i] is { } open)
        {
            output.Add(Degraded(frame, rule.Config.Id, EventPhase.End, open, _degraded[i]!));
            _degradedIncident[i] = null;
        }

        if (reason is not null)
        {
            var e = Degraded(frame, rule.Config.Id, EventPhase.Start, null, reason);
            _degradedIncident[i] = e.Id;
            output.Add(e);
        }

        _degraded[i] = reason;
    }

    private RuleEvent Degraded(RuleFrame frame, string rule, EventPhase phase, Guid? incident, string reason)
    {
        var id = EventIds.Create(Camera, rule, 0, phase == EventPhase.Start ? "degraded" : "recovered", frame.StreamTime);
        return new RuleEvent
        {
            Id = id,
            Kind = "rules.degraded",
            Phase = phase,
            Camera = Camera,
            Rule = rule,
            Category = "camera-health",
            Site = _context.Camera.Site,
            StreamTime = frame.StreamTime,
            At = frame.At,
            IncidentId = incident ?? id,
            Detail = reason,
            Confidence = 1f,
        };
    }

    /// <summary>Prepares the configured-space view of the frame; false (and a degraded report) when it cannot be had.</summary>
    private bool TryScale(RuleFrame frame, List<RuleEvent> output, out float scale)
    {
        scale = 1f;
        var cam = _context.Camera;
        var problem = (string?)null;
        if (frame.Frame is { } f && (f.Width != cam.Width || f.Height != cam.Height))
        {
            var aspectConfig = (double)cam.Width / cam.Height;
            var aspectStream = (double)f.Width / f.Height;
            if (Math.Abs(aspectConfig / aspectStream - 1) > 0.01)
            {
                problem = $"stream is {f.Width}x{f.Height} but zones are drawn for {cam.Width}x{cam.Height}; rules paused until the view matches";
            }
            else
            {
                scale = (float)cam.Width / f.Width;
            }
        }

        if (problem != _resolutionProblem)
        {
            if (_resolutionIncident is { } open)
            {
                output.Add(Degraded(frame, "resolution", EventPhase.End, open, _resolutionProblem!));
                _resolutionIncident = null;
            }

            if (problem is not null)
            {
                var e = Degraded(frame, "resolution", EventPhase.Start, null, problem);
                _resolutionIncident = e.Id;
                output.Add(e);
                // Rules restart from a clean state when the view comes back.
                foreach (var rule in _rules) rule.Suspend(frame, output);
            }

            _resolutionProblem = problem;
        }

        if (problem is not null) return false;
        if (scale != 1f) CopyScaled(frame, scale);
        return true;
    }

    private void CopyScaled(RuleFrame frame, float s)
    {
        _scaled.Frame = frame.Frame;
        _scaled.StreamTime = frame.StreamTime;
        _scaled.At = frame.At;
        _scaled.Detected = frame.Detected;
        _scaled.Tracks.Clear();
        foreach (var t in frame.Tracks) _scaled.Tracks.Add(t with { Box = Scale(t.Box, s), VelocityX = t.VelocityX * s, VelocityY = t.VelocityY * s });
        _scaled.Alive.Clear();
        foreach (var t in frame.Alive) _scaled.Alive.Add(t with { Box = Scale(t.Box, s), VelocityX = t.VelocityX * s, VelocityY = t.VelocityY * s });
        _scaled.Detections.Clear();
        foreach (var d in frame.Detections) _scaled.Detections.Add(d with { Box = Scale(d.Box, s) });
    }

    private static BoxF Scale(in BoxF b, float s) => new(b.X * s, b.Y * s, b.Width * s, b.Height * s);
}
