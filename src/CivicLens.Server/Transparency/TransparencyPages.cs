using System.Globalization;

namespace CivicLens.Server.Transparency;

/// <summary>
/// The register's HTML pages: plain, printable, no script, one stylesheet (<see cref="TransparencyStyle"/>). Every value
/// from the store is encoded by <see cref="HtmlWriter"/>.
/// </summary>
public static class TransparencyPages
{
    public static string Index(RegisterPage page, RegisterStatistics statistics, int currentYear, RegisterLinks links)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentNullException.ThrowIfNull(statistics);
        ArgumentNullException.ThrowIfNull(links);
        var h = new HtmlWriter();
        h.Raw("<p class=\"lead\">").Text($"Every camera {page.District} runs for city operations, why it runs, what it looks for, how long its data is kept and who is responsible. ")
            .Text("The cameras count and notice situations (a blocked road, a crowded square, waste left behind); they never identify anyone.").Raw("</p>");
        NeverDone(h);
        h.Raw("<nav class=\"exports\"><h2>Open data</h2><ul><li>").Link(links.CamerasJson, "Camera inventory (JSON)").Raw("</li><li>")
            .Link(links.CamerasCsv, "Camera inventory (CSV)").Raw("</li><li>").Link(links.StatisticsJson, "Statistics (JSON)").Raw("</li><li>")
            .Link(links.Report(currentYear), $"Annual report {currentYear}").Raw("</li><li>").Link(links.Privacy, "How privacy is protected").Raw("</li></ul></nav>");

        h.Raw("<section><h2>Cameras in service</h2>");
        if (page.Cameras.Count == 0) h.Element("p", "No camera is in service.");
        foreach (var c in page.Cameras)
        {
            h.Raw("<article class=\"camera\"><h3>").Link(links.Camera(c.Id), c.Name).Raw("</h3><dl>");
            Place(h, c);
            h.Term("Purpose", c.Purpose).Term("Legal basis", c.LegalBasis);
            h.Raw("<dt>What it does</dt><dd>");
            Analytics(h, c);
            h.Raw("</dd>");
            h.Term("Evidence kept", Retention(c.RetentionDays)).Raw("<dt>Responsible</dt><dd>");
            Department(h, c.Department);
            h.Raw("</dd></dl><p class=\"more\">").Link(links.Camera(c.Id), "Full information").Text(" \u00b7 ").Link(links.Sign(c.Id), "Sign text").Raw("</p></article>");
        }

        if (page.Next is not null) h.Raw("<p class=\"more\">").Link(links.NextPage(page.Next), "More cameras").Raw("</p>");
        h.Raw("</section>");

        h.Raw("<section><h2>Statistics</h2>");
        h.Element("p", $"Counts only, for the last {statistics.Months.Count} months (months in {statistics.TimeZone}). Cameras in service: {statistics.CamerasInService}.");
        CamerasByAnalytics(h, statistics.CamerasByAnalytics);
        MonthTable(h, "Events per kind per month, and reveals of sealed originals", statistics.Months);
        h.Raw("</section>");
        return Layout($"Camera transparency register \u2014 {page.District}", "Camera transparency register", page.District, h, links);
    }

    /// <summary>The second layer: everything a person who saw the sign may want to know about one camera.</summary>
    public static string Camera(string district, RegisterCamera c, RetentionPolicy policy, RegisterLinks links)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(links);
        var h = new HtmlWriter();
        h.Raw("<section><h2>Where it is</h2><dl>");
        Place(h, c);
        h.Raw("</dl></section>");

        h.Raw("<section><h2>Why it runs</h2><dl>").Term("Purpose", c.Purpose).Term("Legal basis", c.LegalBasis).Raw("</dl></section>");

        h.Raw("<section><h2>What it does</h2>");
        Analytics(h, c);
        h.Raw("<h3>What it never does</h3>").List(AnalyticsText.NeverDone, "never").Raw("</section>");

        h.Raw("<section><h2>Who is responsible</h2><p>").Text($"The controller is {district}, through its department ").Element("strong", c.Department.Name)
            .Text(", which decided to run this camera and answers for it.").Raw("</p><p>");
        Department(h, c.Department);
        h.Raw("</p></section>");

        h.Raw("<section><h2>What is kept, and for how long</h2><ul>")
            .Raw("<li>").Text("Video is analysed as it arrives and is never recorded; there is no sound.").Raw("</li>")
            .Raw("<li>").Text($"When an event needs evidence, one still image is kept, redacted before it is stored: heads, faces and number plates are blacked out. It is deleted automatically after {Retention(c.RetentionDays)}, unless a legal hold for a specific case keeps it longer.").Raw("</li>")
            .Raw("<li>").Text(EventsKept(policy)).Raw("</li>")
            .Raw("<li>").Text(OriginalsKept(policy)).Raw("</li>")
            .Raw("<li>").Text("Names of the staff who work with the system are never published; every access they make is recorded in a tamper-evident audit log.").Raw("</li>")
            .Raw("</ul></section>");

        h.Raw("<section><h2>Your rights</h2>")
            .Element("p", "Data protection law gives you rights over information about you: to be told about it (this page), to ask for access to it, to ask for it to be corrected or erased, to ask for its processing to be restricted, and to object to it. You may also complain to the data protection supervisory authority.")
            .Element("p", "This system does not identify people, so it cannot look you up by name. To ask about an image that may show you, tell the responsible department the camera, the date and the time; it will answer within the time the law sets.")
            .Raw("<p>").Text("Contact: ");
        Department(h, c.Department);
        h.Raw("</p></section>");

        h.Raw("<nav class=\"more\"><ul><li>").Link(links.Privacy, "How privacy is protected (the privacy model)").Raw("</li><li>").Link(links.Sign(c.Id), "Text of the sign at this camera")
            .Raw("</li><li>").Link(links.Index, "All cameras and statistics").Raw("</li></ul></nav>");
        return Layout($"{c.Name} \u2014 camera information", c.Name, $"Camera information \u2014 {district}", h, links);
    }

    /// <summary>The first layer: the short text of the sign put up at the camera.</summary>
    public static string Sign(string district, RegisterCamera c, RegisterLinks links)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(links);
        var url = links.Absolute(links.Camera(c.Id));
        var h = new HtmlWriter();
        h.Raw("<div class=\"sign\"><p class=\"sign-title\">Camera in operation</p>")
            .Element("p", "Video analysis for city operations", "sign-subtitle")
            .Raw("<dl>").Term("Where", c.Site is null ? c.Name : $"{c.Name}, {c.Site.Name}").Term("Purpose", c.Purpose)
            .Term("Responsible", $"{district} \u2014 {c.Department.Name}").Term("Contact", c.Department.Contact ?? "see the information page").Raw("</dl>")
            .Element("p", "No face recognition. No identification of anyone. No recording of video or sound. Faces and number plates are blacked out in any image kept.", "sign-never")
            .Raw("<p class=\"sign-more\">").Text("More information, including your rights: ").Link(url, url).Raw("</p></div>")
            .Element("p", "Use your browser's print command to print this sign.", "no-print");
        return Layout($"Sign \u2014 {c.Name}", null, null, h, links);
    }

    public static string Report(AnnualReport report, RegisterLinks links)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(links);
        var h = new HtmlWriter();
        var inService = report.Cameras.Where(c => c.InService).ToList();
        var withdrawn = report.Cameras.Where(c => !c.InService).ToList();
        h.Element("p", $"Report generated {report.GeneratedAt:yyyy-MM-dd HH:mm} UTC. Counts only; months in {report.TimeZone}. Nothing in this report identifies a person.", "lead");
        h.Raw("<section><h2>Summary</h2><dl>")
            .Term("Cameras in service", inService.Count.ToString(CultureInfo.InvariantCulture))
            .Term("Cameras withdrawn (kept in the register)", withdrawn.Count.ToString(CultureInfo.InvariantCulture))
            .Term("Events noticed in the year", report.EventsByKind.Values.Sum().ToString(CultureInfo.InvariantCulture))
            .Term("Sealed originals revealed in the year", report.Reveals.ToString(CultureInfo.InvariantCulture))
            .Raw("</dl></section>");

        h.Raw("<section><h2>Cameras</h2>");
        h.Table("Cameras in the register", ["Camera", "Area", "Purpose", "Responsible", "Evidence kept", "Analytics", "Status"],
            report.Cameras.Select(c => (IReadOnlyList<string>)[c.Name, c.Area.Name, c.Purpose, c.Department.Name, Retention(c.RetentionDays),
                string.Join(", ", c.Analytics.Select(a => a.Type)), c.InService ? "in service" : "withdrawn"]));
        h.Raw("</section>");

        h.Raw("<section><h2>Retention settings</h2>");
        if (report.Retention.Count == 0) h.Element("p", "No camera is in service.");
        else h.List(report.Retention.Select(r => $"{Retention(r.RetentionDays)}: {Cameras(r.Cameras)}"));
        h.Element("p", "Video is never recorded. Redacted evidence images are deleted automatically when their camera's retention ends, unless a legal hold for a specific case applies.");
        h.Element("p", EventsKept(report.RetentionPolicy)).Element("p", OriginalsKept(report.RetentionPolicy));
        h.Raw("</section>");

        h.Raw("<section><h2>Events and reveals</h2>");
        if (report.EventsByKind.Count > 0)
        {
            h.Table("Events per kind in the year", ["Kind", "Events"], report.EventsByKind.Select(k => (IReadOnlyList<string>)[k.Key, k.Value.ToString(CultureInfo.InvariantCulture)]));
        }

        MonthTable(h, "Events per kind per month, and reveals of sealed originals", report.Months);
        h.Raw("</section>");

        h.Raw("<nav class=\"more\"><ul><li>").Link(links.ReportJson(report.Year), "This report as JSON").Raw("</li>");
        if (report.Year > TransparencyRegister.FirstReportYear) h.Raw("<li>").Link(links.Report(report.Year - 1), $"Report {report.Year - 1}").Raw("</li>");
        h.Raw("<li>").Link(links.Index, "All cameras and statistics").Raw("</li></ul></nav>");
        return Layout($"Annual report {report.Year} \u2014 {report.District}", $"Annual report {report.Year}", report.District, h, links);
    }

    /// <summary>The privacy model in plain words (the full text is docs/privacy.md).</summary>
    public static string Privacy(string district, RetentionPolicy policy, RegisterLinks links)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(links);
        var h = new HtmlWriter();
        h.Element("p", $"How {district}'s city-operations cameras are kept from becoming a tool to watch people.", "lead");
        h.Raw("<section><h2>What never happens</h2>").List(AnalyticsText.NeverDone, "never")
            .Element("p", "Models that name identities, faces, ethnicity, emotion or similar categories are refused when they load, and the software has no place to store a face template, a plate number or a phone identifier.")
            .Raw("</section>");
        h.Raw("<section><h2>Purpose before power</h2>")
            .Element("p", "A camera runs only with a recorded purpose, legal basis, responsible department and retention period; without them the software refuses to start it. This register is built from those records.")
            .Raw("</section>");
        h.Raw("<section><h2>What the cameras do</h2>")
            .Element("p", "Video is analysed as it arrives and never recorded. People are counted or noticed at a moment (stepping into a cordoned area, crossing on red); they are never followed, timed or recognised. Vehicles are noticed where they should not stop; number plates are never read.")
            .Element("p", "Private spaces in view (windows of homes, gardens) can be masked: they are blacked out before any analysis.")
            .Raw("</section>");
        h.Raw("<section><h2>What is kept</h2>")
            .Element("p", "An event record says what was noticed, when and where, with counts. When evidence is needed, one image is kept, with heads, faces and number plates blacked out before it is stored, and deleted automatically after the camera's retention period.")
            .Element("p", EventsKept(policy))
            .Element("p", OriginalsKept(policy))
            .Element("p", ReportsKept(policy))
            .Raw("</section>");
        h.Raw("<section><h2>Who sees what</h2>")
            .Element("p", "Staff sign in to personal accounts and see only what their role and their areas allow. Every view of events and images, and every change, is written to a tamper-evident audit log. This register is the only part open to everyone, and it holds counts and descriptions only.")
            .Raw("</section>");
        h.Raw("<nav class=\"more\"><ul><li>").Link(links.Index, "All cameras and statistics").Raw("</li></ul></nav>");
        return Layout($"Privacy model \u2014 {district}", "How privacy is protected", district, h, links);
    }

    public static string NotFound(RegisterLinks links)
    {
        ArgumentNullException.ThrowIfNull(links);
        var h = new HtmlWriter();
        h.Element("p", "There is no camera or page in the register at this address. A camera withdrawn from service is no longer listed.", "lead");
        h.Raw("<p>").Link(links.Index, "All cameras in service").Raw("</p>");
        return Layout("Not found \u2014 camera transparency register", "Not found", null, h, links);
    }

    private static string Layout(string title, string? heading, string? subheading, HtmlWriter body, RegisterLinks links)
    {
        var h = new HtmlWriter();
        h.Raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Raw("<meta name=\"robots\" content=\"index, follow\"><title>").Text(title).Raw("</title><link rel=\"stylesheet\" href=\"").Text(links.Style).Raw("\"></head><body>");
        if (heading is not null)
        {
            h.Raw("<header><p class=\"kicker\">").Link(links.Index, "Camera transparency register").Raw("</p>").Element("h1", heading);
            if (subheading is not null) h.Element("p", subheading, "subtitle");
            h.Raw("</header>");
        }

        h.Raw("<main>").Raw(body.ToString()).Raw("</main>");
        if (heading is not null)
        {
            h.Raw("<footer><p>").Text("Public information; no sign-in needed. Nothing here identifies a person. ").Link(links.Privacy, "Privacy model").Raw("</p></footer>");
        }

        return h.Raw("</body></html>\n").ToString();
    }

    private static void NeverDone(HtmlWriter h) =>
        h.Raw("<section class=\"never-box\"><h2>What these cameras never do</h2>").List(AnalyticsText.NeverDone, "never").Raw("</section>");

    private static void Place(HtmlWriter h, RegisterCamera c)
    {
        h.Term("Area", c.Area.Name);
        if (c.Site is not null) h.Term("Site", c.Site.Name);
        var lat = HtmlWriter.Number(c.Latitude);
        var lon = HtmlWriter.Number(c.Longitude);
        h.Raw("<dt>Location</dt><dd>").Text($"{lat}, {lon} ")
            .Link($"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=19/{lat}/{lon}", "(map)", "external noopener").Raw("</dd>");
        var view = new List<string>();
        if (c.Heading is { } heading) view.Add($"looks {Compass(heading)} ({HtmlWriter.Number(heading)}\u00b0)");
        if (c.FieldOfView is { } fov) view.Add($"{HtmlWriter.Number(fov)}\u00b0 wide");
        if (c.Range is { } range) view.Add($"sees about {HtmlWriter.Number(range)} m");
        if (view.Count > 0) h.Term("View", string.Join(", ", view));
    }

    private static void Analytics(HtmlWriter h, RegisterCamera c)
    {
        if (c.Analytics.Count == 0) h.Element("p", "No analysis runs on this camera at present.");
        else h.List(c.Analytics.Select(a => char.ToUpperInvariant(a.Description[0]) + a.Description[1..] + "."));
        h.Raw("<p class=\"never-line\">").Text("It does not: " + string.Join("; ", AnalyticsText.NeverDone) + ".").Raw("</p>");
    }

    private static void Department(HtmlWriter h, RegisterDepartment d)
    {
        h.Element("strong", d.Name);
        if (string.IsNullOrWhiteSpace(d.Contact)) return;
        h.Text(" \u2014 ");
        if (d.Contact.Contains('@', StringComparison.Ordinal) && !d.Contact.Contains(' ', StringComparison.Ordinal)) h.Link("mailto:" + d.Contact, d.Contact);
        else h.Text(d.Contact);
    }

    private static void CamerasByAnalytics(HtmlWriter h, IReadOnlyDictionary<string, int> byAnalytics)
    {
        if (byAnalytics.Count == 0) return;
        h.Table("Cameras by analysis", ["Analysis", "What it does", "Cameras"],
            byAnalytics.Select(a => (IReadOnlyList<string>)[a.Key, AnalyticsText.Describe(a.Key), a.Value.ToString(CultureInfo.InvariantCulture)]));
    }

    private static void MonthTable(HtmlWriter h, string caption, IReadOnlyList<MonthStatistics> months)
    {
        var kinds = months.SelectMany(m => m.Events.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (kinds.Count == 0) h.Element("p", "No events were recorded in these months.");
        h.Table(caption, ["Month", .. kinds, "Total events", "Reveals"], months.Select(m => (IReadOnlyList<string>)
        [
            m.Month,
            .. kinds.Select(k => m.Events.GetValueOrDefault(k).ToString(CultureInfo.InvariantCulture)),
            m.Events.Values.Sum().ToString(CultureInfo.InvariantCulture),
            m.Reveals.ToString(CultureInfo.InvariantCulture),
        ]));
    }

    private static string EventsKept(RetentionPolicy policy) =>
        "Event records say what kind of situation was noticed, when, by which camera, in which area, with counts; they carry no image of a person, "
        + $"no name and no identifier of a person. They are deleted after {Retention(policy.EventRetentionDays)} unless they become part of a case "
        + $"(a problem being fixed); a closed case, with its events, is deleted {Retention(policy.ClosedCaseRetentionDays)} after it closes.";

    private static string ReportsKept(RetentionPolicy policy) =>
        $"A problem reported by a person, with its photos, is deleted {Retention(policy.ReportDays)} after its case closes ({Retention(policy.UnlinkedReportDays)} after "
        + $"it was sent if it never became a case). The reporter's contact, if one was given, is deleted when the case closes (or after {Retention(policy.ContactDays)}). "
        + $"The audit log of who saw and changed what is kept {Retention(policy.AuditDays)}. A legal hold (a court's, police's or insurer's case, with a reason "
        + "and an end date, recorded in the audit log) keeps what it names past these times; nothing else does.";

    private static string OriginalsKept(RetentionPolicy policy) => policy.SealedOriginalHours is not { } hours
        ? "No unredacted image is kept: the city has not switched on sealed originals."
        : $"The unredacted frame of an event with evidence is kept sealed (encrypted) for {HtmlWriter.Number(hours)} hours, then destroyed. Opening one needs "
            + "an investigator, a case reference and a written reason, may need a second investigator's approval, and is recorded; the register publishes "
            + "how many were opened each month.";

    private static string Retention(int days) => days switch
    {
        <= 0 => "not recorded",
        1 => "1 day",
        _ => $"{days} days",
    };

    private static string Cameras(int n) => n == 1 ? "1 camera" : $"{n} cameras";

    private static string Compass(double degrees)
    {
        string[] names = ["north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"];
        var i = (int)Math.Round(((degrees % 360) + 360) % 360 / 45.0) % 8;
        return names[i];
    }
}
