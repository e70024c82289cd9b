package notice

import (
	"html"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
)

// ImagePath is where the appliance serves the pictures of announcements;
// the content may show only those (see Sanitize).
const ImagePath = "/notices/images/"

// Colours are the text and highlight colours the editor offers. They are
// classes (fg-red, bg-yellow), not style attributes: the pages' Content
// Security Policy (style-src 'self') ignores inline styles, so a colour
// kept as a style would be stored and never shown.
var Colours = []string{"red", "orange", "green", "blue", "purple", "grey", "yellow"}

// policy is the allow-list: exactly the formatting the editor offers.
// Built once and only read afterwards (bluemonday policies are safe for
// concurrent use once built).
var policy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "h2", "h3", "h4",
		"table", "thead", "tbody", "tr", "th", "td", "div", "blockquote")
	// Links: http, https and mailto only, opened apart from this page.
	p.AllowAttrs("href").Matching(regexp.MustCompile(`^(?i)(https?://[^\s]+|mailto:[^\s]+)$`)).OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(true) // for the appliance's own pictures; links are held to the pattern above
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.RequireNoReferrerOnFullyQualifiedLinks(true)
	// Pictures: only those uploaded to this appliance, by their path.
	p.AllowAttrs("src").Matching(regexp.MustCompile(`^` + regexp.QuoteMeta(ImagePath) + `[0-9a-z]{16}$`)).OnElements("img")
	p.AllowAttrs("alt").Matching(regexp.MustCompile(`^[^<>"]{0,200}$`)).OnElements("img")
	// Colours: a palette of classes.
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^(fg|bg)-(` + strings.Join(Colours, "|") + `)$`)).OnElements("span")
	p.AllowAttrs("colspan", "rowspan").Matching(regexp.MustCompile(`^[1-9]$`)).OnElements("td", "th")
	return p
})

// Sanitize returns html with everything outside the allow-list removed:
// scripts, event handlers, styles, frames, forms, javascript: and data:
// links, pictures from elsewhere. What it returns sanitises to itself.
func Sanitize(in string) string {
	out := policy().Sanitize(in)
	// bluemonday is idempotent on its own output except for a few
	// spellings it normalises on the second pass; one more pass settles it.
	if again := policy().Sanitize(out); again != out {
		out = again
	}
	return strings.TrimSpace(out)
}

// strict keeps no markup at all.
var strict = sync.OnceValue(bluemonday.StrictPolicy)

var spaces = regexp.MustCompile(`[ \t]*\n[ \t\n]*`)

// PlainText is the content as text, for a message that carries an
// announcement: block ends become line breaks, tags and entities go.
func PlainText(content string) string {
	r := strings.NewReplacer("</p>", "</p>\n", "<br/>", "\n", "<br>", "\n", "</li>", "</li>\n", "</tr>", "</tr>\n",
		"</h2>", "</h2>\n", "</h3>", "</h3>\n", "</h4>", "</h4>\n", "</td>", "</td> ", "</th>", "</th> ")
	t := html.UnescapeString(strict().Sanitize(r.Replace(content)))
	return strings.TrimSpace(spaces.ReplaceAllString(t, "\n"))
}
