package ui

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/visit"
)

// conferenceHarness is the test server (appliance.Open installs the
// conference commands).
func conferenceHarness(t *testing.T) *harness { return newHarness(t) }

// upload posts a multipart form with an optional file, as the browser does.
func (h *harness) upload(path, session string, fields map[string]string, fileName string, file []byte) *http.Response {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fields["_csrf"] = h.csrfToken(session)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if fileName != "" {
		fw, _ := mw.CreateFormFile("file", fileName)
		_, _ = fw.Write(file)
	}
	mw.Close()
	r, err := http.NewRequest("POST", h.ts.URL+path, &body)
	if err != nil {
		h.t.Fatal(err)
	}
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.AddCookie(&http.Cookie{Name: "gh_csrf", Value: testCSRF})
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(r)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// newConference creates a conference from 10:00 to 18:00 of the harness's
// day over HTTP and returns its ID.
func (h *harness) newConference(t *testing.T, session string) string {
	t.Helper()
	day := h.clock.Now().In(h.app.Config.Location).Format("2006-01-02")
	resp := h.do(req{method: "POST", path: "/desk/conferences", session: session, form: url.Values{
		"name": {"年度大会 Summit"}, "place": {"Hall A"}, "host_id": {h.ids["{person}"]},
		"from": {day + "T10:00"}, "until": {day + "T18:00"}}})
	m := regexp.MustCompile(`^/desk/conferences/([0-9a-z]{16})$`).FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("create conference = %d %s", resp.StatusCode, readBody(t, resp))
	}
	return m[1]
}

func attendeeCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("姓名,手机,单位,称呼\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "参会者%02d,135%08d,Company %d,\r\n", i, i, i%3)
	}
	return b.Bytes()
}

func TestConferenceFormRejectsBadFieldsInBothLanguages(t *testing.T) {
	h := conferenceHarness(t)
	desk := h.session(auth.Reception)
	day := h.clock.Now().In(h.app.Config.Location).Format("2006-01-02")
	tests := []struct {
		name  string
		form  url.Values
		field string
		en    string
		zh    string
	}{
		{"no name", url.Values{"from": {day + "T10:00"}, "until": {day + "T12:00"}, "host_id": {h.ids["{person}"]}}, "name", "Required.", "必填。"},
		{"not a date", url.Values{"name": {"M"}, "from": {"tomorrow"}, "until": {day + "T12:00"}, "host_id": {h.ids["{person}"]}}, "from", "Not a date and time.", "不是有效的日期和时间。"},
		{"inverted", url.Values{"name": {"M"}, "from": {day + "T12:00"}, "until": {day + "T10:00"}, "host_id": {h.ids["{person}"]}}, "until", "The end must be after the start.", "结束时间须晚于开始时间。"},
		{"no host", url.Values{"name": {"M"}, "from": {day + "T10:00"}, "until": {day + "T12:00"}, "host_id": {"nonsense"}}, "host_id", "Required.", "必填。"},
		{"not a host", url.Values{"name": {"M"}, "from": {day + "T18:00"}, "until": {day + "T20:00"}, "host_id": {"0000000000000000"}}, "host_id", "This person cannot receive visitors.", "此人不能接待访客。"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for lang, want := range map[string]string{"en": tc.en, "zh": tc.zh} {
				resp := h.do(req{method: "POST", path: "/desk/conferences", session: desk, form: tc.form, header: map[string]string{"Accept-Language": lang}})
				body := readBody(t, resp)
				if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<p class="error" id="e-`+tc.field+`">`+want+`</p>`) {
					t.Errorf("%s: %d, field %s lacks %q", lang, resp.StatusCode, tc.field, want)
				}
			}
		})
	}
	if ms, _ := h.meetings(); len(ms) != 0 {
		t.Fatalf("%d conferences created by bad forms", len(ms))
	}
}

func (h *harness) meetings() ([]visit.Meeting, error) {
	return visit.NewConferences(h.app.Store, h.app.Clock, h.app.Keys).List(0)
}

func TestConferenceRegistrationOverHTTP(t *testing.T) {
	h := conferenceHarness(t)
	desk := h.session(auth.Reception)
	if resp := h.do(req{method: "GET", path: "/desk/conferences/new", session: desk}); resp.StatusCode != http.StatusOK {
		t.Fatalf("new form = %d", resp.StatusCode)
	}
	id := h.newConference(t, desk)
	base := "/desk/conferences/" + id
	if b := readBody(t, h.do(req{method: "GET", path: "/desk/conferences", session: desk})); !strings.Contains(b, `id="conference-`+id+`"`) {
		t.Fatal("the list does not show the conference")
	}

	// A pasted list with two bad lines: both named, nothing written.
	resp := h.do(req{method: "POST", path: base + "/register", session: desk, header: map[string]string{"Accept-Language": "en"},
		form: url.Values{"list": {"张三,13800138000\n李四,12345\n王五,13800138000\n赵六,13900139000,,CEO\n"}}})
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad list = %d", resp.StatusCode)
	}
	for _, want := range []string{`<td data-label="Line">2</td>`, "Not a mobile number", `<td data-label="Line">3</td>`, "already on line 1", `<td data-label="Line">4</td>`, "Title must be one of", "李四,12345"} {
		if !strings.Contains(body, want) {
			t.Errorf("error page lacks %q", want)
		}
	}
	if vs, _ := h.conferenceAttendees(id); len(vs) != 0 {
		t.Fatalf("%d attendees written from a bad list", len(vs))
	}
	// Nothing at all: the field says so.
	resp = h.do(req{method: "POST", path: base + "/register", session: desk, form: url.Values{"list": {"  \n"}}})
	if b := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b, `id="e-list"`) {
		t.Fatalf("empty list = %d", resp.StatusCode)
	}

	// Fifty attendees from an uploaded file (the text is ignored).
	resp = h.upload(base+"/register", desk, map[string]string{"list": "ignored"}, "attendees.csv", attendeeCSV(50))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != base {
		t.Fatalf("register = %d %s", resp.StatusCode, readBody(t, resp))
	}
	vs, err := h.conferenceAttendees(id)
	if err != nil || len(vs) != 50 {
		t.Fatalf("%d attendees, %v", len(vs), err)
	}
	page := readBody(t, h.do(req{method: "GET", path: base, session: desk}))
	if strings.Count(page, `<tr id="attendee-`) != 50 || !strings.Contains(page, "参会者49") || !strings.Contains(page, `id="passes-pdf"`) {
		t.Fatal("the conference page does not list the attendees")
	}

	// The pass sheet.
	resp = h.do(req{method: "GET", path: base + "/passes.pdf", session: desk})
	pdf, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("pass sheet = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// The exports.
	resp = h.do(req{method: "GET", path: base + "/attendees.csv", session: desk, header: map[string]string{"Accept-Language": "en"}})
	csvBody := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(csvBody, "\xEF\xBB\xBFVisitor,Mobile,") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), `.csv"`) || strings.Count(csvBody, "\r\n") != 51 {
		t.Fatalf("csv = %d %q", resp.StatusCode, truncate(csvBody))
	}
	if !strings.Contains(csvBody, "参会者00,135****0000,Company 0,Acme,1F,Wang,Conference,Approved,2026-11-23 10:00,,") {
		t.Fatalf("csv first row wrong:\n%s", csvBody[:300])
	}
	resp = h.do(req{method: "GET", path: base + "/attendees.xlsx", session: desk})
	x, err := excelize.OpenReader(resp.Body)
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	rows, err := x.GetRows("Sheet1")
	if err != nil || len(rows) != 51 || rows[0][0] != "访客" || rows[1][0] != "参会者00" || rows[1][8] != "2026-11-23 10:00" {
		t.Fatalf("xlsx rows %d %v: %v", len(rows), err, rows[:min(2, len(rows))])
	}
	// Today's visits include the attendees (and the harness's booking).
	resp = h.do(req{method: "GET", path: "/desk/today.csv", session: desk})
	if b := readBody(t, resp); resp.StatusCode != http.StatusOK || strings.Count(b, "参会者") != 50 || !strings.Contains(b, "Visitor") {
		t.Fatalf("today.csv = %d, %d attendees", resp.StatusCode, strings.Count(b, "参会者"))
	}
	if resp := h.do(req{method: "GET", path: "/desk/today.xlsx", session: desk}); resp.StatusCode != http.StatusOK {
		t.Fatalf("today.xlsx = %d", resp.StatusCode)
	}

	// Registering the same people again names every line.
	resp = h.upload(base+"/register", desk, map[string]string{}, "attendees.csv", attendeeCSV(3))
	if b := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || strings.Count(b, "已登记参加本次会议") != 3 {
		t.Fatalf("repeat list = %d", resp.StatusCode)
	}

	// When the meeting is over, the sweep closes the passes and the list is shut.
	h.clock.Set(time.Date(2026, 11, 23, 18, 0, 0, 0, h.app.Config.Location))
	if n, err := h.srv.conferenceService().CloseEnded(context.Background(), h.clock.Now()); err != nil || n != 50 {
		t.Fatalf("close ended: %d %v", n, err)
	}
	desk = h.session(auth.Reception) // the old one has been idle too long
	resp = h.do(req{method: "GET", path: base + "/register", session: desk})
	if b := readBody(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(b, `id="register-refused"`) {
		t.Fatalf("register page after the end = %d", resp.StatusCode)
	}
	resp = h.upload(base+"/register", desk, map[string]string{}, "late.csv", []byte("迟到者,13600136000\n"))
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("register after the end = %d", resp.StatusCode)
	}
	if b := readBody(t, h.do(req{method: "GET", path: base, session: desk})); !strings.Contains(b, `data-status="closed"`) || strings.Contains(b, `id="passes-pdf"`) {
		t.Fatal("a closed conference still offers passes")
	}
}

func (h *harness) conferenceAttendees(id string) ([]visit.Visit, error) {
	return visit.NewConferences(h.app.Store, h.app.Clock, h.app.Keys).Attendees(id)
}

func TestConferencePagesAreForStaffOnly(t *testing.T) {
	h := conferenceHarness(t)
	id := h.newConference(t, h.session(auth.Reception))
	base := "/desk/conferences/" + id
	for _, path := range []string{"/desk/conferences", "/desk/conferences/new", base, base + "/register", base + "/passes.pdf",
		base + "/attendees.csv", base + "/attendees.xlsx", "/desk/today.csv", "/desk/today.xlsx"} {
		for _, role := range auth.Roles {
			resp := h.do(req{method: "GET", path: path, session: h.session(role)})
			want := http.StatusOK
			if role == auth.Host {
				want = http.StatusForbidden
			}
			if resp.StatusCode != want {
				t.Errorf("%s GET %s = %d, want %d", role, path, resp.StatusCode, want)
			}
		}
	}
	resp := h.upload(base+"/register", h.session(auth.Host), map[string]string{"list": "张三,13800138000"}, "", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("host registers = %d", resp.StatusCode)
	}
	// Without the CSRF token nothing is registered.
	resp = h.do(req{method: "POST", path: base + "/register", session: h.session(auth.Reception), csrf: "-", form: url.Values{"list": {"张三,13800138000"}}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no CSRF = %d", resp.StatusCode)
	}
	if vs, _ := h.conferenceAttendees(id); len(vs) != 0 {
		t.Fatal("a refused request registered someone")
	}
}

func TestConferenceBadInputNeverFails500(t *testing.T) {
	h := conferenceHarness(t)
	desk := h.session(auth.Admin)
	id := h.newConference(t, desk)
	base := "/desk/conferences/" + id
	long := strings.Repeat("长", 5000)
	lists := []string{"", long, "\x00\xff\xfe", "<script>alert(1)</script>,13800138000", "\"", strings.Repeat("a,1\n", 20000),
		"😀😀,13800138000,😀,\n", "=cmd|' /C calc'!A0,13900139009\n", strings.Repeat("x", maxListBytes+10)}
	for _, l := range lists {
		for _, path := range []string{base + "/register", "/desk/conferences/0000000000000000/register", "/desk/conferences/..%2F/register"} {
			if resp := h.do(req{method: "POST", path: path, session: desk, form: url.Values{"list": {l}}}); resp.StatusCode >= 500 {
				t.Errorf("POST %s list %q = %d", path, truncate(l), resp.StatusCode)
			}
			if resp := h.upload(path, desk, map[string]string{}, "x.csv", []byte(l)); resp.StatusCode >= 500 {
				t.Errorf("upload %s %q = %d", path, truncate(l), resp.StatusCode)
			}
		}
		form := url.Values{"name": {l}, "place": {l}, "host_id": {l}, "from": {l}, "until": {l}, "company_id": {l}}
		if resp := h.do(req{method: "POST", path: "/desk/conferences", session: desk, form: form}); resp.StatusCode >= 500 {
			t.Errorf("create with %q = %d", truncate(l), resp.StatusCode)
		}
	}
	for _, p := range []string{"/desk/conferences/%00", "/desk/conferences/0000000000000000/passes.pdf", "/desk/conferences/x/attendees.csv",
		"/desk/conferences/0000000000000000/attendees.xlsx"} {
		if resp := h.do(req{method: "GET", path: p, session: desk}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	// Whatever went in, the sheet and the exports still come out, and a
	// formula typed as a name is text in the CSV.
	for _, p := range []string{base + "/passes.pdf", base + "/attendees.xlsx"} {
		if resp := h.do(req{method: "GET", path: p, session: desk}); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", p, resp.StatusCode)
		}
	}
	b := readBody(t, h.do(req{method: "GET", path: base + "/attendees.csv", session: desk}))
	if !strings.Contains(b, `"'=cmd|' /C calc'!A0"`) && !strings.Contains(b, `'=cmd|' /C calc'!A0`) {
		t.Fatalf("formula not neutralised:\n%s", b)
	}
}

// TestBrowserConference walks reception through a conference in Chromium:
// a new conference with its organiser picked by the live host search, a
// pasted list with a bad line refused by line, fifty attendees registered
// in one step, and the PDF pass sheet, whose codes zbarimg reads back to
// passes the gate accepts.
func TestBrowserConference(t *testing.T) {
	app, base := startBrowserApp(t)
	ctx := context.Background()
	fl, err := app.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "5F", Level: 5})
	if err != nil {
		t.Fatal(err)
	}
	co, err := app.Directory.SaveCompany(ctx, "t", directory.Company{Name: "星辰科技", FloorIDs: []string{fl.ID}})
	if err != nil {
		t.Fatal(err)
	}
	host, err := app.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "周组织", Mobile: "13900139000",
		CompanyID: co.ID, FloorID: fl.ID, EmployeeNo: "O1", CanHost: true})
	if err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, base)
	shots := os.Getenv("GATEHOUSE_SCREENSHOTS")
	shot := func(name string) {
		if shots == "" {
			return
		}
		buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile(filepath.Join(shots, "conference-"+name+".png"), buf, 0o644)
		}
		if err != nil {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	set := func(id, value string) {
		t.Helper()
		b.do("set #"+id, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const e = document.getElementById(%q);
			e.value = %q;
			e.dispatchEvent(new Event("change", {bubbles: true}));
		})()`, id, value)))
	}
	b.mustLogin(browserAdminUser, browserAdminPass)

	// A new conference, from an hour ago to two hours ahead.
	loc := app.Config.Location
	now := time.Now().In(loc)
	b.open("/desk/conferences/new", "conference-form")
	b.fill("f-name", "年度技术大会")
	b.fill("f-place", "Hall A")
	set("f-from", now.Add(-time.Hour).Format(datetimeLocal))
	set("f-until", now.Add(2*time.Hour).Format(datetimeLocal))
	set("f-company_id", co.ID)
	radio := fmt.Sprintf(`#host-choices input[name=host_id][value=%q]`, host.ID)
	b.fill("f-host_q", "周")
	b.waitFor("the organiser to be offered", fmt.Sprintf(`document.querySelector(%q) !== null`, radio))
	b.do("pick the organiser", chromedp.Click(chromedp.CSS(radio)))
	shot("new")
	if st := b.submit("conference-submit"); st != http.StatusOK {
		b.fatalf("create conference: status %d", st)
	}
	b.do("wait for the conference", chromedp.WaitVisible(chromedp.ID("conference")))
	b.wantFlash("flash.saved")
	confPath := b.path()

	// A list with a bad line: refused, the line named, nothing written.
	b.do("open the list form", chromedp.Click(chromedp.ID("register-link")))
	b.do("wait for the list form", chromedp.WaitVisible(chromedp.ID("register-form")))
	set("f-list", "张三,13800138000\n李四,1380013800\n")
	if st := b.submit("register-submit"); st != http.StatusUnprocessableEntity {
		b.fatalf("bad list: status %d", st)
	}
	b.do("wait for the errors", chromedp.WaitVisible(chromedp.ID("list-errors")))
	if got := b.eval(`document.querySelector("#list-errors tbody td").innerText`); got != "2" {
		b.fatalf("the error names line %q, want 2", got)
	}
	shot("errors")

	// Fifty attendees in one step.
	var list strings.Builder
	list.WriteString("姓名\t手机\t单位\n") // as pasted from a spreadsheet
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&list, "参会者%02d\t136%08d\t单位%d\n", i, i, i%4)
	}
	set("f-list", list.String())
	if st := b.submit("register-submit"); st != http.StatusOK {
		b.fatalf("register: status %d", st)
	}
	b.do("wait for the attendees", chromedp.WaitVisible(chromedp.ID("attendees")))
	b.wantFlash("flash.attendees_registered")
	if n := b.eval(`String(document.querySelectorAll("#attendees tbody tr").length)`); n != "50" {
		b.fatalf("%s attendees listed, want 50", n)
	}
	if b.path() != confPath {
		b.fatalf("after registering at %s, want %s", b.path(), confPath)
	}
	shot("detail")

	// The pass sheet, fetched as the browser's PDF viewer would.
	pdf64, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(async () => {
		const r = await fetch(document.getElementById("passes-pdf").href);
		if (!r.ok || r.headers.get("Content-Type") !== "application/pdf") return "status " + r.status;
		const bytes = new Uint8Array(await r.arrayBuffer());
		let s = ""; for (const c of bytes) s += String.fromCharCode(c);
		return btoa(s);
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatalf("fetch the pass sheet: %v", err)
	}
	pdf, err := base64.StdEncoding.DecodeString(pdf64)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		b.fatalf("pass sheet: %.40q", pdf64)
	}
	for _, tool := range []string{"pdftoppm", "zbarimg"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing", tool)
			}
			t.Skipf("%s is not installed: the sheet's codes are not decoded", tool)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "passes.pdf"), pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	// zbarimg, reading eight codes off a whole page, now and then misses
	// one; three renderings, unioned, read every code that scans (two still
	// missed one code now and then when the machine was busy).
	var tokens []string
	for _, dpi := range []string{"150", "200", "300"} {
		prefix := filepath.Join(dir, "page"+dpi)
		if out, err := exec.Command("pdftoppm", "-r", dpi, "-png", filepath.Join(dir, "passes.pdf"), prefix).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v %s", err, out)
		}
		pages, _ := filepath.Glob(prefix + "*.png")
		if len(pages) != 7 { // 8 cards a page
			t.Fatalf("%d pages, want 7", len(pages))
		}
		out, err := exec.Command("zbarimg", append([]string{"--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"}, pages...)...).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		tokens = append(tokens, strings.Fields(string(out))...)
	}
	seen := map[string]bool{}
	for _, tok := range tokens {
		v, err := app.Visits.CheckPass(tok, true)
		if err != nil || v.Mode != visit.Conference {
			t.Fatalf("decoded pass refused at the gate: %v", err)
		}
		seen[v.ID] = true
	}
	if len(seen) != 50 {
		t.Fatalf("%d distinct passes decoded from the sheet, want 50", len(seen))
	}
}

// TestConferenceUploadReadsColumnsByName: an Excel-style CSV file — BOM,
// a bilingual header in its own order with a column we ignore, a quoted
// company holding a comma and a line break, empty cells — registers every
// attendee with their own company and no mobile where none was given.
func TestConferenceUploadReadsColumnsByName(t *testing.T) {
	h := conferenceHarness(t)
	desk := h.session(auth.Reception)
	id := h.newConference(t, desk)
	file := []byte("\xEF\xBB\xBF序号,称呼,单位 Company,姓名 Name,手机/Mobile\r\n" +
		"1,Ms,,Lucy Liu,\r\n" +
		"2,,\"Acme, Inc.\r\nEast Branch\",张三,13800138000\r\n" +
		"3,先生,某某公司,王五,\r\n")
	resp := h.upload("/desk/conferences/"+id+"/register", desk, map[string]string{}, "attendees.csv", file)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register = %d %s", resp.StatusCode, readBody(t, resp))
	}
	vs, err := h.conferenceAttendees(id)
	if err != nil || len(vs) != 3 {
		t.Fatalf("%d attendees (%v)", len(vs), err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Visitor.Name+"|"+v.Visitor.Title+"|"+v.Visitor.Company+"|"+v.Visitor.MobileMasked)
	}
	if want := "Lucy Liu|Ms||; 张三||Acme, Inc. East Branch|138****8000; 王五|先生|某某公司|"; strings.Join(got, "; ") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, "; "), want)
	}
}
