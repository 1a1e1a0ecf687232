using System.Text;

namespace CivicLens.District.Cameras;

/// <summary>
/// Cameras from CSV (RFC 4180, UTF-8, a byte-order mark tolerated). The first row names the columns, in any order:
/// <c>id,name,latitude,longitude,heading,field_of_view,range,source,purpose,legal_basis,department,retention_days,site,area,enabled</c>
/// (case, '_', '-' and spaces do not matter; <c>lat</c>, <c>lon</c>/<c>lng</c> and <c>retention</c> are accepted).
/// id, latitude and longitude are required; an unknown column is a problem, so a typo cannot pass silently.
/// The file is read once, row by row, and every problem is reported with the line its row starts on.
/// </summary>
public static class CameraCsv
{
    private static readonly CameraField[] Required = [CameraField.Id, CameraField.Latitude, CameraField.Longitude];

    /// <summary>Reads UTF-8 (with or without a byte-order mark) from <paramref name="stream"/>, leaving it open.</summary>
    public static CameraImport Read(Stream stream)
    {
        using var reader = new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        return Read(reader);
    }

    public static CameraImport Read(TextReader reader)
    {
        var problems = new List<ImportProblem>();
        var rows = new List<CameraRow>();
        var csv = new CsvRecordReader(reader);
        var check = new RowCheck(ImportLocation.Row, problems);
        if (!csv.Next())
        {
            problems.Add(new ImportProblem(1, "", $"the file is empty: the first row must name the columns ({CameraColumns.List})"));
            return new CameraImport(rows, problems);
        }

        check.Begin(csv.Line);
        if (csv.Error is { } error)
        {
            check.Add("", $"the header row {error}");
            return new CameraImport(rows, problems);
        }

        var columns = Header(csv, check);
        if (columns is null) return new CameraImport(rows, problems);

        var ids = new IdRegistry();
        var values = new CameraValues();
        while (csv.Next())
        {
            check.Begin(csv.Line);
            if (csv.Error is { } bad)
            {
                check.Add("", $"the row {bad}");
                continue;
            }

            if (csv.FieldCount != columns.Length)
            {
                check.Add("", $"the row has {csv.FieldCount} {(csv.FieldCount == 1 ? "field" : "fields")} but the header has {columns.Length}");
                continue;
            }

            values.Clear();
            for (var i = 0; i < columns.Length; i++)
            {
                if (columns[i] is { } f) CameraValueParser.Assign(check, values, f, csv.Field(i));
            }

            var row = CameraRowValidator.Check(check, values);
            if (values.Id is { } id && CameraRowValidator.IsValidId(id.AsSpan().Trim())) ids.Check(check, id.Trim());
            check.Finish();
            if (row is not null && check.Ok) rows.Add(row);
        }

        return new CameraImport(rows, problems);
    }

    /// <summary>Which field each column holds (null for an unknown one), or null when a required column is missing.</summary>
    private static CameraField?[]? Header(CsvRecordReader csv, RowCheck check)
    {
        var columns = new CameraField?[csv.FieldCount];
        var firstAt = new int[CameraColumns.Count];
        Array.Fill(firstAt, -1);
        for (var i = 0; i < csv.FieldCount; i++)
        {
            var written = csv.Field(i).Trim().ToString();
            var shown = CameraColumns.Safe(written, i);
            if (written.Length == 0)
            {
                check.Add(shown, $"column {i + 1} has no name");
            }
            else if (!CameraColumns.TryGet(written, out var f))
            {
                var suggestion = CameraColumns.Suggest(written) is { } s ? $"; did you mean '{s}'?" : "";
                check.Add(shown, $"unknown column '{shown}'{suggestion} (the columns are {CameraColumns.List})");
            }
            else if (firstAt[(int)f] >= 0)
            {
                check.Add(shown, $"column '{shown}' repeats column '{check.Name(f)}' (column {firstAt[(int)f] + 1})");
            }
            else
            {
                firstAt[(int)f] = i;
                columns[i] = f;
                check.SetName(f, shown);
            }
        }

        var complete = true;
        foreach (var f in Required)
        {
            if (firstAt[(int)f] >= 0) continue;
            check.Add(CameraColumns.Canonical[(int)f], $"the required column '{CameraColumns.Canonical[(int)f]}' is missing");
            complete = false;
        }

        return complete ? columns : null;
    }
}
