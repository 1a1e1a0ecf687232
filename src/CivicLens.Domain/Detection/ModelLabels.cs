using System.Collections.Frozen;

namespace CivicLens.Domain.Detection;

/// <summary>The class names a detector emits, by class id.</summary>
public sealed class ModelLabels
{
    private readonly string[] _names;
    private readonly FrozenDictionary<string, int> _ids;

    public ModelLabels(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count == 0) throw new ArgumentException("A model needs at least one label.", nameof(names));
        _names = names.ToArray();
        _ids = _names.Select((n, i) => (n, i)).GroupBy(p => p.n, StringComparer.OrdinalIgnoreCase)
            .ToFrozenDictionary(g => g.Key, g => g.First().i, StringComparer.OrdinalIgnoreCase);
    }

    public int Count => _names.Length;
    public IReadOnlyList<string> Names => _names;

    public string this[int classId] => (uint)classId < (uint)_names.Length ? _names[classId] : $"class{classId}";

    public bool TryGetId(string name, out int classId) => _ids.TryGetValue(name, out classId);

    public bool Contains(string name) => _ids.ContainsKey(name);

    /// <summary>The 80 COCO classes in the order NanoDet and most COCO detectors emit them.</summary>
    public static ModelLabels Coco80 { get; } = new(
    [
        "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
        "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
        "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
        "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
        "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
        "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed",
        "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
        "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
    ]);
}
