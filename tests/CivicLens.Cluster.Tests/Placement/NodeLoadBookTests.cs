using System.Net;
using CivicLens.Cluster.Placement;
using Orleans.Runtime;

namespace CivicLens.Cluster.Tests.Placement;

public sealed class NodeLoadBookTests
{
    private static readonly SiloAddress Hub = Silo(1);
    private static readonly SiloAddress N1 = Silo(2);
    private static readonly SiloAddress N2 = Silo(3);

    private static SiloAddress Silo(int port) => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11110 + port), 1);

    private static NodeLoadBook Book(int capacity1 = 2, int capacity2 = 4) => new(s =>
        s.Equals(Hub) ? new Dictionary<string, string> { [ClusterRoles.RoleKey] = ClusterRoles.Hub, [ClusterRoles.NameKey] = "hub-a" }
        : s.Equals(N1) ? new Dictionary<string, string> { [ClusterRoles.RoleKey] = ClusterRoles.Node, [ClusterRoles.NameKey] = "n1", [ClusterRoles.CapacityKey] = capacity1.ToString(System.Globalization.CultureInfo.InvariantCulture) }
        : s.Equals(N2) ? new Dictionary<string, string> { [ClusterRoles.RoleKey] = ClusterRoles.Node, [ClusterRoles.NameKey] = "n2", [ClusterRoles.CapacityKey] = capacity2.ToString(System.Globalization.CultureInfo.InvariantCulture) }
        : new Dictionary<string, string>());

    [Fact]
    public void Cameras_go_to_nodes_only_by_room_relative_to_capacity_and_never_beyond_it()
    {
        var book = Book();
        var silos = new[] { Hub, N1, N2 };
        var placed = Enumerable.Range(0, 6).Select(i => book.Place($"cam-{i}", silos)).ToList();
        Assert.DoesNotContain(Hub, placed);
        Assert.Equal(2, book.Count(N1));
        Assert.Equal(4, book.Count(N2));
        var full = Assert.Throws<NoNodeRoomException>(() => book.Place("cam-6", silos));
        Assert.Contains("all 2 worker nodes are full", full.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Placing_a_camera_again_moves_it_rather_than_counting_it_twice()
    {
        var book = Book(capacity1: 1, capacity2: 1);
        var first = book.Place("cam", [N1, N2]);
        var second = book.Place("cam", [N1, N2]);
        Assert.Equal(first, second);
        Assert.Equal(1, book.Count(first));
    }

    [Fact]
    public void A_closed_node_takes_nothing_more_and_hands_back_its_cameras()
    {
        var book = Book(capacity1: 5, capacity2: 5);
        book.Assign("a", N1);
        book.Assign("b", N1);
        var moved = book.Close(N1);
        Assert.Equal(["a", "b"], moved.Order(StringComparer.Ordinal));
        Assert.Equal(N2, book.Place("a", [N1, N2]));
        Assert.Equal("n1", book.Describe(N1).Name);
    }

    [Fact]
    public void No_node_at_all_says_so() =>
        Assert.Contains("no worker node has joined", Assert.Throws<NoNodeRoomException>(() => Book().Place("cam", [Hub])).Message, StringComparison.Ordinal);

    [Fact]
    public void A_node_that_gave_cameras_back_takes_no_more_than_its_limit()
    {
        var book = Book(capacity1: 4, capacity2: 4);
        foreach (var i in Enumerable.Range(0, 3)) book.Place($"cam-{i}", [N1]);
        book.Limit(N1, 2);
        Assert.Equal(2, book.Describe(N1).Capacity);
        // Full at its limit: the next camera goes to n2 even though n1 stated room for four.
        Assert.Equal(N2, book.Place("cam-9", [N1, N2]));
        // A limit never raises what a node stated.
        book.Limit(N2, 10);
        Assert.Equal(4, book.Describe(N2).Capacity);
    }
}
