using CivicLens.Media.Tests.Support;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace CivicLens.Media.Tests;

/// <summary>Process-wide allocation counts only mean something with no other test running.</summary>
[CollectionDefinition(nameof(SerialAllocationTests), DisableParallelization = true)]
public sealed class SerialAllocationTests;

/// <summary>The frame path allocates nothing per frame: buffers come from the pool and go back to it.</summary>
[Collection(nameof(SerialAllocationTests))]
public sealed class FfmpegFrameSourceAllocationTests
{
    private readonly ITestOutputHelper _output;

    public FfmpegFrameSourceAllocationTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task ReadAsync_AfterWarmUp_AllocatesFarLessThanAFramePerFrame()
    {
        await using var source = new FfmpegFrameSource(
            new FrameSourceOptions { Name = "walkway", Uri = TestAssets.SampleVideo, PoolCapacity = 4 }, TimeProvider.System, NullLoggerFactory.Instance);
        const int WarmUp = 20, Measured = 100;
        var frameBytes = 0L;

        var perFrame = await Deadline.WithinAsync(Task.Run(async () =>
        {
            for (var i = 0; i < WarmUp; i++)
            {
                var frame = await source.ReadAsync(CancellationToken.None);
                Assert.NotNull(frame);
                frameBytes = frame.Pixels.Length;
                frame.Release();
            }

            // Async continuations hop threads, so count every thread's allocations, not just this one's.
            var before = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < Measured; i++)
            {
                var frame = await source.ReadAsync(CancellationToken.None);
                Assert.NotNull(frame);
                frame.Release();
            }

            return (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)Measured;
        }), TimeSpan.FromSeconds(60), $"{WarmUp + Measured} full-size frames");

        _output.WriteLine($"{perFrame:0} bytes allocated per {frameBytes}-byte frame over {Measured} frames");
        Assert.Equal(768 * 576 * 3, frameBytes);
        // Not zero: about 0.5 KB of async state per frame (the source's, Stream.ReadAtLeastAsync's and the runtime's pipe
        // read's), plus ~150 B for each 64 KB pipe read that has to wait for ffmpeg, so 1-3.5 KB measured for a 1.3 MB
        // frame depending on who is ahead. A buffer allocated per frame, or per row, is far above this bound.
        Assert.True(perFrame < 8192, $"{perFrame:0} bytes allocated per {frameBytes}-byte frame: buffers are not being reused");
    }
}
