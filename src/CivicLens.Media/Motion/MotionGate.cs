using CivicLens.Domain.Frames;

namespace CivicLens.Media.Motion;

/// <summary>Thresholds of the motion gate.</summary>
public sealed record MotionGateOptions
{
    /// <summary>Width of the grayscale grid the frame is reduced to (height keeps the aspect ratio).</summary>
    public int GridWidth { get; init; } = 96;

    /// <summary>A cell has changed when its brightness differs from the background by more than this (0..255).</summary>
    public int CellThreshold { get; init; } = 18;

    /// <summary>Motion when at least this share of cells changed. 0.1% is about one distant pedestrian on a 96-wide grid.</summary>
    public double MinChangedFraction { get; init; } = 0.001;

    /// <summary>How fast the background follows the scene (light changes, parked cars becoming background).</summary>
    public float BackgroundRate { get; init; } = 0.05f;

    /// <summary>Run the detector at least this often even on a still scene, so stationary objects stay tracked.</summary>
    public TimeSpan ForcedInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Decides per frame whether the detector needs to run: a still scene (no cell of a coarse grayscale grid
/// differs from a running background) skips detection. Buffers are made once per frame size; nothing is
/// allocated per frame.
/// </summary>
public sealed class MotionGate
{
    private readonly MotionGateOptions _options;
    private float[] _background = [];
    private byte[] _gray = [];
    private int[] _xs = [];
    private int[] _ys = [];
    private int _frameWidth;
    private int _frameHeight;
    private bool _primed;
    private TimeSpan? _lastForced;

    public MotionGate(MotionGateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.GridWidth, 8);
        _options = options;
    }

    /// <summary>Share of cells that changed in the last frame (for diagnostics and tuning).</summary>
    public double LastChangedFraction { get; private set; }

    public bool HasMotion(Frame frame)
    {
        if (frame.Width != _frameWidth || frame.Height != _frameHeight) Resize(frame.Width, frame.Height);
        Sample(frame.Pixels, frame.Width);
        var forced = _lastForced is not { } last || frame.StreamTime - last >= _options.ForcedInterval || frame.StreamTime < last;
        if (!_primed)
        {
            for (var i = 0; i < _gray.Length; i++) _background[i] = _gray[i];
            _primed = true;
            _lastForced = frame.StreamTime;
            LastChangedFraction = 1;
            return true;
        }

        var changed = 0;
        var rate = _options.BackgroundRate;
        var threshold = _options.CellThreshold;
        for (var i = 0; i < _gray.Length; i++)
        {
            var diff = _gray[i] - _background[i];
            if (MathF.Abs(diff) > threshold) changed++;
            _background[i] += rate * diff;
        }

        LastChangedFraction = (double)changed / _gray.Length;
        var motion = LastChangedFraction >= _options.MinChangedFraction;
        if (motion || forced) _lastForced = frame.StreamTime;
        return motion || forced;
    }

    /// <summary>Forgets the background (after a reconnect the scene or resolution may differ).</summary>
    public void Reset()
    {
        _primed = false;
        _lastForced = null;
    }

    private void Resize(int width, int height)
    {
        var gw = Math.Min(_options.GridWidth, width);
        var gh = Math.Max(1, (int)Math.Round((double)height * gw / width));
        _xs = Enumerable.Range(0, gw).Select(i => (int)((i + 0.5) * width / gw)).ToArray();
        _ys = Enumerable.Range(0, gh).Select(i => (int)((i + 0.5) * height / gh)).ToArray();
        _gray = new byte[gw * gh];
        _background = new float[gw * gh];
        _frameWidth = width;
        _frameHeight = height;
        _primed = false;
    }

    // Luma of a 2x2 neighbourhood at each grid point: cheap, and enough to see people and vehicles move.
    private void Sample(ReadOnlySpan<byte> rgb, int width)
    {
        var stride = width * 3;
        var gw = _xs.Length;
        for (var gy = 0; gy < _ys.Length; gy++)
        {
            var y = Math.Min(_ys[gy], _frameHeight - 2);
            var row0 = rgb.Slice(y * stride, stride);
            var row1 = rgb.Slice((y + 1) * stride, stride);
            for (var gx = 0; gx < gw; gx++)
            {
                var i = Math.Min(_xs[gx], width - 2) * 3;
                var sum = Luma(row0, i) + Luma(row0, i + 3) + Luma(row1, i) + Luma(row1, i + 3);
                _gray[gy * gw + gx] = (byte)(sum >> 2);
            }
        }
    }

    private static int Luma(ReadOnlySpan<byte> row, int i) => (77 * row[i] + 150 * row[i + 1] + 29 * row[i + 2]) >> 8;
}
