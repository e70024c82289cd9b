package ui

// End-to-end tests that drive the real server with headless Chromium through
// chromedp. They need a Chromium binary: /usr/bin/chromium, or the path in
// $CHROMIUM. Without one they are skipped, unless $CI is set, in which case
// they fail, so that CI cannot pass without running them.
//
//	go test ./ui/ -run Browser -count=1 -v

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/ui/i18n"
)

const (
	browserTestTimeout = 60 * time.Second
	browserAdminUser   = "admin"
	browserAdminPass   = "admin-password-1"
)

// browserLog collects the server's log, shown only when a test fails.
type browserLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *browserLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *browserLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startBrowserApp opens a fresh appliance in a temporary directory with one
// administrator account (admin / admin-password-1, no forced change) and
// serves it over HTTP.
func startBrowserApp(t *testing.T) (*appliance.App, string) {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &browserLog{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	app, err := appliance.Open(ctx, t.TempDir(), cfg, nil, logger)
	if err != nil {
		t.Fatalf("open appliance: %v", err)
	}
	// Cleanups run last-registered first: HTTP server, then Server, then App.
	t.Cleanup(func() {
		if err := app.Close(); err != nil {
			t.Errorf("close appliance: %v", err)
		}
	})
	if _, err := app.Auth.CreateAccount(ctx, "test", auth.NewAccount{Username: browserAdminUser, Name: "Admin",
		Role: auth.Admin, Password: browserAdminPass}); err != nil {
		t.Fatalf("create admin: %v", err)
	}
	srv := New(app, Options{})
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return app, ts.URL
}

// chromiumPath finds the browser, or skips (fails under CI) the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	found, err := exec.LookPath(p)
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no Chromium at %s (set $CHROMIUM): %v", p, err)
		}
		t.Fatalf("CI is set but there is no Chromium at %s (set $CHROMIUM): %v", p, err)
	}
	return found
}

// browser is one headless Chromium tab pointed at a test server.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	problems []string // script errors and console messages from the pages
	stopped  bool     // the test is ending: chromedp's log goes nowhere
}

// logf passes chromedp's own log to the test while the test runs; t.Logf
// must not be called after the test has finished.
func (b *browser) logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.stopped {
		b.t.Logf("chromedp: "+format, args...)
	}
}

// watch records uncaught script exceptions and console or browser log
// messages at warning level or above, such as Content-Security-Policy
// violations and assets that fail to load.
func (b *browser) watch(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = fmt.Sprintf("uncaught exception: %s", d.Text)
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		msg += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeWarning && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			if a.Description != "" {
				parts = append(parts, a.Description)
			} else {
				parts = append(parts, string(a.Value))
			}
		}
		msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " "))
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		if e.Level != cdplog.EntryLevelError && e.Level != cdplog.EntryLevelWarning {
			return
		}
		// Pages answered 401, 422 or 423 on purpose, and the favicon the
		// app does not have, show as failed loads; assets must not.
		if e.Source == cdplog.EntrySourceNetwork && !strings.Contains(e.URL, "/static/") {
			return
		}
		msg = fmt.Sprintf("%s %s: %s (%s)", e.Source, e.Level, e.Text, e.URL)
	default:
		return
	}
	b.mu.Lock()
	b.problems = append(b.problems, msg)
	b.mu.Unlock()
}

// startBrowser starts headless Chromium with a fresh profile. The whole test
// gets browserTestTimeout; the browser is stopped when the test ends.
func startBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromiumPath(t)
	// Both registered before the cleanup below, so removed after it.
	dir := t.TempDir()
	// With disable-dev-shm-usage Chromium keeps shared memory under $TMPDIR
	// and leaves an empty org.chromium.Chromium.* directory there.
	tmp := t.TempDir()

	ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTestTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.Env("TMPDIR="+tmp),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 1024),
	)
	b := &browser{t: t, base: base}
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(b.logf), chromedp.WithErrorf(b.logf))
	b.ctx = bctx
	t.Cleanup(func() {
		b.mu.Lock()
		b.stopped = true
		b.mu.Unlock()
		cancelBrowser()
		cancelAlloc() // waits for the browser process to exit
		cancelTimeout()
		// Chromium's helper processes may still write to the profile for a
		// moment after the browser exits; testing's own removal does not
		// retry on Linux, so empty the directory here first.
		for _, d := range []string{dir, tmp} {
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if err := os.RemoveAll(d); err == nil || time.Now().After(deadline) {
					break
				}
			}
		}
	})
	// Start the browser now, so that a broken install fails here, clearly.
	if err := chromedp.Listen(bctx, b.watch); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	// Runs before the cleanup above, while the browser still runs.
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("browser: %s", p)
		}
	})
	return b
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.fatalf("%s: %v", what, err)
	}
}

// fatalf fails the test, naming the page the browser is on.
func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if loc, err := chromedp.Run(b.ctx, chromedp.Location()); err == nil {
		msg += "\n  at " + loc
	}
	if body, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`)); err == nil {
		if len(body) > 2000 {
			body = body[:2000] + "…"
		}
		msg += "\n  page text:\n" + body
	}
	b.t.Fatal(msg)
}

// open loads path and waits until the element with id wantID is visible.
func (b *browser) open(path, wantID string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.ID(wantID)))
}

// fill replaces the value of an input by typing into it.
func (b *browser) fill(id, value string) {
	b.t.Helper()
	// chromedp.SetValue(sel, "") reports a failure (it cannot tell the
	// empty string it reads back from no value), so clear with a script.
	b.do("clear #"+id, chromedp.WaitVisible(chromedp.ID(id)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).value = ""`, id)))
	b.do("fill #"+id, chromedp.SendKeys(chromedp.ID(id), value))
	got, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID(id)))
	if err != nil || got != value {
		b.fatalf("fill #%s: value is %q (%v), want %q", id, got, err, value)
	}
}

// submit clicks the element with id (a submit button), waits until the page
// the form leads to (after any redirect) has loaded, and returns its status.
func (b *browser) submit(id string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.ID(id)))
	if err != nil {
		b.fatalf("submit #%s: %v", id, err)
	}
	if resp == nil {
		b.fatalf("submit #%s: no response", id)
	}
	return resp.Status
}

func (b *browser) text(sel chromedp.CSS) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		b.fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.fatalf("evaluate %s: %v", js, err)
	}
	return s
}

// wantFlash checks that the page shows the one-time notice key, in either
// language.
func (b *browser) wantFlash(key string) {
	b.t.Helper()
	if !b.exists("main .flash") {
		b.fatalf("no notice on the page, want %q", i18n.EN.T(key))
	}
	if got := b.text("main .flash"); got != i18n.EN.T(key) && got != i18n.ZH.T(key) {
		b.fatalf("notice = %q, want %q", got, i18n.EN.T(key))
	}
}

// waitFor waits up to 10 s until the script expression is true.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		b.fatalf("wait for %s: %v", what, err)
	}
}

// exists reports whether selector matches now, without waiting.
func (b *browser) exists(selector string) bool {
	b.t.Helper()
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q) !== null`, selector)))
	if err != nil {
		b.fatalf("query %s: %v", selector, err)
	}
	return ok
}

// path is the browser's current path with query.
func (b *browser) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fatalf("location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.fatalf("location %q: %v", loc, err)
	}
	return u.RequestURI()
}

// login signs in on /login and returns the status of the page it leads to.
func (b *browser) login(username, password string) int64 {
	b.t.Helper()
	b.open("/login", "f-username")
	b.fill("f-username", username)
	b.fill("f-password", password)
	return b.submit("login-submit")
}

// mustLogin signs in and checks that a role's start page shows (landing).
func (b *browser) mustLogin(username, password string) {
	b.t.Helper()
	if st := b.login(username, password); st != http.StatusOK {
		b.fatalf("sign in as %s: status %d", username, st)
	}
	b.do("wait for the signed-in page", chromedp.WaitVisible(chromedp.ID("logout")))
	p := b.path()
	for _, r := range auth.Roles {
		if p == landing(r) {
			return
		}
	}
	b.fatalf("sign in as %s: landed on %s, not a role's start page", username, p)
}

func (b *browser) logout() {
	b.t.Helper()
	if st := b.submit("logout"); st != http.StatusOK {
		b.fatalf("sign out: status %d", st)
	}
	b.do("wait for the sign-in page", chromedp.WaitVisible(chromedp.ID("f-username")))
}

// optionValue is the value of the option of select #id whose label is label.
func (b *browser) optionValue(id, label string) string {
	b.t.Helper()
	v := b.eval(fmt.Sprintf(`(() => {
		const o = [...document.querySelectorAll(%q)].find(o => o.textContent.trim() === %q);
		return o ? o.value : "";
	})()`, "#"+id+" option", label))
	if v == "" {
		b.fatalf("select #%s has no option %q", id, label)
	}
	return v
}

// checkboxValue is the value of the checkbox named name whose label is label.
func (b *browser) checkboxValue(name, label string) string {
	b.t.Helper()
	v := b.eval(fmt.Sprintf(`(() => {
		const i = [...document.querySelectorAll(%q)].find(i => i.closest("label") && i.closest("label").textContent.trim() === %q);
		return i ? i.value : "";
	})()`, "input[type=checkbox][name="+name+"]", label))
	if v == "" {
		b.fatalf("no checkbox %s labelled %q", name, label)
	}
	return v
}

func (b *browser) addFloor(name, level string) {
	b.t.Helper()
	b.open("/directory/floors", "save-floor")
	b.fill("f-name", name)
	b.fill("f-level", level)
	if st := b.submit("save-floor"); st != http.StatusOK {
		b.fatalf("add floor %s: status %d", name, st)
	}
	b.do("wait for the floor list", chromedp.WaitVisible(chromedp.ID("floors")))
	if got := b.text("#floors tbody"); !strings.Contains(got, name) {
		b.fatalf("floor %s not listed after saving; the list says %q", name, got)
	}
}

func TestBrowserAdminAddsCompanyAndEmployee(t *testing.T) {
	start := time.Now()
	app, base := startBrowserApp(t)
	b := startBrowser(t, base)

	b.mustLogin(browserAdminUser, browserAdminPass)

	// Floors, unless some exist already.
	fs, err := app.Directory.Floors(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) == 0 {
		b.addFloor("1F", "1")
		b.addFloor("2F", "2")
	}

	// A company on 1F, with a name in Chinese.
	const company = "测试科技 Test Tech"
	b.open("/directory/companies/new", "save")
	b.fill("f-name", company)
	floor1 := b.checkboxValue("floor_ids", "1F")
	b.do("tick floor 1F", chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name=floor_ids][value=%q]`, floor1))))
	if st := b.submit("save"); st != http.StatusOK {
		b.fatalf("save company: status %d", st)
	}
	b.do("wait for the company list", chromedp.WaitVisible(chromedp.ID("companies")))
	if p := b.path(); p != "/directory/companies" {
		b.fatalf("after saving the company: at %s, want /directory/companies", p)
	}
	if got := b.text("#companies tbody"); !strings.Contains(got, company) || !strings.Contains(got, "1F") {
		b.fatalf("company list = %q, want %q on 1F", got, company)
	}
	b.wantFlash("flash.saved")

	// An employee of that company. First with a bad mobile number: the form
	// comes back with the error next to the field and the input kept.
	const (
		person = "张伟 Zhang Wei"
		mobile = "13800138000"
		empNo  = "E-1001"
	)
	b.open("/directory/people/new", "save")
	b.fill("f-name", person)
	b.fill("f-mobile", "12345")
	companyID := b.optionValue("f-company_id", company)
	floorID := b.optionValue("f-floor_id", "1F")
	b.do("choose company and floor",
		chromedp.SetValue(chromedp.ID("f-company_id"), companyID),
		chromedp.SetValue(chromedp.ID("f-floor_id"), floorID))
	b.fill("f-employee_no", empNo)
	if st := b.submit("save"); st != http.StatusUnprocessableEntity {
		b.fatalf("save person with mobile 12345: status %d, want %d", st, http.StatusUnprocessableEntity)
	}
	b.do("wait for the form again", chromedp.WaitVisible(chromedp.ID("f-mobile")))
	if !b.exists("#e-mobile") {
		b.fatalf("no field message #e-mobile after a bad mobile number")
	}
	if msg := b.text("#e-mobile"); msg != i18n.EN.T("err.invalid_mobile") && msg != i18n.ZH.T("err.invalid_mobile") {
		b.fatalf("#e-mobile = %q, want the invalid_mobile message", msg)
	}
	if !b.exists("#save") || !b.exists("#f-employee_no") {
		b.fatalf("the page after a bad mobile number is not the person form")
	}
	if p := b.path(); p != "/directory/people" {
		b.fatalf("after a bad mobile number: at %s, want /directory/people (the form's action)", p)
	}
	for id, want := range map[string]string{"f-name": person, "f-mobile": "12345", "f-employee_no": empNo,
		"f-company_id": companyID, "f-floor_id": floorID} {
		if got, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID(id))); err != nil || got != want {
			b.fatalf("after a bad mobile number #%s = %q (%v), want the input %q kept", id, got, err, want)
		}
	}
	for _, id := range []string{"e-name", "e-company_id", "e-floor_id", "e-employee_no"} {
		if b.exists("#" + id) {
			b.fatalf("unexpected field message #%s: %q", id, b.text(chromedp.CSS("#"+id)))
		}
	}
	if pg, err := app.Directory.Search(directory.Query{Kind: directory.Employee, IncludeInactive: true, Limit: 10}); err != nil || pg.Total != 0 {
		t.Fatalf("people stored after a rejected form: %d (%v), want 0", pg.Total, err)
	}

	// Now with a good number.
	b.fill("f-mobile", mobile)
	if st := b.submit("save"); st != http.StatusOK {
		b.fatalf("save person: status %d", st)
	}
	b.do("wait for the people list", chromedp.WaitVisible(chromedp.ID("people-results")))
	if p := b.path(); !strings.HasPrefix(p, "/directory/people?") {
		b.fatalf("after saving the person: at %s, want the people list", p)
	}
	if got := b.text("#people-results tbody"); !strings.Contains(got, person) {
		b.fatalf("the list shown after saving (%s) does not show %q: %q", b.path(), person, got)
	}

	// And in the full list, with company, floor, number and mobile.
	b.open("/directory/people", "people-results")
	got := b.text("#people-results tbody")
	// The list may mask the middle of the mobile number; the full number
	// is in the tap-to-call link.
	for _, want := range []string{person, company, "1F", empNo, mobile[len(mobile)-4:]} {
		if !strings.Contains(got, want) {
			b.fatalf("people list = %q, want it to contain %q", got, want)
		}
	}
	if !b.exists(`#people-results a[href="tel:` + mobile + `"]`) {
		b.fatalf("no tel:%s link in the people list", mobile)
	}

	// The start page counts them.
	b.open("/", "logout")
	if got := b.eval(`[...document.querySelectorAll(".tiles .tile strong")].slice(0, 3).map(e => e.textContent.trim()).join(",")`); got != "1,1,2" {
		b.fatalf("start page tiles (people, companies, floors) = %q, want 1,1,2", got)
	}
	b.open("/directory/people", "people-results")

	// The live search (htmx) narrows the list as one types.
	b.fill("q", "没有这个人")
	b.waitFor("the live search to empty the list", `document.querySelectorAll("#people-results tbody tr").length === 0`)
	b.fill("q", "张伟")
	b.waitFor("the live search to find the employee",
		fmt.Sprintf(`document.querySelector("#people-results tbody") !== null && document.querySelector("#people-results tbody").innerText.includes(%q)`, person))
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

func TestBrowserLockoutAfterThreeWrongPasswords(t *testing.T) {
	start := time.Now()
	app, base := startBrowserApp(t)
	if _, err := app.Auth.CreateAccount(context.Background(), "test", auth.NewAccount{Username: "guard1", Name: "Guard One",
		Role: auth.Reception, Password: "guard-password-1"}); err != nil {
		t.Fatalf("create guard1: %v", err)
	}
	b := startBrowser(t, base)

	isLocked := func(s string) bool { return s == i18n.ZH.T("login.locked") || s == i18n.EN.T("login.locked") }
	isBad := func(s string) bool {
		return s == i18n.ZH.T("login.bad_credentials") || s == i18n.EN.T("login.bad_credentials")
	}

	for i := 1; i <= 3; i++ {
		st := b.login("guard1", fmt.Sprintf("wrong-password-%d", i))
		b.do("wait for the error", chromedp.WaitVisible(chromedp.ID("login-error")))
		msg := b.text("#login-error")
		switch {
		case i < 3 && (st != http.StatusUnauthorized || !isBad(msg)):
			b.fatalf("wrong password %d: status %d, #login-error %q; want 401 and the bad-credentials message", i, st, msg)
		case i == 3 && (st != http.StatusLocked || !isLocked(msg)):
			b.fatalf("wrong password 3: status %d, #login-error %q; want 423 and the locked message", st, msg)
		}
		if b.exists("#logout") {
			b.fatalf("signed in after wrong password %d", i)
		}
		if v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("f-username"))); err != nil || v != "guard1" {
			b.fatalf("username not kept after a failed sign-in: %q (%v)", v, err)
		}
	}

	// The right password is refused while locked.
	st := b.login("guard1", "guard-password-1")
	b.do("wait for the error", chromedp.WaitVisible(chromedp.ID("login-error")))
	if msg := b.text("#login-error"); st != http.StatusLocked || !isLocked(msg) {
		b.fatalf("right password while locked: status %d, #login-error %q; want 423 and the locked message", st, msg)
	}
	if b.exists("#logout") {
		b.fatalf("signed in while locked")
	}

	// The administrator sees the lock and lifts it.
	b.mustLogin(browserAdminUser, browserAdminPass)
	b.open("/admin/accounts", "account-guard1")
	if !b.exists("#account-guard1 .badge.warn") {
		b.fatalf("no lock badge in row #account-guard1: %q", b.text("#account-guard1"))
	}
	if b.exists("#account-admin .badge.warn") || b.exists("#unlock-admin") {
		b.fatalf("admin shown as locked: %q", b.text("#account-admin"))
	}
	if st := b.submit("unlock-guard1"); st != http.StatusOK {
		b.fatalf("unlock guard1: status %d", st)
	}
	b.do("wait for the account list", chromedp.WaitVisible(chromedp.ID("account-guard1")))
	b.wantFlash("flash.unlocked")
	if b.exists("#account-guard1 .badge.warn") || b.exists("#unlock-guard1") {
		b.fatalf("guard1 still shown as locked after unlocking: %q", b.text("#account-guard1"))
	}
	if a, err := app.Auth.AccountByUsername("guard1"); err != nil || a.Locked(time.Now()) {
		t.Fatalf("guard1 after unlock: locked=%v err=%v", a.Locked(time.Now()), err)
	}
	b.logout()

	// Now guard1 gets in with the right password.
	b.mustLogin("guard1", "guard-password-1")
	if got := b.eval(`document.querySelector("header .who a[href='/account/password']").textContent`); !strings.Contains(got, "Guard One") {
		b.fatalf("signed in, but the header names %q, want Guard One", got)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

func TestBrowserLanguageSwitchIsRemembered(t *testing.T) {
	start := time.Now()
	_, base := startBrowserApp(t)
	b := startBrowser(t, base)

	langOfPage := func() string {
		b.t.Helper()
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
		if err != nil {
			b.fatalf("html lang: %v", err)
		}
		return s
	}
	switchTo := func(id string) {
		b.t.Helper()
		if st := b.submit(id); st != http.StatusOK {
			b.fatalf("click #%s: status %d", id, st)
		}
		b.do("wait for the page again", chromedp.WaitVisible(chromedp.ID("login-submit")))
	}

	b.open("/login", "login-submit")
	// Whatever the browser asked for, go to Chinese first, so that the
	// switch to English below is a real change.
	if langOfPage() == "en" {
		switchTo("lang-zh")
	}
	if l := langOfPage(); l != "zh-CN" {
		b.fatalf("html lang = %q, want zh-CN", l)
	}
	if h := b.text("h1"); h != i18n.ZH.T("login.title") {
		b.fatalf("h1 = %q, want %q", h, i18n.ZH.T("login.title"))
	}

	switchTo("lang-en")
	if l := langOfPage(); l != "en" {
		b.fatalf("after #lang-en: html lang = %q, want en", l)
	}
	if p := b.path(); p != "/login" {
		b.fatalf("after #lang-en: at %s, want back on /login", p)
	}
	if h := b.text("h1"); h != i18n.EN.T("login.title") {
		b.fatalf("h1 = %q, want %q", h, i18n.EN.T("login.title"))
	}
	if !b.exists("#lang-zh") || b.exists("#lang-en") {
		b.fatalf("the language switch should now offer Chinese only")
	}

	// Remembered on the next pages, signed in or not.
	b.mustLogin(browserAdminUser, browserAdminPass)
	if l := langOfPage(); l != "en" {
		b.fatalf("start page after switching: html lang = %q, want en", l)
	}
	b.open("/directory/people", "people-results")
	if l := langOfPage(); l != "en" {
		b.fatalf("people page after switching: html lang = %q, want en", l)
	}
	if got := b.text("#logout"); got != i18n.EN.T("nav.logout") {
		b.fatalf("#logout = %q, want %q", got, i18n.EN.T("nav.logout"))
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}
