package ui

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/jpeg"
	stdpng "image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/gate"
)

// TestBookingFlowOverHTTP walks a pre-booked visit through the real router:
// the visitor books, the host approves, the status page shows a pass whose
// PNG a real QR decoder reads back to a token the gate accepts.
func TestBookingFlowOverHTTP(t *testing.T) {
	h := newHarness(t)
	day := h.clock.Now().In(h.app.Config.Location).Format("2006-01-02")
	form := url.Values{"name": {"赵 Visitor"}, "title": {"先生"}, "mobile": {"12"}, "id_last6": {"12345X"},
		"host_id": {h.ids["{person}"]}, "reason": {"Interview"}, "date": {day}, "from": {"18:00"}, "until": {"19:00"}, "party": {"2"}}

	// A bad field comes back marked, nothing booked.
	resp := h.do(req{method: "POST", path: "/book", form: form})
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-mobile"`) {
		t.Fatalf("bad booking = %d", resp.StatusCode)
	}
	form.Set("mobile", "13700137001")
	// Booked: straight to the status page, which says to keep its link and
	// polls its own card.
	link := statusLink(t, h.do(req{method: "POST", path: "/book", form: form}))
	b := readBody(t, h.do(req{method: "GET", path: link}))
	if !strings.Contains(b, `data-state="requested"`) || strings.Contains(b, "pass-qr") {
		t.Fatal("status page before approval is wrong")
	}
	if !strings.Contains(b, `id="keep-link"`) || !strings.Contains(b, `hx-get="`+link+`/live"`) || !strings.Contains(b, `hx-trigger="every 5s"`) {
		t.Fatal("the status page neither says to keep its link nor updates itself")
	}

	// The host sees it waiting and approves.
	host := h.session(auth.Host)
	page := readBody(t, h.do(req{method: "GET", path: "/host/visits", session: host}))
	ids := regexp.MustCompile(`id="approve-([0-9a-z]{16})"`).FindAllStringSubmatch(page, -1)
	if len(ids) != 2 { // the harness's own booking and this one
		t.Fatalf("%d pending visits on the host page, want 2", len(ids))
	}
	var ours string
	for _, id := range ids {
		if v, _ := h.app.Visits.Get(id[1]); v.Visitor.Name == "赵 Visitor" {
			ours = id[1]
		}
	}
	// Declining needs a reason.
	resp = h.do(req{method: "POST", path: "/host/visits/" + ours + "/reject", session: host})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("reject without reason = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/host/visits/" + ours + "/approve", session: host})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve = %d", resp.StatusCode)
	}
	if b := readBody(t, h.do(req{method: "GET", path: link})); !strings.Contains(b, `data-state="approved"`) || !strings.Contains(b, `id="pass-qr"`) {
		t.Fatal("status page after approval shows no pass")
	}
	// The live card alone, as the page's poll fetches it.
	live := h.do(req{method: "GET", path: link + "/live"})
	if b := readBody(t, live); live.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(b), `<section`) ||
		!strings.Contains(b, `data-state="approved"`) || !strings.Contains(b, `id="pass-qr"`) || strings.Contains(b, "<html") ||
		live.Header.Get("Cache-Control") != "no-store" || live.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("live card = %d %q", live.StatusCode, b)
	}
	resp = h.do(req{method: "GET", path: "/desk/today", session: h.session(auth.Reception)})
	if b := readBody(t, resp); !strings.Contains(b, "today-"+ours) {
		t.Fatal("reception's list of today's visits lacks the visit")
	}

	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("zbarimg missing in CI")
		}
		t.Skip("zbarimg not installed")
	}
	png := h.do(req{method: "GET", path: link + "/pass.png"})
	if png.StatusCode != http.StatusOK || png.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("pass.png = %d %s", png.StatusCode, png.Header.Get("Content-Type"))
	}
	// The picture is the branded pass (appliance/pass/card.go), taller
	// than wide, not a bare QR square.
	pic := []byte(readBody(t, png))
	if cfg, err := stdpng.DecodeConfig(bytes.NewReader(pic)); err != nil || cfg.Width != 720 || cfg.Height <= cfg.Width {
		t.Fatalf("pass.png is %dx%d (%v), want the 720 px wide pass card", cfg.Width, cfg.Height, err)
	}
	p := filepath.Join(t.TempDir(), "pass.png")
	os.WriteFile(p, pic, 0o600)
	out, err := exec.Command(zbar, "--raw", "-q", p).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	h.clock.Advance(90 * time.Minute) // 17:00 → 18:30 in Shanghai: inside the 18:00–19:00 window
	v, err := h.app.Visits.CheckPass(strings.TrimSpace(string(out)), true)
	if err != nil || v.ID != ours {
		t.Fatalf("scanned pass: %v (visit %s)", err, v.ID)
	}
}

func TestBookingHostSearchShowsOnlyAFewHosts(t *testing.T) {
	h := newHarness(t)
	b := readBody(t, h.do(req{method: "GET", path: "/book/hosts?company_id=" + h.ids["{company}"] + "&host_q=wa"}))
	if !strings.Contains(b, `value="`+h.ids["{person}"]+`"`) {
		t.Fatal("host not found by name within the company")
	}
	for _, q := range []string{"?company_id=" + h.ids["{company}"], "?host_q=wa", ""} {
		b := readBody(t, h.do(req{method: "GET", path: "/book/hosts" + q}))
		if strings.Contains(b, "radio") {
			t.Fatalf("hosts listed for %q without both a company and a name", q)
		}
	}
}

func TestWalkInWithBadgeOverHTTP(t *testing.T) {
	h := newHarness(t)
	desk := h.session(auth.Reception)
	b := readBody(t, h.do(req{method: "GET", path: "/desk/hosts?host_q=wang", session: desk}))
	if !strings.Contains(b, `href="tel:13800138000"`) {
		t.Fatal("reception's host search has no phone to call")
	}
	form := url.Values{"name": {"Walk In"}, "mobile": {"13700137002"}, "host_id": {h.ids["{person}"]}, "reason": {"Delivery"},
		"until": {"23:30"}, "badge": {"T-01"}, "id_number": {"E1234567"}}
	resp := h.do(req{method: "POST", path: "/desk/walkin", form: form, session: desk})
	if b := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(b, `id="issued-badge"`) || !strings.Contains(b, `id="pass-qr"`) {
		t.Fatalf("walk-in = %d", resp.StatusCode)
	}
	b = readBody(t, h.do(req{method: "GET", path: "/desk/today?badges=out", session: desk}))
	m := regexp.MustCompile(`id="return-([0-9a-z]{16})"`).FindStringSubmatch(b)
	if m == nil {
		t.Fatal("unreturned badge not listed")
	}
	if resp := h.do(req{method: "POST", path: "/desk/visits/" + m[1] + "/badge-return", session: desk}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("badge return = %d", resp.StatusCode)
	}
	if b := readBody(t, h.do(req{method: "GET", path: "/desk/today?badges=out", session: desk})); strings.Contains(b, "return-"+m[1]) {
		t.Fatal("returned badge still listed")
	}
	form.Set("mobile", "99")
	if resp := h.do(req{method: "POST", path: "/desk/walkin", form: form, session: desk}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad walk-in = %d", resp.StatusCode)
	}
}

func TestRecordsAndHistoryPages(t *testing.T) {
	h := newHarness(t)
	desk := h.session(auth.Reception)
	b := readBody(t, h.do(req{method: "GET", path: "/desk/records", session: desk}))
	m := regexp.MustCompile(`href="/desk/visits/([0-9a-z]{16})/history"`).FindStringSubmatch(b)
	if m == nil {
		t.Fatal("today's booking missing from the records")
	}
	if b := readBody(t, h.do(req{method: "GET", path: "/desk/records?name=nobody", session: desk})); strings.Contains(b, "record-") {
		t.Fatal("name filter ignored")
	}
	if resp := h.do(req{method: "GET", path: "/desk/records?from=2026-12-01&to=2026-11-01", session: desk}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("inverted range = %d", resp.StatusCode)
	}
	b = readBody(t, h.do(req{method: "GET", path: "/desk/visits/" + m[1] + "/history", session: desk}))
	if !strings.Contains(b, `id="visit-count"`) || !strings.Contains(b, "record-"+m[1]) {
		t.Fatal("visitor history page incomplete")
	}
}

func TestVisitsAPI(t *testing.T) {
	h := newHarness(t)
	tok := h.tokens[auth.Reception]
	now := h.clock.Now()
	body := `{"name":"API Guest","mobile":"13600136001","host_id":"{person}","reason":"Demo","from":"` +
		now.Add(time.Hour).Format(time.RFC3339) + `","until":"` + now.Add(2*time.Hour).Format(time.RFC3339) + `"}`
	resp := h.do(req{method: "POST", path: "/api/v1/visits", token: tok, body: body})
	b := readBody(t, resp)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(b, `"state":"approved"`) || !strings.Contains(b, `"status_link":"/v/`) ||
		strings.Contains(b, "13600136001") {
		t.Fatalf("create = %d %s", resp.StatusCode, b)
	}
	b = readBody(t, h.do(req{method: "GET", path: "/api/v1/visits", token: tok}))
	if !strings.Contains(b, `"total":2`) {
		t.Fatalf("list = %s", b)
	}
	// The harness's booking waits for a decision.
	resp = h.do(req{method: "POST", path: "/api/v1/visits/{visit}/reject", token: tok, body: `{"reason":""}`})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("reject without reason = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/api/v1/visits/{visit}/approve", token: tok})
	if b := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(b, `"state":"approved"`) {
		t.Fatalf("approve = %d %s", resp.StatusCode, b)
	}
	if resp := h.do(req{method: "POST", path: "/api/v1/visits/{visit}/approve", token: tok}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second approve = %d", resp.StatusCode)
	}
	if resp := h.do(req{method: "GET", path: "/api/v1/visits?from=yesterday", token: tok}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad from = %d", resp.StatusCode)
	}
}

func TestKioskFlow(t *testing.T) {
	h := newHarness(t)
	// Staff start kiosk mode: their session ends, the tablet gets a kiosk cookie.
	resp := h.do(req{method: "POST", path: "/kiosk/start", session: h.session(auth.Reception)})
	ck := cookieNamed(resp, kioskCookie)
	if resp.StatusCode != http.StatusSeeOther || ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Fatalf("kiosk start = %d %+v", resp.StatusCode, ck)
	}
	if s := cookieNamed(resp, sessionCookie); s == nil || s.MaxAge >= 0 {
		t.Fatal("staff session not ended on the kiosk tablet")
	}
	get := func(path, cookie string) *http.Response {
		hr, _ := http.NewRequest("GET", h.ts.URL+path, nil)
		hr.AddCookie(&http.Cookie{Name: kioskCookie, Value: cookie})
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		r, err := c.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Body.Close() })
		return r
	}
	if r := get("/kiosk", ck.Value); r.StatusCode != http.StatusOK {
		t.Fatalf("kiosk home = %d", r.StatusCode)
	}
	if r := get("/kiosk", ck.Value[:len(ck.Value)-2]+"xx"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("forged kiosk cookie = %d", r.StatusCode)
	}
	if r := get("/directory/people", ck.Value); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("kiosk cookie opened a staff page: %d", r.StatusCode)
	}
	form := url.Values{"name": {"Kiosk Guest"}, "mobile": {"13600136002"}, "id_last6": {"654321"},
		"host_id": {h.ids["{person}"]}, "reason": {"Parcel"}}
	resp = h.do(req{method: "POST", path: "/kiosk/register", form: form, kiosk: true})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/kiosk/wait/") {
		t.Fatalf("kiosk register = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	wait := resp.Header.Get("Location")
	b := readBody(t, h.do(req{method: "GET", path: wait, kiosk: true}))
	if !strings.Contains(b, `data-state="requested"`) || !strings.Contains(b, `hx-trigger="every 3s"`) || !strings.Contains(b, `data-idle="120"`) {
		t.Fatal("waiting page does not poll")
	}
	v, err := h.app.Visits.ByLink(strings.TrimPrefix(wait, "/kiosk/wait/"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.Visits.Decide(context.Background(), "test", v.ID, h.ids["{person}"], true, ""); err != nil {
		t.Fatal(err)
	}
	b = readBody(t, h.do(req{method: "GET", path: wait, kiosk: true}))
	if !strings.Contains(b, `id="pass-qr"`) || !strings.Contains(b, `id="link-qr"`) || strings.Contains(b, "every 3s") {
		t.Fatal("approved kiosk page shows no pass")
	}
	// The kiosk shows no more of the directory than the host search result.
	if b := readBody(t, h.do(req{method: "GET", path: "/kiosk/hosts", kiosk: true})); strings.Contains(b, "radio") {
		t.Fatal("kiosk lists hosts without a search")
	}
}

func TestWalkInPhoto(t *testing.T) {
	h := newHarness(t)
	desk := h.session(auth.Reception)
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 40, 30)), nil)
	form := url.Values{"name": {"Photo Guest"}, "mobile": {"13700137003"}, "host_id": {h.ids["{person}"]}, "reason": {"Visit"},
		"until": {"23:30"}, "photo": {"data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}}
	if resp := h.do(req{method: "POST", path: "/desk/walkin", form: form, session: desk}); resp.StatusCode != http.StatusOK {
		t.Fatalf("walk-in with photo = %d", resp.StatusCode)
	}
	b := readBody(t, h.do(req{method: "GET", path: "/desk/today", session: desk}))
	m := regexp.MustCompile(`src="/desk/visits/([0-9a-z]{16})/photo"`).FindStringSubmatch(b)
	if m == nil {
		t.Fatal("no photo on today's list")
	}
	resp := h.do(req{method: "GET", path: "/desk/visits/" + m[1] + "/photo", session: desk})
	if got := readBody(t, resp); resp.Header.Get("Content-Type") != "image/jpeg" || got != buf.String() {
		t.Fatalf("photo = %s, %d bytes", resp.Header.Get("Content-Type"), len(got))
	}
	form.Set("photo", "data:image/png;base64,AAAA")
	if resp := h.do(req{method: "POST", path: "/desk/walkin", form: form, session: desk}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad photo = %d", resp.StatusCode)
	}
}

func TestWalkInFilledFromDocument(t *testing.T) {
	h := newHarness(t)
	desk := h.session(auth.Reception)
	td3 := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
	b := readBody(t, h.do(req{method: "POST", path: "/desk/walkin/document", form: url.Values{"mrz": {td3}}, session: desk}))
	for _, want := range []string{`value="ANNA MARIA ERIKSSON"`, `value="L898902C3"`, `value="UTO"`, `value="1974-08-12"`,
		`value="2012-04-15"`, `<option value="F" selected>`} {
		if !strings.Contains(b, want) {
			t.Fatalf("walk-in form not filled from the document: no %s", want)
		}
	}
	bad := strings.Replace(td3, "7408122", "7408123", 1) // birth date check digit broken
	resp := h.do(req{method: "POST", path: "/desk/walkin/document", form: url.Values{"mrz": {bad}}, session: desk})
	b = readBody(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b, `id="e-mrz"`) {
		t.Fatalf("bad check digit = %d", resp.StatusCode)
	}
	// The field is named: the birth date is marked, the number is not.
	if !strings.Contains(b, `id="e-birth"`) || strings.Contains(b, `id="e-id_number"`) || !strings.Contains(b, `value="ANNA MARIA ERIKSSON"`) {
		t.Fatal("the failed check digit does not name the birth date, or the form lost the read")
	}
}

func TestMyQuickPassPage(t *testing.T) {
	h := newHarness(t)
	host := h.session(auth.Host)
	if b := readBody(t, h.do(req{method: "GET", path: "/my/pass", session: host})); !strings.Contains(b, "mypass") && strings.Contains(b, `id="get-pass"`) {
		t.Fatal("offered a quick pass without a card")
	}
	ctx := context.Background()
	z, _ := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	g, _ := h.app.Access.SaveGroup(ctx, "t", access.Group{Name: "All", ZoneIDs: []string{z.ID}})
	if _, err := h.app.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "CAFEBABE", HolderKind: access.HolderEmployee,
		HolderID: h.ids["{person}"], HolderName: "Wang", GroupIDs: []string{g.ID}}); err != nil {
		t.Fatal(err)
	}
	if b := readBody(t, h.do(req{method: "GET", path: "/my/pass", session: host})); !strings.Contains(b, `id="get-pass"`) {
		t.Fatal("no offer of a quick pass with a card")
	}
	if resp := h.do(req{method: "POST", path: "/my/pass", session: host}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("get pass = %d", resp.StatusCode)
	}
	b := readBody(t, h.do(req{method: "GET", path: "/my/pass", session: host}))
	if !strings.Contains(b, `id="pass-qr"`) || !strings.Contains(b, `hx-trigger="every 5s"`) {
		t.Fatal("quick pass page shows no rotating code")
	}
}

func TestGuardStationCountsAndMuster(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	z, _ := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby", Passback: access.PassbackHard})
	l, _ := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "Gate 1", ZoneID: z.ID, Visitors: true})
	g, _ := h.app.Access.SaveGroup(ctx, "t", access.Group{Name: "All", ZoneIDs: []string{z.ID}})
	if _, err := h.app.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "0BADF00D", HolderKind: access.HolderEmployee,
		HolderID: h.ids["{person}"], HolderName: "Wang", GroupIDs: []string{g.ID}}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"0BADF00D", "0BADF00D", "FFFF0000"} { // grant, anti-passback (alarm), unknown
		if _, err := h.app.Access.Decide(ctx, gate.Presentation{Lane: l.ID, Direction: gate.In, Kind: gate.Card, Value: v, Device: "t"}); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Second)
	}
	// The counts and the acknowledgement read the store: ship the gate's
	// events first.
	if err := h.app.Access.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	guard := h.session(auth.Reception)
	b := readBody(t, h.do(req{method: "GET", path: "/guard", session: guard}))
	for _, want := range []string{`id="inside-count">1<`, `id="inside-companies"`, "Acme", `id="inside-floors"`, "alarm-"} {
		if !strings.Contains(b, want) {
			t.Errorf("guard station lacks %s", want)
		}
	}
	b = readBody(t, h.do(req{method: "GET", path: "/guard/muster", session: guard}))
	if !strings.Contains(b, "Wang") || !strings.Contains(b, `id="muster-total"`) {
		t.Fatal("muster list lacks the person inside")
	}
	// Acknowledging needs a note; with one, the alarm leaves the station.
	m := regexp.MustCompile(`id="ack-([0-9a-f]{24})"`).FindStringSubmatch(readBody(t, h.do(req{method: "GET", path: "/guard", session: guard})))
	if m == nil {
		t.Fatal("no alarm to acknowledge")
	}
	h.do(req{method: "POST", path: "/guard/alarms/" + m[1] + "/ack", session: guard, form: url.Values{"note": {""}}})
	if as, _ := h.app.Access.Alarms(true, 10); len(as) != 1 {
		t.Fatal("acknowledged without a note")
	}
	h.do(req{method: "POST", path: "/guard/alarms/" + m[1] + "/ack", session: guard, form: url.Values{"note": {"spoke to him"}}})
	if as, _ := h.app.Access.Alarms(true, 10); len(as) != 0 {
		t.Fatal("alarm still open after acknowledgement")
	}
	// Manual opening needs a reason; without a relay it is logged and said.
	resp := h.do(req{method: "POST", path: "/guard/open", session: guard, form: url.Values{"lane_id": {l.ID}}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("manual open without reason = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/guard/open", session: guard, form: url.Values{"lane_id": {l.ID}, "reason": {"delivery trolley"}}})
	if b := readBody(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(b, `id="open-msg"`) {
		t.Fatalf("manual open without relay = %d", resp.StatusCode)
	}
}

func TestGuardStreamLiveRows(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	z, _ := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	l, _ := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "Gate 9", ZoneID: z.ID})
	resp := h.do(req{method: "GET", path: "/guard/stream", session: h.session(auth.Reception)})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	got := make(chan string, 1)
	go func() {
		br := bufio.NewReader(resp.Body)
		var b strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				got <- b.String()
				return
			}
			b.WriteString(line)
			if strings.Contains(b.String(), "event: gate") && line == "\n" {
				got <- b.String()
				return
			}
		}
	}()
	// The handler subscribes before it answers, so a presentation now is seen.
	if _, err := h.app.Access.Decide(ctx, gate.Presentation{Lane: l.ID, Direction: gate.In, Kind: gate.Card, Value: "DEADBEEF", Device: "t"}); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if !strings.Contains(s, "event: gate") || !strings.Contains(s, "Gate 9") {
			t.Fatalf("stream said %q", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no live row")
	}
}

// An alarm no decision raised (a door, a sweep, the key room) reaches the
// open guard stations at once.
func TestGuardStreamRaisedAlarm(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	z, _ := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	l, _ := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "Side door", ZoneID: z.ID})
	resp := h.do(req{method: "GET", path: "/guard/stream", session: h.session(auth.Reception)})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream = %d", resp.StatusCode)
	}
	got := make(chan string, 1)
	go func() {
		br := bufio.NewReader(resp.Body)
		var b strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				got <- b.String()
				return
			}
			b.WriteString(line)
			if strings.Contains(b.String(), "event: alarm") && line == "\n" {
				got <- b.String()
				return
			}
		}
	}()
	if err := h.app.Access.Raise(ctx, "system", access.AlarmDoorForced, l.ID, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if !strings.Contains(s, "event: alarm") || !strings.Contains(s, "Side door") {
			t.Fatalf("stream said %q", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no live alarm")
	}
}

// TestBookingHostSearchNeedsTwoCharactersAndShowsFive: one character finds
// nobody, a common surname lists at most five hosts by name only (a floor
// only to tell two of one name apart), and the search is rate-limited.
// Before, 50 one-character searches listed every host with floor and ID.
func TestBookingHostSearchNeedsTwoCharactersAndShowsFive(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	co := h.ids["{company}"]
	fl := h.ids["{floor}"]
	for i := range 8 {
		name := fmt.Sprintf("Wang %c", 'A'+i)
		if i == 7 {
			name = "Wang A" // two of one name: the floor tells them apart
		}
		if _, err := h.app.Directory.SavePerson(ctx, "test", directory.Person{Kind: directory.Employee, Name: name,
			Mobile: fmt.Sprintf("1390000000%d", i), CompanyID: co, FloorID: fl, EmployeeNo: fmt.Sprint("W", i), CanHost: true}); err != nil {
			t.Fatal(err)
		}
	}
	search := func(q string) string {
		return readBody(t, h.do(req{method: "GET", path: "/book/hosts?company_id=" + co + "&host_q=" + url.QueryEscape(q)}))
	}
	if b := search("W"); strings.Contains(b, "radio") || !strings.Contains(b, `id="host-short"`) {
		t.Fatal("a one-character search lists hosts, or says nothing")
	}
	b := search("Wang A")
	if n := strings.Count(b, `type="radio"`); n != 2 || strings.Count(b, ">1F<") != 2 {
		t.Fatalf("two hosts of one name: %d listed, floors shown %d times", n, strings.Count(b, ">1F<"))
	}
	b = search("wa")
	if n := strings.Count(b, `type="radio"`); n != maxHostChoices {
		t.Fatalf("%d hosts listed for a common name, want %d", n, maxHostChoices)
	}
	limited := false
	for range 60 {
		resp := h.do(req{method: "GET", path: "/book/hosts?company_id=" + co + "&host_q=wa"})
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("60 searches at once were never rate-limited")
	}
}

// statusLink is the status page a booking answered with: a redirect to
// /v/ and the link's token, never a page of its own.
func statusLink(t *testing.T, resp *http.Response) string {
	t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !regexp.MustCompile(`^/v/[A-Za-z0-9_-]{43}$`).MatchString(loc) {
		t.Fatalf("booking = %d to %q, want a redirect to its status page", resp.StatusCode, loc)
	}
	resp.Body.Close()
	return loc
}

// TestStatusDeadEndsGiveAWayForward: a declined visit's page and a link
// that leads to no visit both offer to book again and the front desk's
// number from the site settings, in both languages; the live card of an
// unknown link is a plain 404, and a declined visit's page stops polling.
func TestStatusDeadEndsGiveAWayForward(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	set := map[string]string{}
	for _, k := range config.SiteKeys {
		set[k] = h.app.Settings().Get(k)
	}
	set["desk_phone"] = "+86 21 5555-0100"
	if _, err := h.app.SaveSettings(ctx, "account:admin", set); err != nil {
		t.Fatal(err)
	}
	day := h.clock.Now().In(h.app.Config.Location).Format("2006-01-02")
	form := url.Values{"name": {"Declined Visitor"}, "mobile": {"13700137002"}, "id_last6": {"123456"},
		"host_id": {h.ids["{person}"]}, "reason": {"Sales"}, "date": {day}, "from": {"18:00"}, "until": {"19:00"}, "party": {"1"}}
	link := statusLink(t, h.do(req{method: "POST", path: "/book", form: form}))
	v, err := h.app.Visits.ByLink(strings.TrimPrefix(link, "/v/"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.Visits.Decide(ctx, "account:host", v.ID, "", false, "Not this week"); err != nil {
		t.Fatal(err)
	}
	unknown := "/v/" + strings.Repeat("A", 43)
	for _, lang := range []string{"en", "zh-CN"} {
		hdr := map[string]string{"Accept-Language": lang}
		resp := h.do(req{method: "GET", path: link, header: hdr})
		b := readBody(t, resp)
		if resp.StatusCode != http.StatusOK || !strings.Contains(b, `data-state="rejected"`) || !strings.Contains(b, `id="book-again"`) ||
			!strings.Contains(b, `href="tel:+862155550100"`) || strings.Contains(b, "hx-trigger") {
			t.Fatalf("%s: declined page = %d, want a way forward and no polling:\n%s", lang, resp.StatusCode, b)
		}
		resp = h.do(req{method: "GET", path: unknown, header: hdr})
		b = readBody(t, resp)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(b, `id="visit-unknown"`) || !strings.Contains(b, `href="/book"`) ||
			!strings.Contains(b, "+86 21 5555-0100") {
			t.Fatalf("%s: unknown link = %d, want a way forward:\n%s", lang, resp.StatusCode, b)
		}
	}
	for _, p := range []string{unknown + "/live", unknown + "/pass.png", link + "/pass.png"} {
		if resp := h.do(req{method: "GET", path: p}); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s = %d, want 404", p, resp.StatusCode)
		}
	}
	// The picture is drawn per request, so it has a tighter limit than
	// the pages; the live card polls under the public one.
	limited := false
	for range 15 {
		resp := h.do(req{method: "GET", path: link + "/pass.png"})
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("15 pass pictures at once were never rate-limited")
	}
	for range 30 {
		if resp := h.do(req{method: "GET", path: link + "/live"}); resp.StatusCode != http.StatusOK {
			t.Fatalf("live card polled = %d", resp.StatusCode)
		}
	}
}
