namespace CivicLens.District.Cameras;

/// <summary>A row's values as read, before the shared checks; each reader fills one per row.</summary>
internal sealed class CameraValues
{
    public string? Id { get; set; }
    public string? Name { get; set; }
    public double? Latitude { get; set; }
    public double? Longitude { get; set; }
    public double? Heading { get; set; }
    public double? FieldOfView { get; set; }
    public double? Range { get; set; }
    public string? Source { get; set; }
    public string? Purpose { get; set; }
    public string? LegalBasis { get; set; }
    public string? Department { get; set; }
    public int? RetentionDays { get; set; }
    public string? Site { get; set; }
    public string? Area { get; set; }
    public bool? Enabled { get; set; }

    /// <summary>Fields a reader already reported (unreadable, wrong type), so the checks do not report them twice.</summary>
    private int _reported;

    public void MarkReported(CameraField f) => _reported |= 1 << (int)f;

    public bool IsReported(CameraField f) => (_reported & (1 << (int)f)) != 0;

    public void Clear()
    {
        Id = Name = Source = Purpose = LegalBasis = Department = Site = Area = null;
        Latitude = Longitude = Heading = FieldOfView = Range = null;
        RetentionDays = null;
        Enabled = null;
        _reported = 0;
    }
}

/// <summary>
/// The row being read: its number, the names its fields are written with, and the problems found in it, which go
/// straight into the file's list.
/// </summary>
internal sealed class RowCheck
{
    private readonly List<ImportProblem> _problems;
    private readonly ImportLocation _location;
    private readonly string[] _defaults;
    private readonly string[] _names;
    private readonly List<int> _order = [];
    private int _start;

    public RowCheck(ImportLocation location, List<ImportProblem> problems, string[]? defaults = null)
    {
        _location = location;
        _problems = problems;
        _defaults = defaults ?? CameraColumns.Canonical;
        _names = (string[])_defaults.Clone();
    }

    public int Row { get; private set; }

    /// <summary>One string for each repeated value of the file's low-variety text (purpose, department, ...).</summary>
    public TextPool Pool { get; } = new();

    public bool Ok => _problems.Count == _start;

    public void Begin(int row)
    {
        Row = row;
        _start = _problems.Count;
        _order.Clear();
    }

    /// <summary>
    /// Puts the row's problems in field order (a reader reports an unreadable value before the shared checks run),
    /// problems about the whole row first.
    /// </summary>
    public void Finish()
    {
        for (var i = 1; i < _order.Count; i++)
        {
            for (var j = i; j > 0 && _order[j - 1] > _order[j]; j--)
            {
                (_order[j - 1], _order[j]) = (_order[j], _order[j - 1]);
                (_problems[_start + j - 1], _problems[_start + j]) = (_problems[_start + j], _problems[_start + j - 1]);
            }
        }
    }

    /// <summary>Names back to the defaults (GeoJSON: each feature may spell its properties its own way).</summary>
    public void ResetNames() => _defaults.CopyTo(_names, 0);

    public string Name(CameraField f) => _names[(int)f];

    public void SetName(CameraField f, string written) => _names[(int)f] = written;

    /// <summary>A problem; <paramref name="order"/> places it among the row's others (-1: about the whole row).</summary>
    public void Add(string field, string message, int order = -1)
    {
        _problems.Add(new ImportProblem(Row, field, message) { Location = _location });
        _order.Add(order);
    }

    public void Add(CameraField f, string message) => Add(Name(f), message, (int)f);

    /// <summary>Where this row is, as a problem about another row names it.</summary>
    public string Where(int row) => _location == ImportLocation.Feature ? $"features[{row}]" : $"row {row}";
}

/// <summary>
/// Ids seen in one file. Ids are compared ignoring case: 'CAM-1' and 'cam-1' in one file are one camera written
/// twice, not two cameras.
/// </summary>
internal sealed class IdRegistry
{
    private readonly Dictionary<string, (int Row, string Id)> _first = new(StringComparer.OrdinalIgnoreCase);

    public void Check(RowCheck check, string id)
    {
        if (_first.TryAdd(id, (check.Row, id))) return;
        var (row, first) = _first[id];
        var spelled = string.Equals(first, id, StringComparison.Ordinal) ? "" : $" as '{first}'";
        check.Add(CameraField.Id, $"duplicate id '{id}' (first on {check.Where(row)}{spelled})");
    }
}

/// <summary>
/// Repeated values share one string: 290,000 rows saying "traffic counting" hold it once. Only short values are
/// kept, and only the first few thousand distinct ones, so a column of unique values costs a lookup and no more.
/// </summary>
internal sealed class TextPool
{
    private const int MaxEntries = 8192;
    private const int MaxLength = 128;

    private readonly HashSet<string> _set = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public TextPool() => _lookup = _set.GetAlternateLookup<ReadOnlySpan<char>>();

    public string Get(ReadOnlySpan<char> text)
    {
        if (text.Length > MaxLength) return text.ToString();
        if (_lookup.TryGetValue(text, out var pooled)) return pooled;
        var s = text.ToString();
        if (_set.Count < MaxEntries) _set.Add(s);
        return s;
    }
}
