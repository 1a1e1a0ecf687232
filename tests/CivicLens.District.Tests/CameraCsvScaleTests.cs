using System.Globalization;
using CivicLens.District.Cameras;

namespace CivicLens.District.Tests;

/// <summary>A city's whole registry in one file: 290,000 rows, generated as they are read and parsed in one pass.</summary>
public sealed class CameraCsvScaleTests
{
    private const int Rows = 290_000;

    [Fact]
    public void Read_290000Rows_AllParsedWithOneDuplicateFound()
    {
        using var csv = new GeneratedCsv(Rows);

        var import = CameraCsv.Read(csv);

        Assert.Equal(Rows, import.Rows.Count);
        var p = Assert.Single(import.Problems);
        Assert.Equal((Rows + 2, "id", "duplicate id 'cam-7' (first on row 9)"), (p.Row, p.Field, p.Message));
        Assert.Equal(("cam-289999", "Junction 289999, north arm", 30), (import.Rows[^1].Id, import.Rows[^1].Name, import.Rows[^1].RetentionDays));
        Assert.Same(import.Rows[0].Purpose, import.Rows[^1].Purpose);
    }

    /// <summary>
    /// A header, <c>rows</c> distinct cameras and one repeated id, written a line at a time as the reader asks, so
    /// the test holds no 50 MB string.
    /// </summary>
    private sealed class GeneratedCsv(int rows) : TextReader
    {
        private const string Header = "id,name,latitude,longitude,heading,field_of_view,range,source,purpose,legal_basis,department,retention_days,site,area,enabled\n";

        private readonly char[] _line = new char[512];
        private int _next = -1;
        private int _pos;
        private int _length;

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<char> buffer)
        {
            var written = 0;
            while (written < buffer.Length && (_pos < _length || NextLine()))
            {
                var n = Math.Min(buffer.Length - written, _length - _pos);
                _line.AsSpan(_pos, n).CopyTo(buffer[written..]);
                _pos += n;
                written += n;
            }

            return written;
        }

        private bool NextLine()
        {
            var i = _next++;
            _pos = 0;
            _length = 0;
            if (i > rows) return false;
            var line = _line.AsSpan();
            bool ok;
            if (i < 0)
            {
                ok = Header.AsSpan().TryCopyTo(line);
                _length = Header.Length;
            }
            else if (i == rows)
            {
                ok = line.TryWrite(CultureInfo.InvariantCulture, $"cam-7,copy,51,-1,,,,,,,,,,,\n", out _length);
            }
            else
            {
                ok = line.TryWrite(CultureInfo.InvariantCulture,
                    $"cam-{i},\"Junction {i}, north arm\",53.{i % 100_000:D5},-1.{i % 70_000:D5},{i % 360},70,150,rtsp://cams.city.example/{i},traffic counting,Highways Act 1980,highways,30d,site-{i / 10},area-{i % 40},\n",
                    out _length);
            }

            Assert.True(ok);
            return true;
        }
    }
}
