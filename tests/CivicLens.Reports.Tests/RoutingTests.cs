using CivicLens.Reports.Cases;
using CivicLens.Reports.Geo;
using CivicLens.Reports.Routing;
using CivicLens.Rules.Configuration;
using CivicLens.TestSupport;

namespace CivicLens.Reports.Tests;

/// <summary>Routing, SLAs, duplicates and area lookup over the sample district's real configuration file.</summary>
public sealed class RoutingTests
{
    private static readonly CivicLensConfig Sample = ConfigLoader.LoadFile(Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"));

    // A Wednesday, in and out of working hours (Europe/London, GMT in November).
    private static readonly DateTimeOffset WorkingHours = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Night = new(2026, 11, 25, 23, 30, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("waste", "campus", "sanitation", "owns waste district-wide")]
    [InlineData("waste", "riverside", "sanitation-riverside", "owns waste in riverside")]
    [InlineData("illegal-parking", "riverside", "parking", "district-wide")]
    [InlineData("graffiti", "campus", "public-space", "district-wide")]
    public void Route_CategoryTimesArea_PrefersTheDepartmentNamingTheArea(string category, string area, string department, string reason)
    {
        var route = new Router(Sample).Route(category, area, WorkingHours);
        Assert.Equal(department, route.Department);
        Assert.Contains(reason, route.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Route_OutsideWorkingHours_GoesToTheAfterHoursDepartment_AndBackInHours()
    {
        var router = new Router(Sample);
        var night = router.Route("works-safety", "campus", Night);
        Assert.Equal("public-space", night.Department);
        Assert.Equal("works-safety", night.Owner);
        Assert.Contains("outside works-safety's hours", night.Reason, StringComparison.Ordinal);
        Assert.Equal("works-safety", router.Route("works-safety", "campus", WorkingHours).Department);
        var saturday = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
        Assert.Equal("public-space", router.Route("works-safety", "campus", saturday).Department);
    }

    [Fact]
    public void OwnerOf_IsTheOwnerWhateverTheHour_AndNullWhenNobodyTakesIt()
    {
        var router = new Router(Sample);
        // At night works-safety's cases go to public-space, but the problem stays works-safety's (the map's filter).
        Assert.Equal("public-space", router.Route("works-safety", "campus", Night).Department);
        Assert.Equal("works-safety", router.OwnerOf("works-safety", "campus"));
        Assert.Equal("sanitation-riverside", router.OwnerOf("waste", "riverside"));
        Assert.Equal("public-space", router.OwnerOf("potholes", "campus"));
        Assert.Null(new Router(Sample with { Routing = new RoutingConfig() }).OwnerOf("potholes", "campus"));
    }

    [Fact]
    public void Route_UnownedCategory_TakesTheFallback_AndWithoutOneIsARoutingError()
    {
        var route = new Router(Sample).Route("potholes", "campus", WorkingHours);
        Assert.Equal("public-space", route.Department);
        Assert.Contains("no department owns potholes: fallback public-space", route.Reason, StringComparison.Ordinal);
        var bare = Sample with { Routing = new RoutingConfig() };
        var ex = Assert.Throws<RoutingException>(() => new Router(bare).Route("potholes", "campus", WorkingHours));
        Assert.Contains("no routing fallback", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EscalationOf_UsesEscalateTo_ThenTheFallback_NeverItself()
    {
        var router = new Router(Sample);
        Assert.Equal("sanitation", router.EscalationOf("sanitation-riverside"));
        Assert.Equal("public-space", router.EscalationOf("parking"));
        Assert.Null(router.EscalationOf("public-space"));
    }

    [Fact]
    public void AreaLocator_FindsTheArea_TheDistrictOutsideAreas_AndNothingOutside()
    {
        var locator = new AreaLocator(Sample);
        Assert.Equal("campus", locator.Locate(new GeoPoint(-1.5495, 53.8008)));
        Assert.Equal("riverside", locator.Locate(new GeoPoint(-1.5420, 53.8000)));
        Assert.Null(locator.Locate(new GeoPoint(-0.1276, 51.5072)));
        Assert.False(GeoMath.IsValid(91, 0));
        Assert.False(GeoMath.IsValid(double.NaN, 0));
    }

    [Fact]
    public void Distance_IsTheGreatCircle()
    {
        // One thousandth of a degree of latitude is about 111 m anywhere.
        Assert.InRange(GeoMath.Distance(new GeoPoint(-1.55, 53.80), new GeoPoint(-1.55, 53.801)), 110.5, 111.8);
        // Leeds to London, about 272 km.
        Assert.InRange(GeoMath.Distance(new GeoPoint(-1.5491, 53.8008), new GeoPoint(-0.1276, 51.5072)) / 1000, 268, 276);
    }

    [Fact]
    public void Sla_FromTheCategory_AndBreachesInOrder()
    {
        var waste = Sample.Categories.Single(c => c.Id == "waste");
        var (ack, fix) = Sla.For(waste, WorkingHours);
        Assert.Equal(WorkingHours.AddHours(4), ack);
        Assert.Equal(WorkingHours.AddHours(48), fix);
        Assert.Null(Sla.Breach(CaseStates.Open, WorkingHours.AddHours(1), ack, fix));
        Assert.Equal("acknowledge", Sla.Breach(CaseStates.Open, WorkingHours.AddHours(5), ack, fix));
        Assert.Null(Sla.Breach(CaseStates.Acknowledged, WorkingHours.AddHours(5), ack, fix));
        Assert.Equal("fix", Sla.Breach(CaseStates.InProgress, WorkingHours.AddHours(49), ack, fix));
        Assert.Null(Sla.Breach(CaseStates.Fixed, WorkingHours.AddHours(49), ack, fix));
    }

    [Fact]
    public void Duplicates_SameCategoryNearAndRecent_NearestFirst()
    {
        var waste = Sample.Categories.Single(c => c.Id == "waste");
        var here = new GeoPoint(-1.5495, 53.8008);
        CaseCandidate At(long id, string category, double dLat, double hoursAgo) =>
            new(id, category, new GeoPoint(here.Longitude, here.Latitude + dLat), WorkingHours.AddHours(-hoursAgo));
        var found = DuplicateFinder.Find(waste, here, WorkingHours,
        [
            At(1, "waste", 0.0003, 1),   // ~33 m
            At(2, "waste", 0.0001, 2),   // ~11 m
            At(3, "graffiti", 0.0, 1),   // other category
            At(4, "waste", 0.001, 1),    // ~111 m: too far
            At(5, "waste", 0.0, 100),    // too old (window 72 h)
            new(6, "waste", null, WorkingHours),
        ]);
        Assert.Equal([2L, 1L], found.Select(f => f.Case.CaseId));
        Assert.InRange(found[0].Metres, 10, 12);
    }

    [Fact]
    public void Config_CategoriesMustCoverDepartmentsAndRules_AndReferencesAreChecked()
    {
        var yaml = File.ReadAllText(Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"))
            .Replace("  - id: graffiti\n    name: Illegal posters or graffiti", "  - id: graffitti\n    name: Illegal posters or graffiti", StringComparison.Ordinal)
            .Replace("escalate_to: sanitation\n", "escalate_to: nobody\n", StringComparison.Ordinal)
            .Replace("  fallback: public-space", "  fallback: public-spaces", StringComparison.Ordinal);
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "district.yaml"));
        var text = ex.Message;
        Assert.Contains("category 'graffiti' is used by a department or a rule but not listed", text, StringComparison.Ordinal);
        Assert.Contains("escalate_to: unknown department 'nobody'", text, StringComparison.Ordinal);
        Assert.Contains("unknown department 'public-spaces'", text, StringComparison.Ordinal);
    }
}
