using CivicLens.Domain.Frames;
using CivicLens.Media.Motion;
using CivicLens.Media.Tests.Support;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Media.Tests.Motion;

public sealed class MotionGateTests
{
    private const int Width = 160, Height = 120;
    private static readonly TimeSpan Never = TimeSpan.FromHours(1);

    [Fact]
    public void HasMotion_StillScene_PassesOnlyTheFirstFrameAndEachForcedInterval()
    {
        var pool = new FramePool(Width, Height, 1);
        var gate = new MotionGate(new MotionGateOptions { ForcedInterval = TimeSpan.FromSeconds(1) });
        Assert.True(pool.TryRent(out var frame));
        Paint(frame, 90, block: null);

        var passed = new List<int>();
        for (var i = 0; i <= 30; i++) // 3 s at 10 frames/s, the same picture every time
        {
            frame.StreamTime = TimeSpan.FromMilliseconds(i * 100);
            if (gate.HasMotion(frame)) passed.Add(i);
        }

        Assert.Equal([0, 10, 20, 30], passed);
        Assert.Equal(0, gate.LastChangedFraction);
        frame.Release();
    }

    [Fact]
    public void HasMotion_MovingBlock_PassesEveryFrame()
    {
        var pool = new FramePool(Width, Height, 2);
        var gate = new MotionGate(new MotionGateOptions { ForcedInterval = Never });
        for (var i = 0; i < 12; i++)
        {
            Assert.True(pool.TryRent(out var frame)); // a different pooled buffer each time, as from a source
            Paint(frame, 90, block: (10 + i * 10, 50));
            frame.StreamTime = TimeSpan.FromMilliseconds(i * 100);
            Assert.True(gate.HasMotion(frame), $"frame {i}: a 16 px block moving 10 px was not seen");
            if (i > 0) Assert.InRange(gate.LastChangedFraction, 0.01, 0.2);
            frame.Release();
        }
    }

    [Fact]
    public void HasMotion_BrightnessChangeBelowTheCellThreshold_IsNotMotion()
    {
        var pool = new FramePool(Width, Height, 1);
        var gate = new MotionGate(new MotionGateOptions { ForcedInterval = Never, CellThreshold = 18 });
        Assert.True(pool.TryRent(out var frame));
        Paint(frame, 90, block: null);
        Assert.True(gate.HasMotion(frame)); // primes the background

        Paint(frame, 100, block: null); // a cloud: 10 levels darker or lighter everywhere
        frame.StreamTime = TimeSpan.FromMilliseconds(100);
        Assert.False(gate.HasMotion(frame));

        Paint(frame, 130, block: null); // the lights come on: 40 levels
        frame.StreamTime = TimeSpan.FromMilliseconds(200);
        Assert.True(gate.HasMotion(frame));
        Assert.True(gate.LastChangedFraction > 0.99);
        frame.Release();
    }

    [Fact]
    public void HasMotion_StreamTimeGoesBack_ForcesAPass()
    {
        var pool = new FramePool(Width, Height, 1);
        var gate = new MotionGate(new MotionGateOptions { ForcedInterval = TimeSpan.FromSeconds(1) });
        Assert.True(pool.TryRent(out var frame));
        Paint(frame, 90, block: null);
        frame.StreamTime = TimeSpan.FromSeconds(5);
        Assert.True(gate.HasMotion(frame));
        frame.StreamTime = TimeSpan.FromSeconds(5.5);
        Assert.False(gate.HasMotion(frame));
        frame.StreamTime = TimeSpan.Zero; // a looped file started again
        Assert.True(gate.HasMotion(frame));
        frame.Release();
    }

    [Fact]
    public void Reset_AfterAStillScene_PassesTheNextFrame()
    {
        var pool = new FramePool(Width, Height, 1);
        var gate = new MotionGate(new MotionGateOptions { ForcedInterval = Never });
        Assert.True(pool.TryRent(out var frame));
        Paint(frame, 90, block: null);
        Assert.True(gate.HasMotion(frame));
        Assert.False(gate.HasMotion(frame));
        gate.Reset();
        Assert.True(gate.HasMotion(frame));
        Assert.Equal(1, gate.LastChangedFraction);
        frame.Release();
    }

    [Fact]
    public void HasMotion_NewFrameSize_StartsOverWithoutFailing()
    {
        var gate = new MotionGate(new MotionGateOptions { ForcedInterval = Never });
        var small = new FramePool(Width, Height, 1);
        var large = new FramePool(Width * 2, Height * 2, 1);
        Assert.True(small.TryRent(out var a));
        Assert.True(large.TryRent(out var b));
        Paint(a, 90, block: null);
        Paint(b, 90, block: null);
        Assert.True(gate.HasMotion(a));
        Assert.False(gate.HasMotion(a));
        Assert.True(gate.HasMotion(b)); // a camera reconnected at another resolution
        Assert.False(gate.HasMotion(b));
    }

    [Fact]
    public void HasMotion_AfterTheFirstFrame_AllocatesNothing()
    {
        var pool = new FramePool(Width, Height, 1);
        var gate = new MotionGate(new MotionGateOptions());
        Assert.True(pool.TryRent(out var frame));
        Paint(frame, 90, block: (20, 20));
        gate.HasMotion(frame);

        var before = GC.GetAllocatedBytesForCurrentThread(); // synchronous: this thread's count is the whole story
        for (var i = 1; i <= 100; i++)
        {
            Paint(frame, 90, block: (20 + i % 50, 20));
            frame.StreamTime = TimeSpan.FromMilliseconds(i * 100);
            gate.HasMotion(frame);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        frame.Release();
    }

    [Fact]
    public async Task HasMotion_RealWalkwayFootage_SeesThePedestriansAndGatesARepeatedFrame()
    {
        var gate = new MotionGate(new MotionGateOptions { ForcedInterval = Never });
        var frames = 0;
        var moving = 0;
        Frame? still = null;
        await using (var source = new FfmpegFrameSource(
                         new FrameSourceOptions { Name = "walkway", Uri = TestAssets.SampleVideo, OutputWidth = 192, PoolCapacity = 4 },
                         TimeProvider.System, NullLoggerFactory.Instance))
        {
            await Deadline.WithinAsync(Task.Run(async () =>
            {
                while (frames < 40 && await source.ReadAsync(CancellationToken.None) is { } frame)
                {
                    if (gate.HasMotion(frame) && frames > 0) moving++;
                    if (frames == 0)
                    {
                        still = Frame.CreateDetached(frame.Width, frame.Height);
                        frame.Pixels.CopyTo(still.Pixels, 0);
                    }

                    frames++;
                    frame.Release();
                }
            }), TimeSpan.FromSeconds(30), "40 frames of the walkway");
        }

        Assert.Equal(40, frames);
        Assert.True(moving >= 35, $"only {moving} of 39 consecutive walkway frames with people walking passed the gate");

        // The same real picture over and over (a frozen camera feed): nothing passes.
        var repeat = new MotionGate(new MotionGateOptions { ForcedInterval = Never });
        Assert.NotNull(still);
        Assert.True(repeat.HasMotion(still));
        for (var i = 1; i <= 20; i++)
        {
            still.StreamTime = TimeSpan.FromMilliseconds(i * 100);
            Assert.False(repeat.HasMotion(still), $"repeat {i} of a still frame passed the gate ({repeat.LastChangedFraction:P2} changed)");
        }
    }

    /// <summary>A flat gray frame, optionally with a white 16x16 block at (x, y).</summary>
    private static void Paint(Frame frame, byte gray, (int X, int Y)? block)
    {
        frame.Span.Fill(gray);
        if (block is not { } b) return;
        for (var y = b.Y; y < b.Y + 16; y++)
        {
            frame.Span.Slice((y * frame.Width + b.X) * 3, 16 * 3).Fill(255);
        }
    }
}
