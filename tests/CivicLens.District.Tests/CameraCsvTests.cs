using System.Text;
using CivicLens.District.Cameras;

namespace CivicLens.District.Tests;

public sealed class CameraCsvTests
{
    private const string Header = "id,name,latitude,longitude,heading,field_of_view,range,source,purpose,legal_basis,department,retention_days,site,area,enabled";
    private const string Secret = "rtsp://admin:hunter2@10.0.0.5:554/live";

    private static CameraImport Csv(string text) => CameraCsv.Read(new StringReader(text));

    private static ImportProblem Single(CameraImport import)
    {
        Assert.False(import.IsClean);
        return Assert.Single(import.Problems);
    }

    [Fact]
    public void Read_GoodFile_ReturnsEveryRowWithItsValues()
    {
        var import = Csv(Header + "\n"
            + "cam-1,High St north,53.8008,-1.5491,90,70,120,rtsp://cam1.city.example/live,traffic counting,Highways Act 1980 s.72,highways,30,high-st,centre,true\n"
            + "cam.2,,53.8,-1.55,,,,,,,,,,,\n");

        Assert.True(import.IsClean, string.Join("; ", import.Problems));
        Assert.Equal(2, import.Rows.Count);
        var a = import.Rows[0];
        Assert.Equal(("cam-1", "High St north", 53.8008, -1.5491, 2), (a.Id, a.Name, a.Latitude, a.Longitude, a.Row));
        Assert.Equal((90.0, 70.0, 120.0), (a.Heading, a.FieldOfView, a.Range));
        Assert.Equal("rtsp://cam1.city.example/live", a.Source);
        Assert.Equal(("traffic counting", "Highways Act 1980 s.72", "highways", 30), (a.Purpose, a.LegalBasis, a.Department, a.RetentionDays));
        Assert.Equal(("high-st", "centre", true), (a.Site, a.Area, a.Enabled));

        var b = import.Rows[1];
        Assert.Equal(("cam.2", 3), (b.Id, b.Row));
        Assert.Null(b.Name);
        Assert.Null(b.Heading);
        Assert.Null(b.Source);
        Assert.Null(b.Purpose);
        Assert.Null(b.RetentionDays);
        Assert.Null(b.Enabled);
    }

    [Fact]
    public void Read_ColumnAliasesCaseAndOrder_AreAccepted()
    {
        var import = Csv("Legal Basis,LNG,Lat,ID,Field-Of-View,Retention,Enabled\n\"GDPR 6(1)(e)\",-1.5,53.8,a1,60,30d,NO\n");

        var row = Assert.Single(import.Rows);
        Assert.True(import.IsClean);
        Assert.Equal(("a1", 53.8, -1.5, 60.0, 30, false), (row.Id, row.Latitude, row.Longitude, row.FieldOfView, row.RetentionDays, row.Enabled));
        Assert.Equal("GDPR 6(1)(e)", row.LegalBasis);
    }

    [Fact]
    public void Read_QuotedFieldsWithCommasQuotesAndNewlines_AreUnescapedAndRowsKeepTheirLines()
    {
        var import = Csv("id,name,latitude,longitude,purpose\n"
            + "a,\"Market St, east\",53.8,-1.5,\"Counts \"\"buses\"\"\nand bikes\"\n"
            + "b,\"\",53.8,-1.5,\"\"\"quoted\"\"\"\n");

        Assert.True(import.IsClean, string.Join("; ", import.Problems));
        Assert.Equal("Market St, east", import.Rows[0].Name);
        Assert.Equal("Counts \"buses\"\nand bikes", import.Rows[0].Purpose);
        Assert.Equal(2, import.Rows[0].Row);
        Assert.Null(import.Rows[1].Name);
        Assert.Equal("\"quoted\"", import.Rows[1].Purpose);
        Assert.Equal(4, import.Rows[1].Row);
    }

    [Fact]
    public void Read_LineBreakInName_NamesRowAndField()
    {
        var p = Single(Csv("id,name,latitude,longitude\na,\"two\nlines\",53.8,-1.5\n"));

        Assert.Equal((2, "name"), (p.Row, p.Field));
        Assert.Contains("line break", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ByteOrderMark_IsSkippedFromTextAndStream()
    {
        const string text = "id,latitude,longitude\r\na,53.8,-1.5\r\n";
        Assert.True(Csv("\uFEFF" + text).IsClean);
        Assert.True(Csv("\uFEFF\"id\",latitude,longitude\na,53.8,-1.5\n").IsClean);

        using var stream = new MemoryStream([.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(text)]);
        var import = CameraCsv.Read(stream);
        Assert.True(import.IsClean, string.Join("; ", import.Problems));
        Assert.Equal("a", Assert.Single(import.Rows).Id);
    }

    [Fact]
    public void Read_CrLfCrAndBlankLines_RowIsThePhysicalLine()
    {
        var import = Csv("id,latitude,longitude\r\n\r\na,53.8,-1.5\rb,53.8,-1.5\n\nc,53.8,-1.5");

        Assert.True(import.IsClean, string.Join("; ", import.Problems));
        Assert.Equal([3, 4, 6], import.Rows.Select(r => r.Row));
    }

    [Fact]
    public void Read_RowWithWrongFieldCount_NamesTheRowAndKeepsTheOthers()
    {
        var import = Csv("id,latitude,longitude\na,53.8,-1.5\nb,53.8\nc,53.8,-1.5,extra\nd,53.8,-1.5\n");

        Assert.False(import.IsClean);
        Assert.Equal([(3, "the row has 2 fields but the header has 3"), (4, "the row has 4 fields but the header has 3")],
            import.Problems.Select(p => (p.Row, p.Message)));
        Assert.All(import.Problems, p => Assert.Equal("", p.Field));
        Assert.Equal(["a", "d"], import.Rows.Select(r => r.Id));
    }

    [Fact]
    public void Read_QuoteNeverClosed_NamesTheRowItStartsOn()
    {
        var p = Single(Csv("id,name,latitude,longitude\na,ok,53.8,-1.5\nb,\"open,53.8,-1.5\nc,x,53.8,-1.5\n"));

        Assert.Equal(3, p.Row);
        Assert.Contains("not closed", p.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a,\"x\"y,53.8,-1.5", "text after the closing quote")]
    [InlineData("a,x\"y,53.8,-1.5", "quote inside an unquoted field")]
    public void Read_MalformedQuotes_AreProblemsOfTheRow(string line, string expected)
    {
        var p = Single(Csv("id,name,latitude,longitude\n" + line + "\n"));

        Assert.Equal((2, ""), (p.Row, p.Field));
        Assert.Contains(expected, p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_DuplicateIds_LaterOccurrencesNameTheFirstRow()
    {
        var import = Csv("id,latitude,longitude\nx,53.8,-1.5\ny,53.8,-1.5\nx,53.7,-1.5\nX,53.6,-1.5\n");

        Assert.Equal([(4, "id", "duplicate id 'x' (first on row 2)"), (5, "id", "duplicate id 'X' (first on row 2 as 'x')")],
            import.Problems.Select(p => (p.Row, p.Field, p.Message)));
        Assert.Equal(["x", "y"], import.Rows.Select(r => r.Id));
    }

    [Fact]
    public void Read_UnknownColumn_ReportedOnceAgainstRowOneWithASuggestion()
    {
        var import = Csv("id,lattitude,latitude,longitude,colour\na,1,53.8,-1.5,red\nb,2,53.8,-1.5,blue\n");

        Assert.Equal(2, import.Problems.Count);
        Assert.All(import.Problems, p => Assert.Equal(1, p.Row));
        Assert.Equal(["lattitude", "colour"], import.Problems.Select(p => p.Field));
        Assert.Contains("did you mean 'latitude'?", import.Problems[0].Message, StringComparison.Ordinal);
        Assert.DoesNotContain("did you mean", import.Problems[1].Message, StringComparison.Ordinal);
        Assert.Equal(2, import.Rows.Count);
    }

    [Fact]
    public void Read_ColumnTwiceUnderTwoNames_IsAProblem()
    {
        var p = Single(Csv("id,lat,latitude,longitude\na,53.8,53.8,-1.5\n"));

        Assert.Equal((1, "latitude"), (p.Row, p.Field));
        Assert.Contains("repeats column 'lat'", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_RequiredColumnMissing_IsReportedAndNoRowIsRead()
    {
        var import = Csv("id,name,longitude\na,b,-1.5\n");

        var p = Assert.Single(import.Problems);
        Assert.Equal((1, "latitude", "the required column 'latitude' is missing"), (p.Row, p.Field, p.Message));
        Assert.Empty(import.Rows);
    }

    [Fact]
    public void Read_EmptyFile_AsksForAHeader()
    {
        var p = Single(Csv(""));

        Assert.Equal(1, p.Row);
        Assert.Contains("empty", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_FileWithoutHeaderRow_NeverEchoesTheSourceAsAColumnName()
    {
        var import = Csv($"cam1,53.8,-1.5,{Secret}\ncam2,53.8,-1.5,{Secret}\n");

        Assert.False(import.IsClean);
        Assert.Contains(import.Problems, p => p.Field == "column 4");
        AssertNoSecret(import);
    }

    [Theory]
    [InlineData("ftp://files.city.example/cam.mp4")]
    [InlineData("mailto:cctv@city.example")]
    [InlineData("/srv/stills/cam.jpg")]
    [InlineData("camera")]
    [InlineData("http://cam.city.example/index.html")]
    [InlineData("https://cam.city.example/snapshot.jpg")]
    [InlineData("http://cam.city.example/still.png")]
    [InlineData("srt://cam.city.example:9000")]
    [InlineData("rtsp:///live")]
    [InlineData("videos/cam.mp4")]
    public void Read_SourceThatIsNotAStream_NamesRowFieldAndReason(string source)
    {
        var p = Single(Csv($"id,latitude,longitude,source\na,53.8,-1.5,{source}\n"));

        Assert.Equal((2, "source"), (p.Row, p.Field));
        Assert.Equal("source is not a video stream (rtsp://, rtsps://, http(s):// or a video file)", p.Message);
        Assert.DoesNotContain(source, p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_SourceWithCredentials_NeverAppearsInProblemsOrToString()
    {
        var import = Csv($"id,latitude,longitude,heading,source,purpose,enabled\n"
            + $"ok,53.8,-1.5,10,{Secret},counting,\n"
            + $"bad,95,-1.5,400,{Secret},,true\n"
            + $"ok,53.8,-1.5,10,{Secret},counting,\n"
            + $"short,53.8,{Secret}\n"
            + $"shifted,53.8,{Secret},1,2,3,4\n"
            + $"html,53.8,-1.5,1,https://admin:hunter2@cam/page.html,,\n");

        Assert.Equal(Secret, import.Rows[0].Source);
        Assert.DoesNotContain("hunter2", import.Rows[0].ToString(), StringComparison.Ordinal);
        Assert.Contains("Source = (hidden)", import.Rows[0].ToString(), StringComparison.Ordinal);
        Assert.True(import.Problems.Count >= 6);
        AssertNoSecret(import);
    }

    [Fact]
    public void Read_EnabledWithoutPurpose_IsRefusedOnTheEnabledField()
    {
        var import = Csv("id,latitude,longitude,purpose,legal_basis,department,retention_days,enabled\n"
            + "a,53.8,-1.5,,GDPR 6(1)(e),highways,30,true\n"
            + "b,53.8,-1.5,,,,,\n"
            + "c,53.8,-1.5,,,,,false\n"
            + "d,53.8,-1.5,counting,,,,yes\n"
            + "e,53.8,-1.5,counting,GDPR 6(1)(e),highways,30d,on\n");

        Assert.Equal([(2, "enabled"), (5, "enabled")], import.Problems.Select(p => (p.Row, p.Field)));
        Assert.Equal("enabled is true but purpose is missing: a camera runs only with a purpose, a legal basis, a responsible department and a retention", import.Problems[0].Message);
        Assert.Contains("legal_basis, department and retention_days are missing", import.Problems[1].Message, StringComparison.Ordinal);
        Assert.Equal(["b", "c", "e"], import.Rows.Select(r => r.Id));
    }

    [Theory]
    [InlineData("latitude", "90.5", "latitude 90.5 is out of range (-90 to 90 degrees)")]
    [InlineData("longitude", "-180.01", "longitude -180.01 is out of range (-180 to 180 degrees)")]
    [InlineData("latitude", "NaN", "latitude is not a finite number")]
    [InlineData("heading", "361", "heading 361 is out of range (0 to 360 degrees)")]
    [InlineData("field_of_view", "0.5", "field_of_view 0.5 is out of range (1 to 360 degrees)")]
    [InlineData("range", "10001", "range 10001 is out of range (1 to 10000 metres)")]
    [InlineData("retention_days", "0", "retention_days 0 is out of range (1 to 3650 days)")]
    [InlineData("retention_days", "3651d", "retention_days 3651 is out of range (1 to 3650 days)")]
    [InlineData("retention_days", "a month", "retention_days 'a month' is not a whole number of days (like 30 or 30d)")]
    [InlineData("heading", "north", "heading 'north' is not a number")]
    [InlineData("latitude", "\"53,8\"", "latitude '53,8' is not a number (use a point for decimals, like 51.5)")]
    [InlineData("enabled", "maybe", "enabled 'maybe' is not true or false (yes/no, 1/0 and on/off are accepted too)")]
    [InlineData("id", "-leading-dash", "id must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit")]
    [InlineData("id", "", "id is required")]
    [InlineData("name", "tab\there", "name contains a control character")]
    [InlineData("area", "\u202Eevil", "area contains a text-direction override")]
    public void Read_BadValue_NamesRowFieldAndReason(string column, string value, string message)
    {
        var values = new Dictionary<string, string> { ["id"] = "cam", ["latitude"] = "53.8", ["longitude"] = "-1.5" };
        values[column] = value;
        var header = string.Join(',', values.Keys);
        var p = Single(Csv(header + "\n" + string.Join(',', values.Values) + "\n"));

        Assert.Equal((2, column, message), (p.Row, p.Field, p.Message));
    }

    [Fact]
    public void Read_ProblemUsesTheColumnNameAsWritten()
    {
        var p = Single(Csv("ID,Lat,Lng\na,91,-1.5\n"));

        Assert.Equal((2, "Lat", "Lat 91 is out of range (-90 to 90 degrees)"), (p.Row, p.Field, p.Message));
    }

    [Fact]
    public void Read_NullIsland_IsRefused()
    {
        var p = Single(Csv("id,latitude,longitude\na,0,0\nb,0,-1.5\n"));

        Assert.Equal((2, "latitude"), (p.Row, p.Field));
        Assert.Contains("Null Island", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TextLongerThanLimit_IsRefused()
    {
        var p = Single(Csv($"id,latitude,longitude,purpose\na,53.8,-1.5,{new string('x', 501)}\n"));

        Assert.Equal((2, "purpose", "purpose is 501 characters long (at most 500)"), (p.Row, p.Field, p.Message));
    }

    [Fact]
    public void Read_EveryProblemOfARow_IsReported()
    {
        var import = Csv("id,latitude,longitude,heading,retention_days\n!,95,,abc,0\n");

        Assert.Equal(["id", "latitude", "longitude", "heading", "retention_days"], import.Problems.Select(p => p.Field));
        Assert.All(import.Problems, p => Assert.Equal(2, p.Row));
        Assert.Empty(import.Rows);
    }

    [Fact]
    public void ImportProblem_ToString_LeadsWithTheRow()
    {
        var p = Single(Csv("id,latitude,longitude\na,91,-1.5\n"));

        Assert.Equal("row 2: latitude 91 is out of range (-90 to 90 degrees)", p.ToString());
    }

    internal static void AssertNoSecret(CameraImport import)
    {
        foreach (var p in import.Problems)
        {
            Assert.DoesNotContain("hunter2", p.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", p.Field, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", p.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("10.0.0.5", p.Message, StringComparison.Ordinal);
        }

        foreach (var r in import.Rows) Assert.DoesNotContain("hunter2", r.ToString(), StringComparison.Ordinal);
    }
}
