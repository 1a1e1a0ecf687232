using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using ObjectDetection = CivicLens.Domain.Detection.Detection;

namespace CivicLens.Domain.Tests.Tracking;

public class ClassGroupTests
{
    private const int Car = 2, Bus = 5, Truck = 7, Person = 0;

    // A parked van that the detector names "truck" and "bus" in turn, as NanoDet does on the sample footage.
    private static List<TrackedObject> Run(TrackerOptions options, Func<int, int> classAt, int frames = 40)
    {
        var tracker = new ObjectTracker(options);
        var output = new List<TrackedObject>();
        var all = new List<TrackedObject>();
        for (var i = 0; i < frames; i++)
        {
            ObjectDetection[] dets = [new(new BoxF(650, 44, 70, 53), classAt(i), 0.6f)];
            tracker.Update(dets, TimeSpan.FromSeconds(i * 0.1), output);
            all.AddRange(output);
        }

        return all;
    }

    private static int[] VehicleGroups()
    {
        var groups = Enumerable.Range(0, 80).ToArray();
        groups[Bus] = Car;
        groups[Truck] = Car;
        return groups;
    }

    [Fact]
    public void Update_LabelFlipsWithinGroup_KeepsOneTrack()
    {
        var seen = Run(new TrackerOptions { ClassGroups = VehicleGroups() }, i => i % 3 == 0 ? Bus : Truck);
        Assert.Single(seen.Select(t => t.TrackId).Distinct());
        // Hysteresis: equal scores never flip the label, so it stays what the first detection said.
        Assert.All(seen, t => Assert.Equal(Bus, t.ClassId));
    }

    [Fact]
    public void Update_LabelFlipsWithoutGroups_SplitsTracks()
    {
        var seen = Run(new TrackerOptions(), i => i % 10 < 5 ? Bus : Truck);
        Assert.True(seen.Select(t => t.TrackId).Distinct().Count() > 1);
    }

    [Fact]
    public void Update_PersonOverVehicleGroup_NeverSharesTrack()
    {
        var seen = Run(new TrackerOptions { ClassGroups = VehicleGroups() }, i => i < 20 ? Truck : Person);
        var ids = seen.GroupBy(t => t.TrackId).ToList();
        Assert.True(ids.Count >= 2);
        Assert.All(ids, g => Assert.Single(g.Select(t => t.ClassId == Person).Distinct()));
    }
}
