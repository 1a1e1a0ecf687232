using CivicLens.Domain.Frames;

namespace CivicLens.Domain.Tests.Frames;

public sealed class FramePoolTests
{
    [Fact]
    public void TryRent_PoolExhausted_FailsInsteadOfAllocating()
    {
        var pool = new FramePool(4, 2, 2);
        Assert.True(pool.TryRent(out var a));
        Assert.True(pool.TryRent(out var b));
        Assert.False(pool.TryRent(out _));
        Assert.Equal(0, pool.Available);
        Assert.NotSame(a, b);
        Assert.Equal((4, 2, 12, 24), (a.Width, a.Height, a.Stride, a.Pixels.Length));
        Assert.Equal(24, pool.FrameBytes);
    }

    [Fact]
    public void Release_LastHolder_ReturnsTheSameBufferToThePool()
    {
        var pool = new FramePool(4, 2, 1);
        Assert.True(pool.TryRent(out var frame));
        frame.AddReference(); // e.g. a snapshot writer keeps it
        frame.Release();
        Assert.Equal(0, pool.Available);
        frame.Release();
        Assert.Equal(1, pool.Available);
        Assert.True(pool.TryRent(out var again));
        Assert.Same(frame, again);
    }

    [Fact]
    public void Release_MoreOftenThanAcquired_Throws()
    {
        var pool = new FramePool(4, 2, 1);
        Assert.True(pool.TryRent(out var frame));
        frame.Release();
        var ex = Assert.Throws<InvalidOperationException>(frame.Release);
        Assert.Contains("released more often than it was acquired", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 2, 1, "width")]
    [InlineData(4, 0, 1, "height")]
    [InlineData(4, 2, 0, "capacity")]
    public void Constructor_NonPositiveSize_ThrowsNamingTheArgument(int width, int height, int capacity, string name)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new FramePool(width, height, capacity));
        Assert.Equal(name, ex.ParamName);
    }

    [Fact]
    public void CreateDetached_BelongsToNoPool_AndHoldsRgb24()
    {
        var frame = Frame.CreateDetached(3, 3);
        Assert.Equal(27, frame.Span.Length);
        frame.AddReference();
        frame.Release(); // no pool to return to: nothing happens
    }
}
