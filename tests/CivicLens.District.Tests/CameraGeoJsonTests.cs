using System.Text;
using CivicLens.District.Cameras;

namespace CivicLens.District.Tests;

public sealed class CameraGeoJsonTests
{
    private static CameraImport Geo(string json, int chunk = int.MaxValue) =>
        CameraGeoJson.Read(new ChunkedStream(Encoding.UTF8.GetBytes(json), chunk));

    private static string Collection(params string[] features) => $$"""{"type":"FeatureCollection","features":[{{string.Join(',', features)}}]}""";

    private static string Point(string properties, string coordinates = "[-1.5491, 53.8008]") =>
        """{"type":"Feature","geometry":{"type":"Point","coordinates":""" + coordinates + """},"properties":{""" + properties + "}}";

    private static ImportProblem Single(CameraImport import)
    {
        Assert.False(import.IsClean);
        return Assert.Single(import.Problems);
    }

    [Fact]
    public void Read_GoodCollection_ReturnsEveryFeatureWithItsValues()
    {
        var import = Geo(Collection(
            Point("""
                  "id":"cam-1","name":"High St","heading":90,"field_of_view":"70","range":120,"source":"https://cam.city.example/hls/live.m3u8",
                  "purpose":"traffic counting","legal_basis":"Highways Act 1980","department":"highways","retention_days":30,"site":"high-st",
                  "area":"centre","enabled":true
                  """),
            """{"type":"Feature","id":42,"geometry":{"type":"Point","coordinates":[-1.55,53.8,87.5]},"properties":{"fieldOfView":60,"legalBasis":"GDPR 6(1)(e)","retentionDays":"14d","enabled":"no"}}""",
            """{"type":"Feature","id":"cam-3","geometry":{"type":"Point","coordinates":[-1.56,53.81]},"properties":null}"""));

        Assert.True(import.IsClean, string.Join("; ", import.Problems));
        Assert.Equal(3, import.Rows.Count);
        var a = import.Rows[0];
        Assert.Equal(("cam-1", 53.8008, -1.5491, 0), (a.Id, a.Latitude, a.Longitude, a.Row));
        Assert.Equal((90.0, 70.0, 120.0, 30, true), (a.Heading, a.FieldOfView, a.Range, a.RetentionDays, a.Enabled));
        Assert.Equal(("High St", "traffic counting", "Highways Act 1980", "highways", "high-st", "centre"), (a.Name, a.Purpose, a.LegalBasis, a.Department, a.Site, a.Area));
        var b = import.Rows[1];
        Assert.Equal(("42", 53.8, -1.55, 1, 60.0, "GDPR 6(1)(e)", 14, false), (b.Id, b.Latitude, b.Longitude, b.Row, b.FieldOfView, b.LegalBasis, b.RetentionDays, b.Enabled));
        Assert.Equal(("cam-3", 2), (import.Rows[2].Id, import.Rows[2].Row));
    }

    [Fact]
    public void Read_ByteOrderMarkAndMembersInAnyOrder_AreAccepted()
    {
        var import = Geo("\uFEFF" + """{"features":[{"properties":{"id":"a"},"geometry":{"coordinates":[-1.5,53.8],"type":"Point"},"type":"Feature"}],"name":"x","type":"FeatureCollection"}""");

        Assert.True(import.IsClean, string.Join("; ", import.Problems));
        Assert.Equal("a", Assert.Single(import.Rows).Id);
    }

    [Theory]
    [InlineData("""{"type":"LineString","coordinates":[[0,1],[1,2]]}""", "geometry.type", "geometry is a LineString, not a Point: a camera stands at one point")]
    [InlineData("""{"type":"Thing"}""", "geometry.type", "geometry.type must be 'Point'")]
    [InlineData("null", "geometry", "geometry is missing: a camera needs a Point at [longitude, latitude]")]
    [InlineData("""{"type":"Point"}""", "geometry.coordinates", "geometry.coordinates is missing: expected [longitude, latitude]")]
    [InlineData("""{"type":"Point","coordinates":[-1.5]}""", "geometry.coordinates", "geometry.coordinates must be [longitude, latitude] as two numbers")]
    [InlineData("""{"type":"Point","coordinates":["-1.5","53.8"]}""", "geometry.coordinates", "geometry.coordinates must be [longitude, latitude] as two numbers")]
    [InlineData("""{"type":"Point","coordinates":[-1.5,91]}""", "geometry.coordinates", "latitude in geometry.coordinates 91 is out of range (-90 to 90 degrees)")]
    [InlineData("""{"type":"Point","coordinates":[181,53.8]}""", "geometry.coordinates", "longitude in geometry.coordinates 181 is out of range (-180 to 180 degrees)")]
    [InlineData("""{"type":"Point","coordinates":[0,0]}""", "geometry.coordinates", "geometry.coordinates is [0, 0] (Null Island, in the Gulf of Guinea): the position is probably missing")]
    public void Read_BadGeometry_NamesFeatureAndField(string geometry, string field, string message)
    {
        var good = Point("\"id\":\"ok\"");
        var bad = """{"type":"Feature","geometry":""" + geometry + ""","properties":{"id":"bad"}}""";
        var import = Geo(Collection(good, bad));

        var p = Single(import);
        Assert.Equal((1, field, message, ImportLocation.Feature), (p.Row, p.Field, p.Message, p.Location));
        Assert.StartsWith("features[1]: ", p.ToString(), StringComparison.Ordinal);
        Assert.Equal("ok", Assert.Single(import.Rows).Id);
    }

    [Fact]
    public void Read_MissingGeometryMember_IsAProblem()
    {
        var p = Single(Geo(Collection("""{"type":"Feature","properties":{"id":"a"}}""")));

        Assert.Equal((0, "geometry"), (p.Row, p.Field));
    }

    [Theory]
    [InlineData("\"heading\":\"north\"", "heading", "heading 'north' is not a number")]
    [InlineData("\"heading\":400", "heading", "heading 400 is out of range (0 to 360 degrees)")]
    [InlineData("\"fieldOfView\":true", "fieldOfView", "fieldOfView must be a number")]
    [InlineData("\"retention_days\":7.5", "retention_days", "retention_days must be a whole number of days (like 30 or \"30d\")")]
    [InlineData("\"enabled\":1", "enabled", "enabled must be true or false")]
    [InlineData("\"name\":12", "name", "name must be text")]
    [InlineData("\"source\":\"ftp://files.city.example/a.mp4\"", "source", "source is not a video stream (rtsp://, rtsps://, http(s):// or a video file)")]
    [InlineData("\"enabled\":true", "enabled", "enabled is true but purpose, legal_basis, department and retention_days are missing: a camera runs only with a purpose, a legal basis, a responsible department and a retention")]
    [InlineData("\"lat\":53.8", "lat", "lat does not belong in properties: the position is geometry.coordinates [longitude, latitude]")]
    [InlineData("\"site\":\"a\",\"Site\":\"b\"", "Site", "Site repeats site")]
    public void Read_BadProperty_NamesFeatureAndProperty(string properties, string field, string message)
    {
        var p = Single(Geo(Collection(Point("\"id\":\"a\"," + properties))));

        Assert.Equal((0, field, message), (p.Row, p.Field, p.Message));
    }

    [Fact]
    public void Read_UnknownProperty_ReportedOnceOnTheFirstFeatureWithIt()
    {
        var import = Geo(Collection(Point("\"id\":\"a\""), Point("\"id\":\"b\",\"headng\":3"), Point("\"id\":\"c\",\"headng\":4")));

        var p = Single(import);
        Assert.Equal((1, "headng"), (p.Row, p.Field));
        Assert.Contains("did you mean 'heading'?", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_DuplicateIds_NameTheFirstFeature()
    {
        var import = Geo(Collection(Point("\"id\":\"x\""), Point("\"id\":\"y\""), """{"type":"Feature","id":"x","geometry":{"type":"Point","coordinates":[-1.5,53.8]}}"""));

        var p = Single(import);
        Assert.Equal((2, "id", "duplicate id 'x' (first on features[0])"), (p.Row, p.Field, p.Message));
    }

    [Fact]
    public void Read_FeatureIdDisagreeingWithPropertiesId_IsAProblem()
    {
        var p = Single(Geo(Collection("""{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[-1.5,53.8]},"properties":{"id":"b"}}""")));

        Assert.Equal((0, "id", "the feature id and properties.id differ"), (p.Row, p.Field, p.Message));
    }

    [Theory]
    [InlineData("""{"type":"FeatureCollection","features":[""", "", "the file is not valid JSON (line 1)")]
    [InlineData("[1,2]", "", "the file is not a GeoJSON FeatureCollection (it must be a JSON object)")]
    [InlineData("""{"type":"Feature","geometry":null,"properties":{}}""", "type", "the file is a single Feature: put it in a FeatureCollection")]
    [InlineData("""{"type":"FeatureCollection"}""", "features", "features is missing: a FeatureCollection lists its cameras in 'features'")]
    [InlineData("""{"type":"FeatureCollection","features":{}}""", "features", "features must be an array of Feature objects")]
    [InlineData("""{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:27700"}},"features":[]}""", "crs", "crs must be WGS 84 longitude, latitude (urn:ogc:def:crs:OGC:1.3:CRS84 or EPSG:4326), or left out")]
    public void Read_NotAFeatureCollection_IsADocumentProblem(string json, string field, string message)
    {
        var import = Geo(json);

        Assert.Contains(import.Problems, p => p.Row == -1 && p.Location == ImportLocation.Document && p.Field == field && p.Message == message);
    }

    [Fact]
    public void Read_FeatureThatIsNotAnObject_IsAProblem()
    {
        var p = Single(Geo(Collection("1")));

        Assert.Equal((0, "", "the feature is not a GeoJSON Feature object"), (p.Row, p.Field, p.Message));
    }

    [Fact]
    public void Read_SourceWithCredentials_NeverAppearsInProblemsOrToString()
    {
        const string secret = "rtsp://admin:hunter2@10.0.0.5:554/live";
        var import = Geo(Collection(
            Point($"\"id\":\"a\",\"source\":\"{secret}\""),
            Point($"\"id\":\"b\",\"source\":\"{secret}\",\"heading\":\"{secret}\",\"{secret}\":1,\"enabled\":true"),
            Point($"\"id\":\"c\",\"source\":\"ftp://admin:hunter2@10.0.0.5/a.mp4\"")));

        Assert.Equal(secret, import.Rows[0].Source);
        Assert.True(import.Problems.Count >= 4);
        CameraCsvTests.AssertNoSecret(import);
    }

    [Fact]
    public void Read_ManyFeaturesThroughTinyReads_StreamsEveryOne()
    {
        // Reads of 7 bytes cross every token boundary; one feature carries a foreign member larger than the buffer.
        var features = Enumerable.Range(0, 2000).Select(i => Point($"\"id\":\"cam-{i}\",\"heading\":{i % 360}", $"[-1.{i:D4}, 53.{i:D4}]")).ToList();
        features[1000] = features[1000].Insert(1, $"\"bbox_note\":\"{new string('x', 200_000)}\",");

        var import = Geo(Collection([.. features]), chunk: 7);

        Assert.True(import.IsClean, string.Join("; ", import.Problems.Take(3)));
        Assert.Equal(2000, import.Rows.Count);
        Assert.Equal(("cam-1999", 1999, 199.0), (import.Rows[^1].Id, import.Rows[^1].Row, import.Rows[^1].Heading));
    }

    /// <summary>A stream that hands out at most <c>chunk</c> bytes per read, as a network stream may.</summary>
    private sealed class ChunkedStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);
    }
}
