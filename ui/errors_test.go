package ui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gatehouse/appliance/visit"
	"gatehouse/ui/i18n"
)

// A printable page whose font is missing on the appliance is the
// appliance's fault, said in the user's language — whichever page it is.
func TestMissingFontAnswers503(t *testing.T) {
	h := newHarness(t)
	for _, err := range []error{
		fmt.Errorf("%w: DroidSansFallback.ttf", visit.ErrNoFont), // the pass sheet
		fmt.Errorf("listing: %w", visit.ErrNoFont),               // printout: listings and reports
	} {
		for lang, want := range map[i18n.Lang]string{i18n.EN: "a font is missing", i18n.ZH: "缺少字体"} {
			req := httptest.NewRequest(http.MethodGet, "/reports.pdf", nil)
			rec := httptest.NewRecorder()
			c := h.srv.e.NewContext(req, rec)
			c.Set("lang", lang)
			h.srv.handleError(err, c)
			if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), want) {
				t.Errorf("%v (%s): %d %q", err, lang, rec.Code, rec.Body.String())
			}
		}
	}
}
