using CivicLens.Domain.Detection;
using CivicLens.Domain.Geometry;

namespace CivicLens.Privacy.Redaction;

/// <summary>
/// Decides which parts of a frame must be hidden: every face the face detector finds (on the whole frame
/// and on each person's upper body, since CCTV faces are often too small to find on the whole frame), the
/// head region of every person box whatever the face detector says, and the plate band of every vehicle box.
/// </summary>
public sealed class RedactionPlanner
{
    private readonly RedactionOptions _options;
    private readonly IFaceLocator? _faces;
    private readonly bool[] _isPerson;
    private readonly bool[] _isPlateCarrier;
    private readonly List<BoxF> _faceScratch = new(16);

    public RedactionPlanner(RedactionOptions options, ModelLabels labels, IFaceLocator? faces)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(labels);
        _options = options;
        _faces = faces;
        _isPerson = labels.Names.Select(n => ObjectKinds.People.Contains(n)).ToArray();
        _isPlateCarrier = labels.Names.Select(n => ObjectKinds.PlateCarriers.Contains(n)).ToArray();
    }

    /// <summary>True when a face detector runs in addition to the geometric head and plate regions.</summary>
    public bool UsesFaceDetector => _faces is not null;

    /// <summary>Fills <paramref name="regions"/> (cleared first) with the boxes to hide, clamped to the frame.</summary>
    public void Plan(ReadOnlySpan<byte> rgb24, int width, int height, IReadOnlyList<Detection> detections, List<BoxF> regions)
    {
        regions.Clear();
        var o = _options;
        if (_faces is not null)
        {
            _faceScratch.Clear();
            _faces.Detect(rgb24, width, height, width * 3, new BoxF(0, 0, width, height), _faceScratch);
        }

        foreach (var d in detections)
        {
            var b = d.Box;
            if ((uint)d.ClassId < (uint)_isPerson.Length && _isPerson[d.ClassId])
            {
                var head = new BoxF(b.X - b.Width * o.HeadSideMargin, b.Y - b.Height * 0.05f,
                    b.Width * (1 + 2 * o.HeadSideMargin), b.Height * (o.HeadFraction + 0.05f));
                Add(regions, head, width, height);
                if (_faces is not null && b.Height >= o.MinPersonHeightForFaceSearch)
                {
                    var upper = new BoxF(b.X - b.Width * 0.1f, b.Y - b.Height * 0.05f, b.Width * 1.2f, b.Height * 0.6f).ClampTo(width, height);
                    if (upper.Area > 0) _faces.Detect(rgb24, width, height, width * 3, upper, _faceScratch);
                }
            }
            else if ((uint)d.ClassId < (uint)_isPlateCarrier.Length && _isPlateCarrier[d.ClassId])
            {
                var band = new BoxF(b.X - b.Width * 0.03f, b.Bottom - b.Height * o.PlateBandFraction,
                    b.Width * 1.06f, b.Height * (o.PlateBandFraction + 0.03f));
                Add(regions, band, width, height);
            }
        }

        if (_faces is not null)
        {
            foreach (var f in _faceScratch) Add(regions, f.Inflate(o.FaceMargin), width, height);
        }
    }

    private static void Add(List<BoxF> regions, BoxF box, int width, int height)
    {
        var clamped = box.ClampTo(width, height);
        if (clamped.Area > 0) regions.Add(clamped);
    }
}
