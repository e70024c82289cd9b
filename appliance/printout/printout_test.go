package printout

import (
	"strings"
	"testing"

	"github.com/go-pdf/fpdf"
)

func TestFitAndRuns(t *testing.T) {
	pdf := fpdf.New("P", "mm", "A4", "")
	cjk, err := AddFonts(pdf)
	if err != nil {
		t.Skip("fonts not installed here (.ci/run installs them):", err)
	}
	p := &Text{PDF: pdf, CJK: cjk, Size: 10}
	long := strings.Repeat("王伟 Wang Wei ", 50)
	got := p.Fit(long, 40)
	if !strings.HasSuffix(got, "…") || p.Width(got) > 40 || p.Width(got) < 30 {
		t.Fatalf("Fit = %q (%.1f mm)", got, p.Width(got))
	}
	if short := "B001"; p.Fit(short, 40) != short {
		t.Fatalf("a short text was changed")
	}
	fonts, texts := p.runs("Li 李\x00")
	if cjk && (len(fonts) != 3 || fonts[1] != "cjk" || texts[2] != " ") {
		t.Fatalf("runs = %q %q", fonts, texts)
	}
	// Without the CJK font, Chinese prints as '?' rather than as nothing.
	p.CJK = false
	if _, texts := p.runs("Li 李"); len(texts) != 1 || texts[0] != "Li ?" {
		t.Fatalf("runs without CJK = %q", texts)
	}
}
