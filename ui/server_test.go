package ui

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/visit"
)

// harness is a real server on loopback over a real store.
type harness struct {
	t        *testing.T
	app      *appliance.App
	srv      *Server
	ts       *httptest.Server
	clock    *clock.Fake
	accounts map[auth.Role]auth.Account
	tokens   map[auth.Role]string
	ids      map[string]string // placeholders for path parameters
	dir      string            // the data directory, for restarting on it
	cfg      config.Config
}

// testCSRF is the anonymous CSRF cookie tests send (43 characters, as the
// appliance makes them); csrfToken gives the token that goes with it.
const testCSRF = "test-csrf-cookie-0123456789abcdef0123456789"

// csrfToken is the right form token for a session, or for testCSRF when
// session is empty.
func (h *harness) csrfToken(session string) string {
	if session != "" {
		return h.srv.csrfFor(session, "")
	}
	return h.srv.csrfFor("", testCSRF)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessEnv(t)
}

// newHarnessEnv is newHarness with GATEHOUSE_ variables ("KEY=value") set.
func newHarnessEnv(t *testing.T, env ...string) *harness {
	t.Helper()
	cfg, err := config.Load("", env)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	app, err := appliance.Open(context.Background(), dir, cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessApp(t, app, clk)
	h.dir, h.cfg = dir, cfg
	return h
}

// restart stops the server and the appliance, and opens both again on the
// same data directory, as a restart of the service does.
func (h *harness) restart() {
	h.t.Helper()
	if h.dir == "" {
		h.t.Fatal("restart: the harness has no data directory of its own")
	}
	h.ts.Close()
	h.srv.Close()
	if err := h.app.Close(); err != nil {
		h.t.Fatal(err)
	}
	app, err := appliance.Open(context.Background(), h.dir, h.cfg, h.clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		h.t.Fatal(err)
	}
	h.app = app
	h.srv = New(app, Options{})
	h.ts = httptest.NewServer(h.srv.Handler())
}

// newHarnessApp is the harness over an appliance already open.
func newHarnessApp(t *testing.T, app *appliance.App, clk *clock.Fake) *harness {
	t.Helper()
	ctx := context.Background()
	srv := New(app, Options{})
	ts := httptest.NewServer(srv.Handler())
	h := &harness{t: t, app: app, srv: srv, ts: ts, clock: clk, accounts: map[auth.Role]auth.Account{}, tokens: map[auth.Role]string{}, ids: map[string]string{}}

	f, err := app.Directory.SaveFloor(ctx, "test", directory.Floor{Name: "1F", Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	co, err := app.Directory.SaveCompany(ctx, "test", directory.Company{Name: "Acme", FloorIDs: []string{f.ID}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := app.Directory.SavePerson(ctx, "test", directory.Person{Kind: directory.Employee, Name: "Wang", Mobile: "13800138000",
		CompanyID: co.ID, FloorID: f.ID, EmployeeNo: "E1", CanHost: true})
	if err != nil {
		t.Fatal(err)
	}
	// What is open at the end (a restart replaces them) closes.
	t.Cleanup(func() { h.ts.Close(); h.srv.Close(); h.app.Close() })
	for _, r := range auth.Roles {
		a, err := app.Auth.CreateAccount(ctx, "test", auth.NewAccount{Username: "u-" + string(r), Name: string(r), Role: r, Password: "password-" + string(r)})
		if err != nil {
			t.Fatal(err)
		}
		h.accounts[r] = a
		tok, _, err := app.Auth.CreateToken(ctx, "test", "t-"+string(r), r)
		if err != nil {
			t.Fatal(err)
		}
		h.tokens[r] = tok
	}
	victim, err := app.Auth.CreateAccount(ctx, "test", auth.NewAccount{Username: "victim", Name: "V", Role: auth.Host, Password: "victim-password"})
	if err != nil {
		t.Fatal(err)
	}
	_, vt, err := app.Auth.CreateToken(ctx, "test", "victim", auth.Host)
	if err != nil {
		t.Fatal(err)
	}
	// The host account is linked to the employee, who receives a booking.
	ha := h.accounts[auth.Host]
	ha.PersonID = p.ID
	if err := app.Auth.Update(ctx, "test", ha); err != nil {
		t.Fatal(err)
	}
	h.accounts[auth.Host] = ha
	v, link, err := app.Visits.Book(ctx, visit.Request{Name: "Visitor", Mobile: "13700137000", IDLast6: "123456", HostID: p.ID,
		Reason: "Meeting", From: clk.Now().Add(time.Hour), Until: clk.Now().Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	h.ids = map[string]string{"{floor}": f.ID, "{company}": co.ID, "{person}": p.ID, "{account}": victim.ID, "{token}": vt.ID,
		"{job}": "0000000000000000", "{visit}": v.ID, "{link}": link, "{screen}": "0000000000000000", "{alarm}": "000000000000000000000000"}
	return h
}

// session signs role in without the password round trip (argon2 is slow).
func (h *harness) session(role auth.Role) string {
	return h.srv.testSession(h.accounts[role].ID, h.clock.Now()).id
}

type req struct {
	method, path string
	form         url.Values
	session      string // session cookie
	kiosk        bool   // send a valid kiosk cookie
	token        string // API bearer token
	csrf         string // "" = send the right token; "-" = none; other = that value
	header       map[string]string
	body         string
	from         string // the client's own address (127.0.0.0/8), for per-address rules
}

func (h *harness) do(r req) *http.Response {
	h.t.Helper()
	for k, v := range h.ids {
		r.path = strings.ReplaceAll(r.path, k, v)
		r.body = strings.ReplaceAll(r.body, k, v)
	}
	var body io.Reader
	form := url.Values{}
	for k, v := range r.form {
		form[k] = v
	}
	if r.method != "GET" && r.csrf != "-" && !strings.HasPrefix(r.path, "/api/") {
		tok := h.csrfToken(r.session)
		if r.csrf != "" {
			tok = r.csrf
		}
		form.Set("_csrf", tok)
	}
	ctype := ""
	switch {
	case r.body != "":
		body, ctype = strings.NewReader(r.body), "application/json"
	case r.method != "GET":
		body, ctype = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	}
	hr, err := http.NewRequest(r.method, h.ts.URL+r.path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	hr.AddCookie(&http.Cookie{Name: "gh_csrf", Value: testCSRF})
	if r.session != "" {
		hr.AddCookie(&http.Cookie{Name: sessionCookie, Value: r.session})
	}
	if r.kiosk {
		hr.AddCookie(&http.Cookie{Name: kioskCookie, Value: h.srv.kioskValue("0000000000000000", h.clock.Now().Add(time.Hour))})
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if r.from != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(r.from)}}
		c.Transport = &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	}
	resp, err := c.Do(hr)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readBody(t *testing.T, r *http.Response) string {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// routeAccess is who may use each route, written out independently of
// routes.go so that a change to either is caught.
var routeAccess = []struct {
	method, path string
	allowed      string // roles, or "public"
}{
	{"GET", "/healthz", "public"},
	{"GET", "/metrics", "metrics"}, // admin token, or loopback: TestMetricsAccess
	{"GET", "/static/app.css", "public"},
	{"GET", "/login", "public"},
	{"POST", "/login", "public"},
	{"GET", "/signup", "public"},
	{"POST", "/signup", "public"},
	{"POST", "/signup/verify", "public"},
	{"POST", "/lang", "public"},
	{"GET", "/events.js", "public"},
	{"POST", "/isapi/events/{token}/{link}", "public"},
	{"GET", "/book", "public"},
	{"POST", "/book", "public"},
	{"POST", "/book/verify", "public"},
	{"POST", "/book/resend", "public"},
	{"GET", "/book/hosts", "public"},
	{"GET", "/v/{link}", "public"},
	{"GET", "/v/{link}/live", "public"},
	{"GET", "/v/{link}/pass.png", "public"},
	{"GET", "/host/visits", "host"},
	{"GET", "/host/visits/{visit}", "host"},
	{"GET", "/account/notify", "host"},
	{"POST", "/account/notify", "host"},
	{"POST", "/host/visits/{visit}/approve", "host"},
	{"POST", "/host/visits/{visit}/reject", "host"},
	{"GET", "/guard", "admin manager reception"},
	{"GET", "/guard/stream", "admin manager reception"},
	{"GET", "/guard/muster", "admin manager reception"},
	{"GET", "/flow", "admin manager reception"},
	{"GET", "/flow/live", "admin manager reception"},
	{"GET", "/reports", "admin manager"},
	{"GET", "/reports.csv", "admin manager"},
	{"GET", "/reports.xlsx", "admin manager"},
	{"GET", "/reports.pdf", "admin manager"},
	{"GET", "/reports/attendance", "admin manager"},
	{"GET", "/reports/attendance.csv", "admin manager"},
	{"GET", "/reports/attendance.xlsx", "admin manager"},
	{"POST", "/guard/open", "admin manager reception"},
	{"POST", "/guard/admit", "admin manager reception"},
	{"POST", "/guard/alarms/{alarm}/ack", "admin manager reception"},
	{"GET", "/desk/today", "admin manager reception"},
	{"GET", "/desk/records", "admin manager reception"},
	{"GET", "/desk/records.csv", "admin manager reception"},
	{"GET", "/desk/records.xlsx", "admin manager reception"},
	{"GET", "/desk/visitors", "admin manager reception"},
	{"GET", "/desk/visitors.csv", "admin manager reception"},
	{"GET", "/desk/visitors.xlsx", "admin manager reception"},
	{"GET", "/desk/visits/{visit}/history", "admin manager reception"},
	{"GET", "/desk/walkin", "admin manager reception"},
	{"POST", "/desk/walkin", "admin manager reception"},
	{"GET", "/desk/hosts", "admin manager reception"},
	{"POST", "/desk/walkin/document", "admin manager reception"},
	{"GET", "/desk/walkin/reads", "admin manager reception"},
	{"GET", "/desk/visits/{visit}", "admin manager reception"},
	{"POST", "/desk/visits/{visit}/admit", "admin manager reception"},
	{"POST", "/desk/visits/{visit}/checkout", "admin manager reception"},
	{"POST", "/desk/visits/{visit}/badge", "admin manager reception"},
	{"POST", "/desk/visits/{visit}/badge-return", "admin manager reception"},
	{"POST", "/desk/visits/{visit}/resend", "admin manager reception"},
	{"POST", "/desk/visits/{visit}/slip", "admin manager reception"},
	{"POST", "/desk/visits/{visit}/face/withdraw", "admin manager reception"},
	{"GET", "/desk/visits/{visit}/photo", "admin manager reception"},
	{"GET", "/desk/today.csv", "admin manager reception"},
	{"GET", "/desk/today.xlsx", "admin manager reception"},
	{"GET", "/desk/conferences", "admin manager reception"},
	{"GET", "/desk/conferences/new", "admin manager reception"},
	{"POST", "/desk/conferences", "admin manager reception"},
	{"GET", "/desk/conferences/{visit}", "admin manager reception"},
	{"GET", "/desk/conferences/{visit}/register", "admin manager reception"},
	{"POST", "/desk/conferences/{visit}/register", "admin manager reception"},
	{"GET", "/desk/conferences/{visit}/passes.pdf", "admin manager reception"},
	{"GET", "/desk/conferences/{visit}/attendees.csv", "admin manager reception"},
	{"GET", "/desk/conferences/{visit}/attendees.xlsx", "admin manager reception"},
	{"GET", "/host/invite", "host"},
	{"POST", "/host/invite", "host"},
	{"GET", "/screening", "admin manager reception"},
	{"POST", "/screening", "admin manager"},
	{"POST", "/screening/{screen}/remove", "admin manager"},
	{"GET", "/kiosk", "kiosk"},
	{"GET", "/kiosk/register", "kiosk"},
	{"POST", "/kiosk/register", "kiosk"},
	{"GET", "/kiosk/hosts", "kiosk"},
	{"GET", "/kiosk/wait/{link}", "kiosk"},
	{"POST", "/kiosk/start", "admin manager reception"},
	{"POST", "/logout", "admin manager reception host"},
	{"GET", "/", "admin manager reception host"},
	{"GET", "/account/password", "admin manager reception host"},
	{"GET", "/my/pass", "admin manager reception host"},
	{"POST", "/my/pass", "admin manager reception host"},
	{"POST", "/account/password", "admin manager reception host"},
	{"GET", "/directory/people", "admin manager reception"},
	{"GET", "/directory/people.csv", "admin manager reception"},
	{"GET", "/directory/people.xlsx", "admin manager reception"},
	{"GET", "/directory/people/new", "admin manager"},
	{"POST", "/directory/people", "admin manager"},
	{"GET", "/directory/people/{person}/edit", "admin manager"},
	{"POST", "/directory/people/{person}", "admin manager"},
	{"POST", "/directory/people/{person}/active", "admin manager"},
	{"POST", "/directory/people/{person}/face", "admin manager"},
	{"POST", "/directory/people/{person}/face/withdraw", "admin manager"},
	{"GET", "/directory/companies", "admin manager reception"},
	{"GET", "/directory/companies/new", "admin manager"},
	{"POST", "/directory/companies", "admin manager"},
	{"GET", "/directory/companies/{company}/edit", "admin manager"},
	{"POST", "/directory/companies/{company}", "admin manager"},
	{"POST", "/directory/companies/{company}/active", "admin manager"},
	{"GET", "/directory/floors", "admin manager reception"},
	{"POST", "/directory/floors", "admin manager"},
	{"GET", "/directory/import", "admin manager"},
	{"POST", "/directory/import", "admin manager"},
	{"GET", "/directory/import/template.csv", "admin manager"},
	{"GET", "/directory/import/{job}", "admin manager"},
	{"GET", "/admin/accounts", "admin"},
	{"GET", "/admin/accounts/new", "admin"},
	{"POST", "/admin/accounts", "admin"},
	{"GET", "/admin/accounts/{account}/edit", "admin"},
	{"POST", "/admin/accounts/{account}", "admin"},
	{"POST", "/admin/accounts/{account}/unlock", "admin"},
	{"POST", "/admin/accounts/{account}/password", "admin"},
	{"GET", "/admin/tokens", "admin"},
	{"POST", "/admin/tokens", "admin"},
	{"POST", "/admin/tokens/{token}/revoke", "admin"},
	{"GET", "/admin/audit", "admin"},
	{"GET", "/admin/audit.csv", "admin"},
	{"GET", "/admin/audit.xlsx", "admin"},
	{"POST", "/admin/audit/verify", "admin"},
	{"GET", "/admin/devices", "admin"},
	{"GET", "/admin/devices/new", "admin"},
	{"POST", "/admin/devices", "admin"},
	{"GET", "/admin/devices/{screen}/edit", "admin"},
	{"POST", "/admin/devices/{screen}", "admin"},
	{"POST", "/admin/devices/{screen}/delete", "admin"},
	{"POST", "/admin/devices/{screen}/test", "admin"},
	{"POST", "/admin/devices/{screen}/key", "admin"},
	{"GET", "/admin/devices/sim", "admin"},
	{"POST", "/admin/devices/sim/present", "admin"},
	{"POST", "/admin/devices/sim/visitor", "admin"},
	{"POST", "/admin/devices/sim/door", "admin"},
	{"POST", "/admin/devices/sim/slot", "admin"},
	{"POST", "/admin/devices/sim/face", "admin"},
	{"GET", "/admin/notify", "admin"},
	{"POST", "/admin/notify", "admin"},
	{"POST", "/admin/notify/test", "admin"},
	{"POST", "/admin/notify/{visit}/retry", "admin"},
	{"GET", "/admin/cluster", "admin"},
	{"POST", "/admin/cluster/token", "admin"},
	{"POST", "/admin/cluster/remove", "admin"},
	{"GET", "/admin/backups", "admin"},
	{"POST", "/admin/backups", "admin"},
	{"POST", "/admin/backups/passphrase", "admin"},
	{"POST", "/admin/backups/run", "admin"},
	{"GET", "/admin/backups/progress", "admin"},
	{"GET", "/admin/backups/file/{file}", "admin"},
	{"GET", "/admin/settings", "admin"},
	{"POST", "/admin/settings", "admin"},
	{"POST", "/admin/settings/map", "admin"},
	{"GET", "/notices", "admin manager"},
	{"GET", "/notices/new", "admin manager"},
	{"POST", "/notices", "admin manager"},
	{"POST", "/notices/images", "admin manager"},
	{"GET", "/notices/images/{screen}", "public"},
	{"GET", "/notices/{screen}/edit", "admin manager"},
	{"POST", "/notices/{screen}", "admin manager"},
	{"POST", "/notices/{screen}/publish", "admin manager"},
	{"POST", "/notices/{screen}/unpublish", "admin manager"},
	{"POST", "/notices/{screen}/pin", "admin manager"},
	{"POST", "/notices/{screen}/unpin", "admin manager"},
	{"POST", "/notices/{screen}/delete", "admin manager"},
	{"GET", "/messages", "admin manager"},
	{"GET", "/messages/recipients", "admin manager"},
	{"POST", "/messages", "admin manager"},
	{"POST", "/messages/{screen}/delete", "admin manager"},
	{"GET", "/access/zones", "admin manager"},
	{"POST", "/access/zones", "admin manager"},
	{"GET", "/access/lanes", "admin manager"},
	{"POST", "/access/lanes", "admin manager"},
	{"GET", "/access/groups", "admin manager"},
	{"POST", "/access/groups", "admin manager"},
	{"GET", "/access/profiles", "admin manager"},
	{"POST", "/access/profiles", "admin manager"},
	{"GET", "/access/holidays", "admin manager"},
	{"POST", "/access/holidays", "admin manager"},
	{"POST", "/access/holidays/{screen}/delete", "admin manager"},
	{"GET", "/access/credentials", "admin manager reception"},
	{"GET", "/access/credentials/new", "admin manager"},
	{"POST", "/access/credentials", "admin manager"},
	{"GET", "/access/credentials/enrol-read", "admin manager"},
	{"GET", "/access/credentials/{screen}", "admin manager reception"},
	{"GET", "/access/credentials/{screen}/edit", "admin manager"},
	{"POST", "/access/credentials/{screen}", "admin manager"},
	{"POST", "/access/credentials/{screen}/suspend", "admin manager reception"},
	{"POST", "/access/credentials/{screen}/lost", "admin manager reception"},
	{"POST", "/access/credentials/{screen}/reactivate", "admin manager"},
	{"POST", "/access/credentials/{screen}/return", "admin manager"},
	{"POST", "/access/credentials/{screen}/revoke", "admin manager"},
	{"POST", "/access/credentials/{screen}/replace", "admin manager"},
	{"POST", "/access/credentials/{screen}/delete", "admin manager"},
	{"GET", "/keys", "admin manager reception"},
	{"GET", "/keys/new", "admin manager"},
	{"POST", "/keys", "admin manager"},
	{"GET", "/keys/register.csv", "admin manager reception"},
	{"GET", "/keys/register.xlsx", "admin manager reception"},
	{"GET", "/keys/register.pdf", "admin manager reception"},
	{"GET", "/keys/history.csv", "admin manager reception"},
	{"GET", "/keys/history.xlsx", "admin manager reception"},
	{"GET", "/keys/history.pdf", "admin manager reception"},
	{"GET", "/keys/levels", "admin manager"},
	{"POST", "/keys/levels", "admin manager"},
	{"GET", "/keys/audits", "admin manager reception"},
	{"POST", "/keys/audits", "admin manager reception"},
	{"GET", "/keys/audits/{screen}", "admin manager reception"},
	{"POST", "/keys/audits/{screen}/tick", "admin manager reception"},
	{"POST", "/keys/audits/{screen}/finish", "admin manager reception"},
	{"POST", "/keys/audits/{screen}/sensors", "admin manager reception"},
	{"POST", "/keys/cases/{screen}/step", "admin manager"},
	{"POST", "/keys/cases/{screen}/replace", "admin manager"},
	{"GET", "/keys/{screen}", "admin manager reception"},
	{"GET", "/keys/{screen}/label", "admin manager reception"},
	{"GET", "/keys/{screen}/label.png", "admin manager reception"},
	{"POST", "/keys/{screen}/checkout", "admin manager reception"},
	{"POST", "/keys/{screen}/return", "admin manager reception"},
	{"POST", "/keys/{screen}/lost", "admin manager reception"},
	{"POST", "/keys/{screen}/permissions", "admin manager"},
	{"POST", "/keys/{screen}/sensor", "admin manager"},
	{"GET", "/stock", "admin manager reception"},
	{"POST", "/stock/receive", "admin manager reception"},
	{"POST", "/stock/issue", "admin manager reception"},
	{"POST", "/stock/return", "admin manager reception"},
	{"POST", "/stock/writeoff", "admin manager reception"},
	{"GET", "/stock/items/{screen}", "admin manager reception"},
	{"POST", "/stock/handovers", "admin manager reception"},
	{"GET", "/stock/handovers/{screen}", "admin manager reception"},
	{"POST", "/stock/handovers/{screen}/confirm", "admin manager reception"},
	{"POST", "/stock/handovers/{screen}/cancel", "admin manager reception"},
	{"GET", "/stock/handovers/{screen}/sheet.pdf", "admin manager reception"},
	{"GET", "/stock/ledger", "admin manager reception"},
	{"GET", "/stock/ledger.csv", "admin manager reception"},
	{"GET", "/stock/ledger.xlsx", "admin manager reception"},
	{"GET", "/stock/ledger.pdf", "admin manager reception"},
	{"GET", "/stock/reconcile", "admin manager reception"},
	{"POST", "/stock/reconcile", "admin manager reception"},
	{"GET", "/stock/reconcile.csv", "admin manager reception"},
	{"GET", "/stock/reconcile.xlsx", "admin manager reception"},
	{"GET", "/stock/reconcile.pdf", "admin manager reception"},
	{"GET", "/events", "admin manager reception host"},
	{"GET", "/api/v1/floors", "admin manager reception"},
	{"POST", "/api/v1/floors", "admin manager"},
	{"GET", "/api/v1/companies", "admin manager reception"},
	{"POST", "/api/v1/companies", "admin manager"},
	{"GET", "/api/v1/companies/{company}", "admin manager reception"},
	{"PUT", "/api/v1/companies/{company}", "admin manager"},
	{"GET", "/api/v1/employees", "admin manager reception"},
	{"POST", "/api/v1/employees", "admin manager"},
	{"GET", "/api/v1/employees/{person}", "admin manager reception"},
	{"PUT", "/api/v1/employees/{person}", "admin manager"},
	{"POST", "/api/v1/employees/{person}/deactivate", "admin manager"},
	{"GET", "/api/v1/visits", "admin manager reception"},
	{"POST", "/api/v1/visits", "admin manager reception"},
	{"GET", "/api/v1/visits/{visit}", "admin manager reception"},
	{"POST", "/api/v1/visits/{visit}/approve", "admin manager reception"},
	{"POST", "/api/v1/visits/{visit}/reject", "admin manager reception"},
}

func TestRouteRoleTable(t *testing.T) {
	h := newHarness(t)
	// Every registered route is in the table (and nothing else).
	listed := map[string]bool{}
	for _, ra := range routeAccess {
		p := ra.path
		for k, v := range map[string]string{"{person}": ":id", "{company}": ":id", "{account}": ":id", "{token}": ":id", "{job}": ":job", "{visit}": ":id", "{link}": ":token", "{screen}": ":id", "{alarm}": ":id", "{file}": ":name", "/static/app.css": "/static/*"} {
			p = strings.ReplaceAll(p, k, v)
		}
		listed[ra.method+" "+p] = true
	}
	for _, r := range h.srv.routeTable() {
		if !listed[r.method+" "+r.path] {
			t.Errorf("route %s %s has no row in routeAccess", r.method, r.path)
		}
		delete(listed, r.method+" "+r.path)
	}
	for k := range listed {
		t.Errorf("routeAccess lists %s, which is not a route", k)
	}

	for _, ra := range routeAccess {
		api := strings.HasPrefix(ra.path, "/api/")
		body := ""
		if api && ra.method != "GET" {
			body = "{}"
		}
		// Signed-out callers.
		resp := h.do(req{method: ra.method, path: ra.path, body: body})
		switch {
		case ra.allowed == "kiosk":
			// Kiosk pages open only with a kiosk cookie; staff sessions do not open them.
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("anonymous %s %s = %d, want 403", ra.method, ra.path, resp.StatusCode)
			}
			if k := h.do(req{method: ra.method, path: ra.path, kiosk: true}); k.StatusCode >= 500 || k.StatusCode == 401 || k.StatusCode == 403 {
				t.Errorf("kiosk %s %s = %d, want allowed", ra.method, ra.path, k.StatusCode)
			}
		case ra.allowed == "metrics":
			// The harness's client is on loopback, where no token is
			// needed; other addresses are TestMetricsAccess's.
			if resp.StatusCode != http.StatusOK {
				t.Errorf("anonymous %s %s from loopback = %d, want 200", ra.method, ra.path, resp.StatusCode)
			}
		case ra.allowed == "public":
			// (an empty sign-in is refused with 401: the route itself is open)
			if resp.StatusCode >= 500 || resp.StatusCode == 403 || (resp.StatusCode == 401 && ra.path != "/login") {
				t.Errorf("anonymous %s %s = %d, want allowed", ra.method, ra.path, resp.StatusCode)
			}
		case api || ra.method != "GET":
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("anonymous %s %s = %d, want 401", ra.method, ra.path, resp.StatusCode)
			}
		default:
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
				t.Errorf("anonymous %s %s = %d %s, want redirect to /login", ra.method, ra.path, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		if ra.allowed == "public" || ra.allowed == "metrics" {
			continue
		}
		for _, role := range auth.Roles {
			r := req{method: ra.method, path: ra.path, body: body}
			if api {
				r.token = h.tokens[role]
			} else {
				r.session = h.session(role)
			}
			resp := h.do(r)
			allowed := strings.Contains(" "+ra.allowed+" ", " "+string(role)+" ")
			denied := resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized ||
				(strings.HasPrefix(resp.Header.Get("Location"), "/login") && ra.path != "/logout")
			if resp.StatusCode >= 500 {
				t.Errorf("%s %s %s = %d", role, ra.method, ra.path, resp.StatusCode)
			}
			if allowed && denied {
				t.Errorf("%s %s %s = %d, want allowed", role, ra.method, ra.path, resp.StatusCode)
			}
			if !allowed && resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s %s = %d, want 403", role, ra.method, ra.path, resp.StatusCode)
			}
		}
	}
}

func TestAPIIgnoresSessionCookies(t *testing.T) {
	h := newHarness(t)
	resp := h.do(req{method: "GET", path: "/api/v1/employees", session: h.session(auth.Admin)})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API with a session cookie only = %d, want 401", resp.StatusCode)
	}
	resp = h.do(req{method: "GET", path: "/api/v1/employees", token: h.tokens[auth.Admin] + "x"})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API with a wrong token = %d, want 401", resp.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	h := newHarness(t)
	form := url.Values{"name": {"9F"}, "level": {"9"}}
	tests := []struct {
		name   string
		csrf   string
		header map[string]string
		want   int
	}{
		{"no token", "-", nil, http.StatusForbidden},
		{"wrong token", "not-the-token", nil, http.StatusForbidden},
		{"cross-site request without token", "-", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"cross-site request with a stolen token", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"right token", "", nil, http.StatusSeeOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(req{method: "POST", path: "/directory/floors", form: form, session: h.session(auth.Manager), csrf: tc.csrf, header: tc.header})
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	// The sign-in form is protected too (login CSRF).
	resp := h.do(req{method: "POST", path: "/login", form: url.Values{"username": {"u-admin"}, "password": {"password-admin"}}, csrf: "-"})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login without token = %d, want 403", resp.StatusCode)
	}
	floors, _ := h.app.Directory.Floors(true)
	if len(floors) != 2 {
		t.Fatalf("%d floors: forged requests must write nothing, the right one once", len(floors))
	}
}

func TestLockoutOverHTTP(t *testing.T) {
	h := newHarness(t)
	login := func(pw string) *http.Response {
		return h.do(req{method: "POST", path: "/login", form: url.Values{"username": {"u-reception"}, "password": {pw}}})
	}
	for i, want := range []int{401, 401, 423, 423} {
		pw := "wrong"
		if i == 3 {
			pw = "password-reception"
		}
		resp := login(pw)
		if resp.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d", i+1, resp.StatusCode, want)
		}
		if want == 423 && !strings.Contains(readBody(t, resp), "id=\"login-error\"") {
			t.Fatal("locked page shows no message")
		}
	}
	// The lock is visible to the administrator, who can lift it.
	page := readBody(t, h.do(req{method: "GET", path: "/admin/accounts", session: h.session(auth.Admin)}))
	if !regexp.MustCompile(`id="account-u-reception"[\s\S]*?badge warn`).MatchString(page) {
		t.Fatal("accounts page does not show the lock")
	}
	resp := h.do(req{method: "POST", path: "/admin/accounts/" + h.accounts[auth.Reception].ID + "/unlock", session: h.session(auth.Admin)})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unlock = %d", resp.StatusCode)
	}
	resp = login("password-reception")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in after unlock = %d", resp.StatusCode)
	}
	ck := cookieNamed(resp, sessionCookie)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
		t.Errorf("session cookie: %+v", ck)
	}
}

func TestSessionLifetime(t *testing.T) {
	h := newHarness(t)
	// 200 when the session opens the start page (or the role's landing
	// page it sends to), 303 to the sign-in page otherwise.
	home := func(sid string) int {
		resp := h.do(req{method: "GET", path: "/", session: sid})
		if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == landing(auth.Manager) {
			return http.StatusOK
		}
		return resp.StatusCode
	}
	sid := h.session(auth.Manager)
	if home(sid) != http.StatusOK {
		t.Fatal("fresh session refused")
	}
	h.clock.Advance(29 * time.Minute)
	if home(sid) != http.StatusOK {
		t.Fatal("session refused before the idle timeout")
	}
	h.clock.Advance(31 * time.Minute)
	if home(sid) != http.StatusSeeOther {
		t.Fatal("session alive after 31 idle minutes")
	}
	// Disabling an account ends its sessions.
	sid = h.session(auth.Host)
	a := h.accounts[auth.Host]
	a.Disabled = true
	if err := h.app.Auth.Update(context.Background(), "test", a); err != nil {
		t.Fatal(err)
	}
	if home(sid) != http.StatusSeeOther {
		t.Fatal("disabled account kept its session")
	}
	// A password reset by the administrator ends the user's sessions, and
	// the one-time password must be changed before anything else.
	sid = h.session(auth.Reception)
	h.clock.Advance(time.Second)
	if err := h.app.Auth.SetPassword(context.Background(), "test", h.accounts[auth.Reception].ID, "one-time-pass", true); err != nil {
		t.Fatal(err)
	}
	if home(sid) != http.StatusSeeOther {
		t.Fatal("session survived a password reset")
	}
	h.clock.Advance(time.Second)
	sid = h.session(auth.Reception)
	resp := h.do(req{method: "GET", path: "/directory/people", session: sid})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/password" {
		t.Fatalf("must-change account reached a page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestBadInputNeverFails500 throws malformed input at every form and API
// endpoint: each answer must be a clear 4xx (or a re-shown form), never 500.
func TestBadInputNeverFails500(t *testing.T) {
	h := newHarness(t)
	long := strings.Repeat("长", 5000)
	values := []string{"", long, "\x00\xff\xfe", "<script>alert(1)</script>", "../../etc/passwd", "-1", "99999999999999999999", "0000000000000000"}
	for _, ra := range routeAccess {
		if ra.method == "GET" || ra.path == "/logout" {
			continue
		}
		for _, v := range values {
			r := req{method: ra.method, path: ra.path}
			if strings.HasPrefix(ra.path, "/api/") {
				r.token = h.tokens[auth.Admin]
				b, _ := json.Marshal(map[string]any{"name": v, "mobile": v, "company_id": v, "floor_id": v, "floor_ids": []string{v, v}, "level": 3, "kind": v, "employee_no": v})
				r.body = string(b)
			} else {
				r.session = h.session(auth.Admin)
				r.form = url.Values{}
				for _, k := range []string{"name", "mobile", "company_id", "floor_id", "floor_ids", "employee_no", "level", "kind", "id", "role", "username", "password", "current", "confirm", "lang", "next", "active", "disabled"} {
					r.form.Set(k, v)
				}
			}
			resp := h.do(r)
			if resp.StatusCode >= 500 {
				t.Errorf("%s %s with %q = %d", ra.method, ra.path, truncate(v), resp.StatusCode)
			}
		}
	}
	for _, body := range []string{"{", "[]", `{"level":"x"}`, "null", strings.Repeat("[", 10000)} {
		r := req{method: "POST", path: "/api/v1/floors", token: h.tokens[auth.Admin], body: body}
		if resp := h.do(r); resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("API body %q = %d, want 400/422", truncate(body), resp.StatusCode)
		}
	}
	for _, p := range []string{"/directory/people?offset=-5&q=" + url.QueryEscape(long), "/directory/people/%00/edit", "/admin/audit?before=abc", "/directory/floors?edit=nope"} {
		if resp := h.do(req{method: "GET", path: p, session: h.session(auth.Admin)}); resp.StatusCode >= 500 {
			t.Errorf("GET %s = %d", truncate(p), resp.StatusCode)
		}
	}
}

func truncate(s string) string {
	if len(s) > 30 {
		return s[:30] + "…"
	}
	return s
}

func TestAPIEmployeesRoundTrip(t *testing.T) {
	h := newHarness(t)
	tok := h.tokens[auth.Manager]
	resp := h.do(req{method: "POST", path: "/api/v1/employees", token: tok, header: map[string]string{"Accept-Language": "en"},
		body: `{"name":"Li","mobile":"123","company_id":"{company}","floor_id":"{floor}","employee_no":"E2"}`})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad mobile = %d", resp.StatusCode)
	}
	var e struct {
		Error  string `json:"error"`
		Fields []apiFieldError
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if len(e.Fields) != 1 || e.Fields[0].Field != "mobile" || !strings.Contains(e.Fields[0].Message, "mobile") {
		t.Fatalf("error body = %+v", e)
	}
	body := strings.NewReplacer("{company}", h.ids["{company}"], "{floor}", h.ids["{floor}"]).
		Replace(`{"name":"Li Lei","mobile":"13900139000","company_id":"{company}","floor_id":"{floor}","employee_no":"E2","can_host":true}`)
	resp = h.do(req{method: "POST", path: "/api/v1/employees", token: tok, body: body})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create = %d %s", resp.StatusCode, readBody(t, resp))
	}
	var p directory.Person
	created := readBody(t, resp)
	_ = json.Unmarshal([]byte(created), &p)
	// The directory keeps the number sealed; the API shows it whole, in
	// the fields it always had, and nothing of the seal.
	wantShape := func(what, js string) {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(js), &m); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if got := strings.Join(keys, " "); got != "active can_host company_id employee_no floor_id id kind mobile name" || m["mobile"] != "13900139000" {
			t.Fatalf("%s = %s", what, js)
		}
	}
	wantShape("created", created)
	wantShape("read", readBody(t, h.do(req{method: "GET", path: "/api/v1/employees/" + p.ID, token: h.tokens[auth.Reception]})))
	resp = h.do(req{method: "GET", path: "/api/v1/employees?q=li", token: h.tokens[auth.Reception]})
	var list struct {
		Employees []json.RawMessage
		Total     int
	}
	_ = json.NewDecoder(resp.Body).Decode(&list)
	if list.Total != 1 || !strings.Contains(string(list.Employees[0]), p.ID) {
		t.Fatalf("search = %+v", list)
	}
	wantShape("listed", string(list.Employees[0]))
	resp = h.do(req{method: "POST", path: "/api/v1/employees/" + p.ID + "/deactivate", token: tok})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("deactivate = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "GET", path: "/api/v1/employees/0000000000000000", token: tok})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown id = %d", resp.StatusCode)
	}
}

// TestPeopleListMasksMobilesAndOpensThemToCall: the directory keeps
// mobiles sealed; the list shows them masked with the whole number behind
// the tap-to-call link, and the edit form shows it whole.
func TestPeopleListMasksMobilesAndOpensThemToCall(t *testing.T) {
	h := newHarness(t)
	list := readBody(t, h.do(req{method: "GET", path: "/directory/people", session: h.session(auth.Reception)}))
	if !strings.Contains(list, `<a href="tel:13800138000">138****8000</a>`) {
		t.Fatalf("people list does not show Wang's mobile masked behind a call link:\n%s", list)
	}
	if n := strings.Count(list, "13800138000"); n != 1 {
		t.Errorf("the whole number appears %d times in the list, want only in the link", n)
	}
	edit := readBody(t, h.do(req{method: "GET", path: "/directory/people/{person}/edit", session: h.session(auth.Manager)}))
	if !strings.Contains(edit, `value="13800138000"`) {
		t.Fatalf("edit form does not show the whole mobile:\n%s", edit)
	}
}

func TestLanguageSwitchRemembered(t *testing.T) {
	h := newHarness(t)
	resp := h.do(req{method: "GET", path: "/login", header: map[string]string{"Accept-Language": "en-US,en;q=0.9"}})
	if b := readBody(t, resp); !strings.Contains(b, `lang="en"`) || !strings.Contains(b, "Sign in") {
		t.Fatal("English browser did not get English")
	}
	resp = h.do(req{method: "POST", path: "/lang", form: url.Values{"lang": {"zh"}, "next": {"//evil.example/"}}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("lang switch = %d %s (open redirect?)", resp.StatusCode, resp.Header.Get("Location"))
	}
	if ck := cookieNamed(resp, langCookie); ck == nil || ck.Value != "zh" {
		t.Fatalf("lang cookie not set: %+v", ck)
	}
	resp = h.do(req{method: "GET", path: "/login", header: map[string]string{"Accept-Language": "en-US,en;q=0.9", "Cookie": "lang=zh"}})
	if b := readBody(t, resp); !strings.Contains(b, `lang="zh-CN"`) {
		t.Fatal("the chosen language is not remembered over the browser's")
	}
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestLocalPathRefusesOffSiteTargets(t *testing.T) {
	tests := map[string]string{
		"/directory/people?q=x": "/directory/people?q=x",
		"//evil.example/":       "/",
		"/\t/evil.example/":     "/",
		"/\\evil.example":       "/",
		"https://evil.example/": "/",
		"javascript:alert(1)":   "/",
		"":                      "/",
		"relative":              "/",
		"/ok\r\nSet-Cookie: x":  "/",
	}
	for in, want := range tests {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// A part of a page asked for after the session ended sends the whole page to
// sign in (and back), instead of swapping the sign-in form into the part.
func TestHtmxRequestWithoutSessionRedirectsThePage(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ current, want string }{
		{"http://" + "example.com/flow?x=1", "/"}, // another site's page: home
		{"", "/"},
	} {
		resp := h.do(req{method: "GET", path: "/flow/live", header: map[string]string{"HX-Request": "true", "HX-Current-URL": tc.current}})
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("HX-Redirect") != "/login?next="+url.QueryEscape(tc.want) {
			t.Errorf("%q: %d HX-Redirect=%q", tc.current, resp.StatusCode, resp.Header.Get("HX-Redirect"))
		}
		resp.Body.Close()
	}
	resp := h.do(req{method: "GET", path: "/flow/live", header: map[string]string{"HX-Request": "true"}})
	resp.Body.Close()
	same := "http://" + resp.Request.URL.Host + "/flow?day=2026-11-23"
	resp = h.do(req{method: "GET", path: "/flow/live", header: map[string]string{"HX-Request": "true", "HX-Current-URL": same}})
	defer resp.Body.Close()
	if got := resp.Header.Get("HX-Redirect"); got != "/login?next="+url.QueryEscape("/flow?day=2026-11-23") {
		t.Errorf("same site: HX-Redirect=%q", got)
	}
}

// TestLockoutPerClientAddressOverHTTP: a stranger at 127.0.0.2 who types
// three wrong passwords for the administrator locks only 127.0.0.2 out; the
// administrator at 127.0.0.1 signs in. An unknown name answers the same,
// lock included. Before, the stranger locked the administrator out.
func TestLockoutPerClientAddressOverHTTP(t *testing.T) {
	h := newHarness(t)
	login := func(from, user, pw string) int {
		resp := h.do(req{method: "POST", path: "/login", form: url.Values{"username": {user}, "password": {pw}}, from: from})
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, user := range []string{"u-admin", "no-such-user"} {
		for i, want := range []int{401, 401, 423, 423} {
			if got := login("127.0.0.2", user, "guess"); got != want {
				t.Fatalf("%s from 127.0.0.2, attempt %d: %d, want %d", user, i+1, got, want)
			}
		}
	}
	if got := login("127.0.0.2", "u-admin", "password-admin"); got != 423 {
		t.Fatalf("right password from the locked address = %d, want 423", got)
	}
	if got := login("127.0.0.1", "u-admin", "password-admin"); got != http.StatusSeeOther {
		t.Fatalf("the administrator from another address = %d, want signed in", got)
	}
}
