using CivicLens.Domain.Tracking;
using static CivicLens.Domain.Tests.Tracking.Scene;
using ObjectDetection = CivicLens.Domain.Detection.Detection;

namespace CivicLens.Domain.Tests.Tracking;

public sealed class ObjectTrackerAllocationTests
{
    [Fact]
    public void Update_SteadyStateWithTwentyObjects_AllocatesNothing()
    {
        // 20 objects on a grid, moving; every 25 frames one leaves and another enters, so tracks are lost,
        // removed and started (from the pool) during the measured run too. Some scores are low.
        var tracker = new ObjectTracker();
        var detections = new ObjectDetection[20];
        var output = new List<TrackedObject>(64);
        var frame = 0;
        int started = 0, ended = 0;

        void Run(int frames)
        {
            for (var end = frame + frames; frame < end; frame++)
            {
                var t = frame / 10.0;
                var epoch = frame / 25;
                for (var i = 0; i < detections.Length; i++)
                {
                    // Object slot (epoch % 20) is replaced by a new object at another place each epoch.
                    var shift = i == epoch % 20 ? (epoch % 2) * 70 : 0;
                    var box = Box(60 + 70 * (i % 5) + 20 * Math.Sin(t), 80 + 120 * (i / 5) + shift, 30, 60);
                    detections[i] = Det(box, i % 7 == 0 ? 0.3f : 0.85f, i % 3 == 0 ? Car : Person);
                }

                tracker.Update(detections, Seconds(t), output);
                foreach (var o in output)
                {
                    if (o.State == TrackState.New) started++;
                    else if (o.State == TrackState.Removed) ended++;
                }
            }
        }

        Run(300);
        started = ended = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        Run(1000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 1024, $"1000 updates allocated {allocated} bytes");
        Assert.InRange(tracker.Tracks.Count, 17, 40);
        Assert.True(started >= 20 && ended >= 20, $"the run should start and end tracks: {started} started, {ended} ended");
    }
}
