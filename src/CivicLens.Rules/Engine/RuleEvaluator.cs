using CivicLens.Domain.Detection;
using CivicLens.Domain.Events;
using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Rules.Configuration;

namespace CivicLens.Rules.Engine;

/// <summary>What evaluators of one camera share: the camera's configuration, the model's labels, signals.</summary>
public sealed class CameraContext
{
    public CameraContext(CameraConfig camera, CivicLensConfig config, ModelLabels labels, SignalBoard signals, RuleStateSettings? state = null)
    {
        Camera = camera;
        Config = config;
        Labels = labels;
        Signals = signals;
        State = state;
    }

    public CameraConfig Camera { get; }

    public CivicLensConfig Config { get; }

    public ModelLabels Labels { get; }

    public SignalBoard Signals { get; }

    /// <summary>Where rules keep what must outlive them (see <see cref="RuleStateSettings"/>); null keeps nothing.</summary>
    public RuleStateSettings? State { get; }

    /// <summary>How often the stream restarted (the stream clock starts over): keeps event ids of each run apart.</summary>
    public int Epoch { get; internal set; }

    public ZoneConfig Zone(string id) => Camera.Zones.First(z => z.Id == id);

    public LineConfig Line(string id) => Camera.Lines.First(l => l.Id == id);

    public string? SiteOf(string? zoneOrLine) =>
        Camera.Zones.FirstOrDefault(z => z.Id == zoneOrLine)?.Site ?? Camera.Lines.FirstOrDefault(l => l.Id == zoneOrLine)?.Site ?? Camera.Site;
}

/// <summary>
/// One configured rule on one camera. Called on the camera's loop, frame by frame; appends what it finds to
/// the output list. Evaluators keep small per-track state and allocate only when something happens.
/// </summary>
public abstract class RuleEvaluator
{
    private readonly bool[] _classes;

    protected RuleEvaluator(RuleConfig config, CameraContext context)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(context);
        Config = config;
        Context = context;
        _classes = new bool[context.Labels.Count];
        var missing = new List<string>();
        foreach (var name in config.EffectiveClasses)
        {
            if (context.Labels.TryGetId(name, out var id)) _classes[id] = true;
            else missing.Add(name);
        }

        if (missing.Count > 0)
        {
            throw RuleError("classes", $"label{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(m => $"'{m}'"))} " +
                $"not among the detector's {context.Labels.Count} labels (e.g. {string.Join(", ", context.Labels.Names.Take(8))})");
        }
    }

    public RuleConfig Config { get; }

    protected CameraContext Context { get; }

    protected string CameraId => Context.Camera.Id;

    protected string Category => Config.Category ?? Config.Type;

    /// <summary>A reason the rule cannot judge right now (e.g. its signal went silent), or null when healthy.</summary>
    public virtual string? Degraded => null;

    public abstract void Evaluate(RuleFrame frame, List<RuleEvent> output);

    /// <summary>The rule's schedule window closed: end open conditions and forget per-object state.</summary>
    public virtual void Suspend(RuleFrame frame, List<RuleEvent> output)
    {
    }

    /// <summary>The source ended (file) or restarted: flush partial counts, forget tracks (ids restart).</summary>
    public virtual void Complete(RuleFrame frame, List<RuleEvent> output)
    {
    }

    /// <summary>True when the track's class, score and size are what this rule looks at.</summary>
    protected bool Accepts(in TrackedObject t) =>
        (uint)t.ClassId < (uint)_classes.Length && _classes[t.ClassId]
        && t.Score >= Config.MinScore && t.Box.Height >= Config.MinHeight && t.Box.Width >= Config.MinWidth;

    protected bool AcceptsClass(int classId) => (uint)classId < (uint)_classes.Length && _classes[classId];

    /// <summary>The point that decides whether an object is in a zone: where it touches the ground.</summary>
    protected static PointF GroundPoint(in BoxF box) => new(box.CenterX, box.Bottom);

    protected Guid NewId(long key, string transition, TimeSpan time) =>
        EventIds.Create(CameraId, Config.Id, key, Context.Epoch == 0 ? transition : $"{transition}#{Context.Epoch}", time);

    protected RuleEvent NewEvent(string kind, EventPhase phase, Guid id, RuleFrame frame, string? zone = null, string? line = null) => new()
    {
        Id = id,
        Kind = kind,
        Phase = phase,
        Camera = CameraId,
        Rule = Config.Id,
        Category = Category,
        Zone = zone,
        Line = line,
        Site = Context.SiteOf(zone ?? line),
        StreamTime = frame.StreamTime,
        At = frame.At,
    };

    private TimeSpan? _lastFired;

    /// <summary>True while the rule's cool-down after its last event is running.</summary>
    protected bool CoolingDown(TimeSpan now) => Config.Cooldown > TimeSpan.Zero && _lastFired is { } last && now - last < Config.Cooldown;

    protected void Fired(TimeSpan now) => _lastFired = now;

    protected string LabelOf(int classId) => Context.Labels[classId];

    protected ConfigException RuleError(string field, string message)
    {
        var location = Config.Location ?? new ConfigLocation(Context.Config.SourceFile ?? "config", 0, 0, $"cameras[{CameraId}].rules[{Config.Id}]");
        return new ConfigException([location.Error(field, $"rule '{Config.Id}': {message}")]);
    }
}
