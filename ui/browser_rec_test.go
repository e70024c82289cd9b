package ui

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserRep: at the manager's 1366×900 the reports page shows its
// charts first and folds its tables, so the whole page is about a screen
// and a half; the attendance page draws.
func TestBrowserRep(t *testing.T) {
	_, base := startBrowserApp(t)
	b := startBrowser(t, base)
	b.do("an office PC's screen", chromedp.EmulateViewport(1366, 900))
	b.mustLogin(browserAdminUser, browserAdminPass)
	b.open("/reports?kind=month", "chart-series")
	h, err := strconv.ParseFloat(b.eval(`String(document.documentElement.scrollHeight)`), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reports page: %.0f px high at 1366×900", h)
	if h > 1400 {
		t.Errorf("reports page is %.0f px high", h)
	}
	if b.eval(`String(document.querySelector("details.report-table").open)`) != "false" {
		t.Error("the report's tables are open")
	}
	if b.eval(`String(document.querySelector('.report-charts').getBoundingClientRect().top < document.querySelector('.report-tables').getBoundingClientRect().top)`) != "true" {
		t.Error("the tables come before the charts")
	}
	b.open("/reports/attendance", "attendance")
}
