using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace CivicLens.Server.Transparency;

/// <summary>
/// A small HTML builder: every value goes through <see cref="HtmlEncoder"/>, only the page's own markup is written
/// raw. No inline style or script anywhere (the content security policy forbids both).
/// </summary>
internal sealed class HtmlWriter
{
    // Letters of every script stay readable (not &#x...;); markup characters are still encoded.
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);
    private readonly StringBuilder _sb = new(8 * 1024);

    public static string Encode(string? value) => value is null ? "" : Encoder.Encode(value);

    public static string Number(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);

    public HtmlWriter Raw(string markup)
    {
        _sb.Append(markup);
        return this;
    }

    public HtmlWriter Text(string? value)
    {
        _sb.Append(Encode(value));
        return this;
    }

    /// <summary>An element holding text: <c>&lt;tag class="..."&gt;text&lt;/tag&gt;</c>.</summary>
    public HtmlWriter Element(string tag, string? text, string? cssClass = null)
    {
        _sb.Append('<').Append(tag);
        if (cssClass is not null) _sb.Append(" class=\"").Append(Encode(cssClass)).Append('"');
        _sb.Append('>').Append(Encode(text)).Append("</").Append(tag).Append('>');
        return this;
    }

    public HtmlWriter Link(string href, string text, string? rel = null)
    {
        _sb.Append("<a href=\"").Append(Encode(href)).Append('"');
        if (rel is not null) _sb.Append(" rel=\"").Append(Encode(rel)).Append('"');
        _sb.Append('>').Append(Encode(text)).Append("</a>");
        return this;
    }

    /// <summary>A definition-list row: term and a text description.</summary>
    public HtmlWriter Term(string term, string? description)
    {
        _sb.Append("<dt>").Append(Encode(term)).Append("</dt><dd>").Append(Encode(string.IsNullOrWhiteSpace(description) ? "not recorded" : description)).Append("</dd>");
        return this;
    }

    public HtmlWriter List(IEnumerable<string> items, string? cssClass = null)
    {
        _sb.Append(cssClass is null ? "<ul>" : $"<ul class=\"{Encode(cssClass)}\">");
        foreach (var item in items) _sb.Append("<li>").Append(Encode(item)).Append("</li>");
        _sb.Append("</ul>");
        return this;
    }

    /// <summary>A table of text cells with a header row; the first cell of each row is its row header.</summary>
    public HtmlWriter Table(string caption, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        _sb.Append("<div class=\"scroll\"><table><caption>").Append(Encode(caption)).Append("</caption><thead><tr>");
        foreach (var h in header) _sb.Append("<th scope=\"col\">").Append(Encode(h)).Append("</th>");
        _sb.Append("</tr></thead><tbody>");
        foreach (var row in rows)
        {
            _sb.Append("<tr>");
            for (var i = 0; i < row.Count; i++)
            {
                _sb.Append(i == 0 ? "<th scope=\"row\">" : "<td>").Append(Encode(row[i])).Append(i == 0 ? "</th>" : "</td>");
            }

            _sb.Append("</tr>");
        }

        _sb.Append("</tbody></table></div>");
        return this;
    }

    public override string ToString() => _sb.ToString();
}
