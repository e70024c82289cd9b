package ui

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
	"gatehouse/ui/views"
)

var en = map[string]string{"Accept-Language": "en"}

// wellFormed parses s as XML.
func wellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, s)
		}
	}
}

func render(t *testing.T, c interface {
	Render(context.Context, io.Writer) error
}) string {
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestChartsAreSVG(t *testing.T) {
	c := views.Chart{ID: "c", Title: "Entries <today>", Desc: "desc & more", Labels: []string{"08", "09", "10"},
		Series: []views.Series{{Name: "In", Class: "c-in", Values: []float64{12, 0, 7}},
			{Name: "Avg", Class: "c-avg", Values: []float64{10, 2.5, 3}, Line: true}}}
	svg := c.SVG()
	wellFormed(t, svg)
	for _, want := range []string{"<title id=\"c-t\">Entries &lt;today&gt;</title>", ">12</text>", ">7</text>", "<polyline", "08 In: 12"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q:\n%s", want, svg)
		}
	}
	b := render(t, views.Building("b", "Floors", "3 inside", []views.Floor{{Name: "Lobby", N: 1}, {Name: "1F", N: 0}, {Name: "2F & roof", N: 5}}))
	wellFormed(t, b)
	for _, want := range []string{`data-floor="2F &amp; roof" data-count="5"`, ">5</text>", "storey s5", "storey s0"} {
		if !strings.Contains(b, want) {
			t.Errorf("building lacks %q:\n%s", want, b)
		}
	}
	// The lowest floor is drawn lowest.
	if strings.Index(b, `data-floor="Lobby"`) > strings.Index(b, `data-floor="1F"`) {
		t.Error("floors out of order")
	}
	s := render(t, views.Stacked("s", "Who", []views.Part{{Name: "Employees", Class: "c-emp", N: 30}, {Name: "Visitors", Class: "c-vis", N: 10}}))
	wellFormed(t, s)
	if !strings.Contains(s, "Employees 30") || !strings.Contains(s, "Visitors 10") || !strings.Contains(s, `width="450.0"`) {
		t.Errorf("stacked: %s", s)
	}
	wellFormed(t, views.Chart{ID: "empty"}.SVG())
}

// flowHarness adds two lanes, a day of gate events and someone inside.
func flowHarness(t *testing.T) (*harness, string) {
	h := newHarness(t)
	ctx := context.Background()
	registerFlowEvents(h.app.Store)
	z, err := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	if err != nil {
		t.Fatal(err)
	}
	l1, _ := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "North gate", ZoneID: z.ID, PulseMs: 800})
	l2, _ := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "South gate", ZoneID: z.ID, PulseMs: 800})
	person := h.ids["{person}"]
	now := h.clock.Now() // 2026-11-23 09:00 UTC, 17:00 in Shanghai
	var es []access.Event
	add := func(at time.Time, lane string, entry, grant bool, holder string) {
		es = append(es, access.Event{Time: at, Lane: lane, Entry: entry, Grant: grant, Kind: 'c', Holder: holder, Rand: uint32(len(es))})
	}
	for i := range 7 {
		add(now.Add(-time.Duration(i+1)*time.Minute*7), l1.ID, true, true, "")
	}
	add(now.Add(-2*time.Hour), l2.ID, false, true, "")
	add(now.Add(-3*time.Hour), l2.ID, true, false, "")
	add(now.Add(-time.Hour), l1.ID, true, true, person)
	add(now.AddDate(0, 0, -7), l1.ID, true, true, person) // last Monday
	putFlowEvents(t, h.app.Store, now, es)
	return h, l1.ID
}

// registerFlowEvents installs a test command that writes gate events as
// the gate does (access.PutEvent) and marks their holders inside.
func registerFlowEvents(st *store.Store) {
	st.Register("test.events", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var es []access.Event
		if err := cmd.Decode(&es); err != nil {
			return store.Effect{}, err
		}
		for _, e := range es {
			if err := access.PutEvent(tx, e); err != nil {
				return store.Effect{}, err
			}
			if e.Entry && e.Grant && e.Holder != "" {
				if err := tx.Set(store.Key(store.KindPresenceZone, "zone", e.Holder), store.U64(uint64(e.Time.UnixNano()))); err != nil {
					return store.Effect{}, err
				}
			}
		}
		return store.Effect{}, nil
	})
}

func putFlowEvents(t *testing.T, st *store.Store, now time.Time, es []access.Event) {
	t.Helper()
	if _, err := store.Issue(context.Background(), st, "test.events", "t", now, es); err != nil {
		t.Fatal(err)
	}
}

func TestFlowDashboardPage(t *testing.T) {
	h, _ := flowHarness(t)
	for _, path := range []string{"/flow", "/flow/live"} {
		resp := h.do(req{method: "GET", path: path, session: h.session(auth.Reception), header: en})
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s = %d", path, resp.StatusCode)
		}
		for _, want := range []string{`id="kpi-inside"><span class="n">1</span>`, `id="kpi-in"><span class="n">8</span>`,
			`id="kpi-out"><span class="n">1</span>`, `id="kpi-denied"><span class="n">1</span>`, "North gate", `data-floor="1F" data-count="1"`,
			`hx-trigger="every 10s"`, "<td data-label=\"Company\">Acme</td>"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
		if path == "/flow" && (!strings.Contains(body, `href="/guard/muster"`) || strings.Contains(body, `id="flow-reports"`)) {
			t.Errorf("reception's dashboard: muster link, no reports link")
		}
	}
}

func TestReportPagesAndExports(t *testing.T) {
	h, _ := flowHarness(t)
	sess := h.session(auth.Manager)
	q := "?kind=month&date=2026-11-10"
	resp := h.do(req{method: "GET", path: "/reports" + q, session: sess, header: en})
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("report = %d", resp.StatusCode)
	}
	for _, want := range []string{"Month 2026-11-01 – 2026-11-30", `id="chart-series"`, `id="chart-hours"`, "North gate",
		`href="/reports.csv?date=2026-11-10&amp;kind=month"`, "Gate passages by lane and result"} {
		if !strings.Contains(body, want) {
			t.Errorf("report page lacks %q", want)
		}
	}
	for _, bad := range []string{"?kind=day&date=2026-13-45", "?kind=range&from=2026-11-10&to=2026-11-01", "?kind=range&from=x", "?kind=range&from=2026-01-01&to=9999-12-31", "?kind=year&date=0001-01-01"} {
		if r := h.do(req{method: "GET", path: "/reports" + bad, session: sess, header: en}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s = %d, want 422", bad, r.StatusCode)
		}
		if r := h.do(req{method: "GET", path: "/reports.csv" + bad, session: sess, header: en}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("csv %s = %d, want 422", bad, r.StatusCode)
		}
	}
	// CSV: the same tables, one after the other.
	resp = h.do(req{method: "GET", path: "/reports.csv" + q, session: sess, header: en})
	csvText := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(csvText, "\xEF\xBB\xBF") {
		t.Fatalf("csv = %d", resp.StatusCode)
	}
	for _, want := range []string{"Entries,9\r\n", "Exits,1\r\n", "Entries refused,1\r\n", "North gate,9,0,0\r\n", "South gate,0,1,1\r\n",
		"2026-11-23,8,1,1\r\n", "2026-11-16,1,0,0\r\n", "Visits by way in"} {
		if !strings.Contains(csvText, want) {
			t.Errorf("csv lacks %q:\n%s", want, csvText)
		}
	}
	// XLSX opens, one sheet per table, numbers as numbers.
	resp = h.do(req{method: "GET", path: "/reports.xlsx" + q, session: sess, header: en})
	f, err := excelize.OpenReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	sheets := f.GetSheetList()
	if len(sheets) < 10 || !strings.HasPrefix(sheets[0], "1 Summary") {
		t.Errorf("sheets %v", sheets)
	}
	if v, _ := f.GetCellValue(sheets[0], "B2"); v != "9" {
		t.Errorf("summary B2 = %q", v)
	}
	if typ, _ := f.GetCellType(sheets[0], "B2"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("summary B2 type %v", typ)
	}
	f.Close()
	// PDF with the same text.
	resp = h.do(req{method: "GET", path: "/reports.pdf" + q, session: sess, header: en})
	pdf, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("pdf = %d %q", resp.StatusCode, pdf[:min(20, len(pdf))])
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is not installed (Debian package poppler-utils): the PDF's text is not checked")
	}
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{"Reports", "Month 2026-11-01 – 2026-11-30", "Gate passages by lane and result", "North gate", "Visits by company"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdf text lacks %q:\n%s", want, text)
		}
	}
	// In Chinese, when the CJK font is installed (the .deb depends on it).
	if _, err := os.Stat(visit.DefaultFont); err != nil {
		t.Skipf("%s is not installed: the Chinese PDF is not checked", visit.DefaultFont)
	}
	resp = h.do(req{method: "GET", path: "/reports.pdf" + q, session: sess, header: map[string]string{"Accept-Language": "zh-CN"}})
	pdf, _ = io.ReadAll(resp.Body)
	cmd = exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	if out, err = cmd.Output(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"报表", "各通道通行及结果", "North gate", "按公司的访问"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Chinese pdf text lacks %q:\n%s", want, out)
		}
	}
}
