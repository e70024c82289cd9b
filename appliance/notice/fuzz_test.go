package notice

import (
	"regexp"
	"strings"
	"testing"
)

// onAttr matches an event-handler attribute in sanitised output.
var onAttr = regexp.MustCompile(`<[^>]*\son[a-z]+\s*=`)

// jsURL matches a javascript: URL in an attribute (the words in text are
// harmless and stay).
var jsURL = regexp.MustCompile(`<[^>]*=\s*["']?\s*javascript:`)

// FuzzSanitize checks the wrapper's promises on any input: its output
// sanitises to itself, and no script tag, javascript: URL or event handler
// survives.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{
		`<p>hi</p><script>alert(1)</script>`,
		`<img src="/notices/images/0123456789abcdef" onerror="alert(1)">`,
		`<a href="javascript:alert(1)">x</a>`,
		`<a href="jav&#x09;ascript:alert(1)">x</a>`,
		`<span class="fg-red" onmouseover=alert(1)>r</span>`,
		`<table><tr><td colspan=2>1</td></tr></table>`,
		`<<script>script>alert(1)<</script>/script>`,
		`<p title="</p><script>">x</p>`,
		`<svg><style><img src=x onerror=alert(1)></style></svg>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Sanitize(in)
		if again := Sanitize(out); again != out {
			t.Fatalf("not stable:\n in  %q\n out %q\n again %q", in, out, again)
		}
		low := strings.ToLower(out)
		if strings.Contains(low, "<script") || jsURL.MatchString(low) || onAttr.MatchString(low) {
			t.Fatalf("unsafe output %q from %q", out, in)
		}
	})
}
