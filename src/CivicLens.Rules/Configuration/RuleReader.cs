using CivicLens.Domain.Detection;

namespace CivicLens.Rules.Configuration;

/// <summary>Reads one entry of a camera's <c>rules:</c> list into its typed <see cref="RuleConfig"/>.</summary>
internal static class RuleReader
{
    private static readonly string[] Types =
    [
        ZoneEntryRuleConfig.TypeName, StationaryVehicleRuleConfig.TypeName, OccupancyRuleConfig.TypeName,
        LineCrossingRuleConfig.TypeName, RedCrossingRuleConfig.TypeName, PpeRuleConfig.TypeName, SceneChangeRuleConfig.TypeName,
    ];

    private static readonly Dictionary<string, DayOfWeek[]> DayNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["mon"] = [DayOfWeek.Monday],
        ["tue"] = [DayOfWeek.Tuesday],
        ["wed"] = [DayOfWeek.Wednesday],
        ["thu"] = [DayOfWeek.Thursday],
        ["fri"] = [DayOfWeek.Friday],
        ["sat"] = [DayOfWeek.Saturday],
        ["sun"] = [DayOfWeek.Sunday],
        ["weekdays"] = [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday],
        ["weekend"] = [DayOfWeek.Saturday, DayOfWeek.Sunday],
        ["daily"] = Enum.GetValues<DayOfWeek>(),
    };

    public static RuleConfig? Read(YamlMap m, IReadOnlyList<ZoneConfig> zones, IReadOnlyList<LineConfig> lines, IReadOnlyList<SignalConfig> signals)
    {
        var id = m.Id();
        var type = m.String("type", required: true);
        if (type is not null && !Types.Contains(type))
        {
            m.Error(m.Get("type")!, "type", $"unknown rule type '{type}' (known: {string.Join(", ", Types)})");
            type = null;
        }

        // Common keys.
        var classes = m.Strings("classes");
        var minScore = (float?)m.Number("min_score", 0.05, 1.0);
        var minHeight = (float?)m.Number("min_height", 0, 16384);
        var minWidth = (float?)m.Number("min_width", 0, 16384);
        var cooldown = m.Duration("cooldown", max: TimeSpan.FromDays(1));
        var category = m.String("category");
        var enabled = m.Bool("enabled");
        var schedule = ReadSchedule(m);

        string? Zone(bool required)
        {
            var name = m.String("zone", required);
            if (name is not null && zones.All(z => z.Id != name))
            {
                m.Error(m.Get("zone")!, "zone", $"unknown zone '{name}' (zones of this camera: {ConfigLoader.List(zones.Select(z => z.Id))})");
                return null;
            }

            return name;
        }

        RuleConfig? rule = null;
        switch (type)
        {
            case ZoneEntryRuleConfig.TypeName:
                {
                    var zone = Zone(true);
                    var dwell = m.Duration("dwell", max: TimeSpan.FromDays(1)) ?? TimeSpan.Zero;
                    var settle = m.Duration("settle", max: TimeSpan.FromMinutes(1));
                    if (zone is not null)
                    {
                        rule = new ZoneEntryRuleConfig { Id = id ?? "", Zone = zone, Dwell = dwell, Settle = settle ?? TimeSpan.FromSeconds(0.5) };
                    }

                    // People are counted, never followed: a dwell ("loitering") condition on a person is refused.
                    var targets = classes ?? new ZoneEntryRuleConfig { Id = "", Zone = "" }.DefaultClasses;
                    if (dwell > TimeSpan.Zero && targets.Any(c => ObjectKinds.People.Contains(c)))
                    {
                        m.Error(m.Get("dwell")!, "dwell", "dwell applies to vehicles and objects only: people are counted, never timed " +
                            "(list vehicle classes in 'classes', or use an occupancy rule for people)");
                        rule = null;
                    }

                    break;
                }

            case StationaryVehicleRuleConfig.TypeName:
                {
                    var zone = Zone(true);
                    var after = m.Duration("after", min: TimeSpan.FromSeconds(1), max: TimeSpan.FromDays(1));
                    var drift = (float?)m.Number("max_drift", 0.01, 2.0);
                    var grace = m.Duration("occlusion_grace", max: TimeSpan.FromHours(1));
                    if (classes?.FirstOrDefault(c => ObjectKinds.People.Contains(c)) is { } person)
                    {
                        m.Error(m.Get("classes")!, "classes", $"'{person}' is not a vehicle: stationary rules never time people");
                    }
                    else if (zone is not null)
                    {
                        var d = new StationaryVehicleRuleConfig { Id = "", Zone = zone };
                        rule = d with
                        {
                            After = after ?? d.After,
                            MaxDrift = drift ?? d.MaxDrift,
                            OcclusionGrace = grace ?? d.OcclusionGrace,
                        };
                    }

                    break;
                }

            case OccupancyRuleConfig.TypeName:
                {
                    var zone = Zone(true);
                    var threshold = m.Int("threshold", 1, 100_000, required: true);
                    var forTime = m.Duration("for", max: TimeSpan.FromDays(1));
                    var clear = m.Duration("clear_after", max: TimeSpan.FromDays(1));
                    if (zone is not null && threshold is not null)
                    {
                        var d = new OccupancyRuleConfig { Id = "", Zone = zone, Threshold = threshold.Value };
                        rule = d with { For = forTime ?? d.For, ClearAfter = clear ?? d.ClearAfter };
                    }

                    break;
                }

            case LineCrossingRuleConfig.TypeName:
                {
                    var line = m.String("line", required: true);
                    if (line is not null && lines.All(l => l.Id != line))
                    {
                        m.Error(m.Get("line")!, "line", $"unknown line '{line}' (lines of this camera: {ConfigLoader.List(lines.Select(l => l.Id))})");
                        line = null;
                    }

                    var direction = CrossingDirection.Both;
                    if (m.String("direction") is { } dir)
                    {
                        if (!Enum.TryParse(dir, ignoreCase: true, out direction) || int.TryParse(dir, out _))
                        {
                            m.Error(m.Get("direction")!, "direction", $"'{dir}' must be in, out or both");
                        }
                    }

                    var interval = m.Duration("interval", min: TimeSpan.FromSeconds(1), max: TimeSpan.FromDays(1));
                    var each = m.Bool("each_crossing");
                    if (line is not null)
                    {
                        var d = new LineCrossingRuleConfig { Id = "", Line = line };
                        rule = d with { Direction = direction, Interval = interval ?? d.Interval, EachCrossing = each ?? d.EachCrossing };
                    }

                    break;
                }

            case RedCrossingRuleConfig.TypeName:
                {
                    var zone = Zone(true);
                    var signal = m.String("signal", required: true);
                    if (signal is not null && signals.All(s => s.Id != signal))
                    {
                        m.Error(m.Get("signal")!, "signal", $"unknown signal '{signal}' (signals: {ConfigLoader.List(signals.Select(s => s.Id))})");
                        signal = null;
                    }

                    var settle = m.Duration("settle", max: TimeSpan.FromMinutes(1));
                    var grace = m.Duration("red_grace", max: TimeSpan.FromMinutes(5));
                    if (zone is not null && signal is not null)
                    {
                        var d = new RedCrossingRuleConfig { Id = "", Zone = zone, Signal = signal };
                        rule = d with { Settle = settle ?? d.Settle, RedGrace = grace ?? d.RedGrace };
                    }

                    break;
                }

            case PpeRuleConfig.TypeName:
                {
                    var zone = m.Has("zone") ? Zone(false) : null;
                    var require = m.Strings("require");
                    if (require is null) m.Error("require", "is required: the label names of the items to check, e.g. [helmet, vest]");
                    var person = m.String("person");
                    var missing = m.Strings("missing");
                    var forTime = m.Duration("for", max: TimeSpan.FromHours(1));
                    if (require is not null)
                    {
                        var d = new PpeRuleConfig { Id = "", Require = require };
                        rule = d with { Zone = zone, Person = person ?? d.Person, Missing = missing ?? [], For = forTime ?? d.For };
                    }

                    break;
                }

            case SceneChangeRuleConfig.TypeName:
                {
                    var zone = Zone(true);
                    var after = m.Duration("after", min: TimeSpan.FromSeconds(1), max: TimeSpan.FromDays(7));
                    var fraction = (float?)m.Number("min_changed_fraction", 0.001, 1.0);
                    var pixel = m.Int("pixel_threshold", 4, 250);
                    var learn = m.Duration("learn", min: TimeSpan.FromSeconds(1), max: TimeSpan.FromHours(1));
                    var clearAfter = m.Duration("clear_after", min: TimeSpan.FromSeconds(1), max: TimeSpan.FromHours(1));
                    if (zone is not null)
                    {
                        var d = new SceneChangeRuleConfig { Id = "", Zone = zone };
                        rule = d with
                        {
                            After = after ?? d.After,
                            MinChangedFraction = fraction ?? d.MinChangedFraction,
                            PixelThreshold = pixel ?? d.PixelThreshold,
                            Learn = learn ?? d.Learn,
                            ClearAfter = clearAfter ?? d.ClearAfter,
                        };
                    }

                    break;
                }
        }

        m.Finish();
        if (id is null || rule is null) return null;
        return rule with
        {
            Id = id,
            Classes = classes ?? [],
            MinScore = minScore ?? rule.MinScore,
            MinHeight = minHeight ?? 0,
            MinWidth = minWidth ?? 0,
            Cooldown = cooldown ?? TimeSpan.Zero,
            Category = category,
            Enabled = enabled ?? true,
            Schedule = schedule,
            Location = new ConfigLocation(m.File, m.Line, m.Column, m.Path),
        };
    }

    internal static List<ScheduleWindow> ReadSchedule(YamlMap m, string key = "schedule")
    {
        var windows = new List<ScheduleWindow>();
        foreach (var w in m.Maps(key))
        {
            var days = w.Strings("days") ?? ["daily"];
            var set = new HashSet<DayOfWeek>();
            foreach (var d in days)
            {
                if (DayNames.TryGetValue(d, out var list)) set.UnionWith(list);
                else w.Error(w.Get("days")!, "days", $"unknown day '{d}' (mon..sun, weekdays, weekend, daily)");
            }

            var from = ReadTime(w, "from");
            var to = ReadTime(w, "to");
            w.Finish();
            if (from is null || to is null) continue;
            if (from == to) w.Error("to", "equals 'from': the window would be empty");
            else windows.Add(new ScheduleWindow(set, from.Value, to.Value));
        }

        return windows;
    }

    private static TimeOnly? ReadTime(YamlMap w, string key)
    {
        var text = w.String(key, required: true);
        if (text is null) return null;
        if (text == "24:00") return TimeOnly.MaxValue;
        if (TimeOnly.TryParseExact(text, ["HH:mm", "H:mm"], System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var t)) return t;
        w.Error(w.Get(key)!, key, $"'{text}' must be a time of day such as 07:30");
        return null;
    }
}
