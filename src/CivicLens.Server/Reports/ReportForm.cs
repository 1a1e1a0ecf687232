using System.Globalization;
using System.Text;
using CivicLens.Pipeline.Stills;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace CivicLens.Server.Reports;

/// <summary>A report read from a request: its fields, its photos (already through the intake) or only their count.</summary>
public sealed record ReportForm(ReportDraft Draft, IReadOnlyList<AcceptedPhoto> Photos, int PhotoParts, IReadOnlyDictionary<string, string> Fields)
{
    public string? Field(string name) => Fields.TryGetValue(name, out var v) ? v : null;
}

/// <summary>
/// Reads <c>multipart/form-data</c> or <c>application/x-www-form-urlencoded</c> as a stream, part by part: a
/// photo part goes straight into <see cref="PhotoIntake"/>, which stops reading at its size limit, so nothing is
/// buffered whole before it is checked (ASP.NET's form binding would buffer every file first).
/// </summary>
public static class ReportFormReader
{
    public const int MaxFieldLength = 8 * 1024;
    public const int MaxFields = 60;
    private static readonly string[] PhotoFields = ["photo", "photos", "media", "file"];

    /// <param name="photos">
    /// The photo intake, asked for at the first photo (a text-only report never loads the detector); null: photo
    /// parts are drained and counted only.
    /// </param>
    /// <param name="beforePhotos">
    /// Called once with the fields read so far, before the first photo goes through the detector: a caller who may
    /// not submit (no key, a filled honeypot) is refused before the server spends a redaction on them.
    /// </param>
    public static async Task<ReportForm> ReadAsync(HttpRequest request, Func<PhotoIntake>? photos, CancellationToken ct,
        Func<IReadOnlyDictionary<string, string>, Task>? beforePhotos = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            return await ReadBodyAsync(request, photos, beforePhotos, ct);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // The server's limit (the photos at their limit plus room for the fields), met wherever the reading was.
            throw new ReportRejectedException("the report is larger than this server accepts; send smaller or fewer photos", "photo",
                StatusCodes.Status413PayloadTooLarge);
        }
    }

    private static async Task<ReportForm> ReadBodyAsync(HttpRequest request, Func<PhotoIntake>? photos,
        Func<IReadOnlyDictionary<string, string>, Task>? beforePhotos, CancellationToken ct)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var accepted = new List<AcceptedPhoto>();
        var parts = 0;
        if (request.HasFormContentType && request.ContentType!.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            var form = new FormReader(request.Body, Encoding.UTF8) { ValueCountLimit = MaxFields, ValueLengthLimit = MaxFieldLength, KeyLengthLimit = 200 };
            try
            {
                foreach (var (k, v) in await form.ReadFormAsync(ct)) fields[k] = v.ToString();
            }
            catch (InvalidDataException ex)
            {
                throw new ReportRejectedException("the form is too large: " + ex.Message);
            }
        }
        else if (MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value;
            if (string.IsNullOrEmpty(boundary) || boundary.Length > 200) throw new ReportRejectedException("the multipart form has no valid boundary");
            var reader = new MultipartReader(boundary, request.Body) { HeadersCountLimit = 16, HeadersLengthLimit = 8 * 1024 };
            MultipartSection? section;
            while ((section = await NextAsync(reader, ct)) is not null)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var cd) || !cd.DispositionType.Equals("form-data"))
                {
                    throw new ReportRejectedException("every part of the form needs a Content-Disposition: form-data header");
                }

                var name = HeaderUtilities.RemoveQuotes(cd.Name).Value ?? "";
                if (cd.IsFileDisposition() || PhotoFields.Contains(name))
                {
                    if (!PhotoFields.Contains(name)) throw new ReportRejectedException($"unexpected file field '{name}' (send photos as 'photo')", name);
                    parts++;
                    if (parts > ReportIntake.MaxPhotos) throw new ReportRejectedException($"at most {ReportIntake.MaxPhotos} photos per report", "photo");
                    if (photos is null)
                    {
                        await section.Body.CopyToAsync(Stream.Null, ct);
                        continue;
                    }

                    if (parts == 1 && beforePhotos is not null) await beforePhotos(fields);

                    try
                    {
                        accepted.Add(await photos().AcceptAsync(section.Body, ct));
                    }
                    catch (PhotoRejectedException ex)
                    {
                        var file = HeaderUtilities.RemoveQuotes(cd.FileName).Value;
                        throw new ReportRejectedException($"photo {parts}{(string.IsNullOrEmpty(file) ? "" : $" ({Safe(file)})")} was refused: {ex.Message}", "photo",
                            ex.Reason == "busy" ? StatusCodes.Status503ServiceUnavailable : ex.Reason == "too-large" ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest);
                    }

                    continue;
                }

                if (fields.Count >= MaxFields) throw new ReportRejectedException($"the form has more than {MaxFields} fields");
                var value = await ReadFieldAsync(section.Body, name, ct);
                // A list field (Open311 attribute[code][]) may repeat: joined as a urlencoded form joins repeated names.
                fields[name] = name.EndsWith("[]", StringComparison.Ordinal) && fields.TryGetValue(name, out var earlier) ? earlier + "," + value : value;
            }
        }
        else
        {
            throw new ReportRejectedException("send the report as multipart/form-data (with photos) or application/x-www-form-urlencoded", null,
                StatusCodes.Status415UnsupportedMediaType);
        }

        // Control characters have no place in a report and would break the XML answers that quote it.
        foreach (var key in fields.Keys.ToList()) fields[key] = WithoutControls(fields[key]);
        var draft = new ReportDraft(
            First(fields, "category", "service_code"),
            First(fields, "description"),
            Number(fields, "latitude", "lat"),
            Number(fields, "longitude", "long", "lon"),
            First(fields, "address", "address_string"),
            First(fields, "contact", "email"),
            First(fields, "site"))
        {
            Notify = First(fields, "notify") is { } notify && (notify.Equals("on", StringComparison.OrdinalIgnoreCase)
                || notify.Equals("true", StringComparison.OrdinalIgnoreCase) || notify == "1"),
        };
        return new ReportForm(draft, accepted, parts, fields);
    }

    private static async Task<MultipartSection?> NextAsync(MultipartReader reader, CancellationToken ct)
    {
        try
        {
            return await reader.ReadNextSectionAsync(ct);
        }
        catch (IOException ex) when (ex is not BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge })
        {
            // (Too large is not malformed: ReadAsync answers it as 413.)
            throw new ReportRejectedException("the multipart form is malformed or cut short: " + ex.Message);
        }
        catch (InvalidDataException ex)
        {
            throw new ReportRejectedException("the multipart form is malformed: " + ex.Message);
        }
    }

    private static string WithoutControls(string value) =>
        value.AsSpan().IndexOfAny(Controls) < 0 ? value : string.Concat(value.Where(c => !Controls.Contains(c)));

    // C0 controls but tab, line feed and carriage return; DEL; the two non-characters XML refuses.
    private static readonly System.Buffers.SearchValues<char> Controls = System.Buffers.SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Where(i => i is not (9 or 10 or 13)).Select(i => (char)i)) + "\u007F\uFFFE\uFFFF");

    private static async Task<string> ReadFieldAsync(Stream body, string name, CancellationToken ct)
    {
        var buffer = new char[MaxFieldLength + 1];
        using var reader = new StreamReader(body, Encoding.UTF8);
        var total = 0;
        int n;
        while ((n = await reader.ReadAsync(buffer.AsMemory(total), ct)) > 0)
        {
            total += n;
            if (total > MaxFieldLength) throw new ReportRejectedException($"the field '{Safe(name)}' is longer than {MaxFieldLength} characters", name);
        }

        return new string(buffer, 0, total);
    }

    private static string? First(Dictionary<string, string> fields, params string[] names)
    {
        foreach (var n in names)
        {
            if (fields.TryGetValue(n, out var v) && !string.IsNullOrWhiteSpace(v)) return v.Trim();
        }

        return null;
    }

    private static double? Number(Dictionary<string, string> fields, params string[] names)
    {
        var text = First(fields, names);
        if (text is null) return null;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)) return v;
        throw new ReportRejectedException($"'{Safe(text)}' is not a number ({names[0]})", "location");
    }

    /// <summary>Client text echoed in an error: short and printable only.</summary>
    private static string Safe(string text)
    {
        var s = new string(text.Where(c => !char.IsControl(c)).Take(60).ToArray());
        return s.Length < text.Length ? s + "…" : s;
    }
}
