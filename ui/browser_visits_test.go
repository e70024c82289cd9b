package ui

// Browser tests of the ways in (DOMAIN.md, "Visits — four ways in"): a
// pre-booked visit carried across visitor, host and reception, an
// invitation, a walk-in with a temporary badge, and the booking page's
// field-level errors in both languages. They use the harness of
// browser_test.go and need Chromium the same way; the QR check also needs
// zbarimg (Debian's zbar-tools).
//
//	go test ./ui/ -run 'BrowserPreBooked|BrowserInvited|BrowserWalkIn|BrowserBooking' -count=1 -v

import (
	"context"
	"errors"
	"fmt"
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

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/visit"
	"gatehouse/ui/i18n"
)

// The directory and accounts every test here starts with.
const (
	visitsFloor      = "8F"
	visitsCompany    = "远景科技 Vista Tech"
	visitsHostName   = "王芳 Wang Fang"
	visitsHostMobile = "13800138001"
	visitsHostUser   = "host1"
	visitsHostPass   = "host-password-1"
	visitsDeskUser   = "desk1"
	visitsDeskPass   = "desk-password-1"
)

// visitsFixture is the directory data of one test.
type visitsFixture struct {
	floor   directory.Floor
	company directory.Company
	host    directory.Person
}

// setUpVisits adds a floor, a company on it, an employee who may receive
// visitors, a host account linked to that employee and a reception account.
func setUpVisits(t *testing.T, app *appliance.App) visitsFixture {
	t.Helper()
	ctx := context.Background()
	var fx visitsFixture
	var err error
	if fx.floor, err = app.Directory.SaveFloor(ctx, "test", directory.Floor{Name: visitsFloor, Level: 8}); err != nil {
		t.Fatalf("save floor: %v", err)
	}
	if fx.company, err = app.Directory.SaveCompany(ctx, "test", directory.Company{Name: visitsCompany,
		FloorIDs: []string{fx.floor.ID}}); err != nil {
		t.Fatalf("save company: %v", err)
	}
	if fx.host, err = app.Directory.SavePerson(ctx, "test", directory.Person{Kind: directory.Employee, Name: visitsHostName,
		Mobile: visitsHostMobile, CompanyID: fx.company.ID, FloorID: fx.floor.ID, EmployeeNo: "E-801",
		CanHost: true}); err != nil {
		t.Fatalf("save host: %v", err)
	}
	if _, err := app.Auth.CreateAccount(ctx, "test", auth.NewAccount{Username: visitsHostUser, Name: visitsHostName,
		Role: auth.Host, PersonID: fx.host.ID, Password: visitsHostPass}); err != nil {
		t.Fatalf("create host account: %v", err)
	}
	if _, err := app.Auth.CreateAccount(ctx, "test", auth.NewAccount{Username: visitsDeskUser, Name: "Front Desk",
		Role: auth.Reception, Password: visitsDeskPass}); err != nil {
		t.Fatalf("create reception account: %v", err)
	}
	return fx
}

// visitWindow is a visit window of today in the building's zone that has
// already begun (so that a pass is good at once) and lasts at least a few
// more minutes. The booking rules take a window whose start is past as long
// as its end is not. Near midnight it waits for the next day.
func visitWindow(t *testing.T, loc *time.Location) (day, from, until string) {
	t.Helper()
	for {
		now := time.Now().In(loc)
		y, m, d := now.Date()
		start := time.Date(y, m, d, 0, 0, 0, 0, loc)
		f := now.Add(-5 * time.Minute).Truncate(time.Minute)
		if f.Before(start) {
			f = start
		}
		u := f.Add(2 * time.Hour)
		if last := time.Date(y, m, d, 23, 59, 0, 0, loc); u.After(last) {
			u = last
		}
		if u.Sub(now) >= 5*time.Minute {
			return f.Format("2006-01-02"), f.Format("15:04"), u.Format("15:04")
		}
		wait := time.Until(start.AddDate(0, 0, 1).Add(time.Minute))
		t.Logf("too close to midnight in %s for a window of today: waiting %v", loc, wait.Round(time.Second))
		time.Sleep(wait)
	}
}

// newSession opens a tab in a new browser context of b's browser: a
// separate person on another device, with cookies of their own. Its page
// problems are reported like b's.
func (b *browser) newSession() *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	s := &browser{t: b.t, ctx: ctx, base: b.base}
	if err := chromedp.Listen(ctx, s.watch); err != nil {
		cancel()
		b.t.Fatalf("open a new browser context: %v", err)
	}
	// Runs before b's cleanups, while the browser still runs.
	b.t.Cleanup(func() {
		s.mu.Lock()
		for _, p := range s.problems {
			b.t.Errorf("browser (second session): %s", p)
		}
		s.stopped = true
		s.mu.Unlock()
		cancel()
	})
	return s
}

// setValue sets an input the user picks rather than types into (date and
// time pickers, selects) and tells the page it changed.
func (b *browser) setValue(id, value string) {
	b.t.Helper()
	b.do("set #"+id, chromedp.WaitVisible(chromedp.ID(id)), chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const e = document.getElementById(%q);
		e.value = %q;
		e.dispatchEvent(new Event("input", {bubbles: true}));
		e.dispatchEvent(new Event("change", {bubbles: true}));
	})()`, id, value)))
	got, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID(id)))
	if err != nil || got != value {
		b.fatalf("set #%s: value is %q (%v), want %q", id, got, err, value)
	}
}

// attr is the value of attribute name of the first element matching sel.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? (e.getAttribute(%q) || "") : ""; })()`, sel, name))
}

// pickHost types q into #f-host_q, waits for the live search (htmx) to
// offer the host, and picks them.
func (b *browser) pickHost(q, hostID string) {
	b.t.Helper()
	radio := fmt.Sprintf(`#host-choices input[type=radio][name=host_id][value=%q]`, hostID)
	b.fill("f-host_q", q)
	b.waitFor("the host search to offer the host", fmt.Sprintf(`document.querySelector(%q) !== null`, radio))
	b.do("pick the host", chromedp.Click(chromedp.CSS(radio)))
	b.waitFor("the host to be picked", fmt.Sprintf(`document.querySelector(%q).checked`, radio))
}

// linkToken is the status-page token of a /v/... path or URL.
func linkToken(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("status link %q: %v", link, err)
	}
	m := regexp.MustCompile(`^/v/([A-Za-z0-9_-]{43})$`).FindStringSubmatch(u.Path)
	if m == nil {
		t.Fatalf("status link %q is not /v/<token>", link)
	}
	return m[1]
}

// scanQR decodes the pass QR on b's page with zbarimg, from a screenshot
// of #pass-qr as a phone shows it. Without zbarimg it returns "" and false
// (under $CI it fails instead).
func (b *browser) scanQR() (string, bool) {
	b.t.Helper()
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") != "" {
			b.t.Fatalf("CI is set but zbarimg is missing: %v", err)
		}
		return "", false
	}
	png, err := chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.ID("pass-qr")))
	if err != nil {
		b.fatalf("screenshot #pass-qr: %v", err)
	}
	p := filepath.Join(b.t.TempDir(), "pass-qr.png")
	if err := os.WriteFile(p, png, 0o600); err != nil {
		b.t.Fatal(err)
	}
	out, err := exec.Command(zbar, "--raw", "-q", p).Output()
	if err != nil {
		b.fatalf("zbarimg on a screenshot of #pass-qr (%s, %d bytes): %v", p, len(png), err)
	}
	return strings.TrimSpace(string(out)), true
}

// rowCells are the trimmed texts of the cells of table row sel.
func (b *browser) rowCells(sel string) []string {
	b.t.Helper()
	s := b.eval(fmt.Sprintf(`[...document.querySelectorAll(%q)].map(td => td.innerText.trim()).join("\n")`, sel+" > td"))
	return strings.Split(s, "\n")
}

func TestBrowserPreBookedVisitAcrossRoles(t *testing.T) {
	start := time.Now()
	app, base := startBrowserApp(t)
	fx := setUpVisits(t, app)
	loc := app.Config.Location
	day, from, until := visitWindow(t, loc)
	const (
		visitor = "李雷 Li Lei"
		mobile  = "13900139001"
	)

	// The visitor, on a phone, applies on the booking page.
	b := startBrowser(t, base)
	b.do("phone-sized viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	b.open("/book", "book-form")
	if w := b.eval(`String(document.documentElement.clientWidth)`); w != "390" {
		b.fatalf("booking page is %s px wide on a 390 px phone", w)
	}
	if over := b.eval(`String(document.documentElement.scrollWidth > document.documentElement.clientWidth)`); over != "false" {
		b.fatalf("the booking page scrolls sideways on a phone (scrollWidth %s)", b.eval(`String(document.documentElement.scrollWidth)`))
	}
	b.fill("f-name", visitor)
	b.fill("f-mobile", mobile)
	b.fill("f-id_last6", "12345X")
	b.setValue("f-company_id", b.optionValue("f-company_id", visitsCompany))
	b.pickHost("王芳", fx.host.ID)
	b.fill("f-reason", "面试 Interview")
	b.setValue("f-date", day)
	b.setValue("f-from", from)
	b.setValue("f-until", until)
	if st := b.submit("book-submit"); st != http.StatusOK {
		b.fatalf("book: status %d", st)
	}
	// Booked: straight to the status page, which says to keep its link.
	b.do("wait for the status page", chromedp.WaitVisible(chromedp.ID("visit-status")))
	statusPath := b.path()
	b.wantFlash("flash.booking_sent")
	if !b.exists("#keep-link") {
		b.fatalf("the status page does not say to keep its link")
	}
	token := linkToken(t, statusPath)
	v, err := app.Visits.ByLink(token)
	if err != nil {
		t.Fatalf("visit of the status link: %v", err)
	}
	if v.State != visit.Requested || v.HostID != fx.host.ID || v.Visitor.Name != visitor || v.Mode != visit.Booked {
		t.Fatalf("booked visit = state %s, host %s, visitor %q, mode %s", v.State, v.HostID, v.Visitor.Name, v.Mode)
	}
	if s := b.attr("#visit-status", "data-state"); s != string(visit.Requested) {
		b.fatalf("status page data-state = %q, want requested", s)
	}
	if b.exists("#pass-qr") {
		b.fatalf("a pass shows before the host approved")
	}

	// The host, on their own device, approves.
	host := b.newSession()
	host.mustLogin(visitsHostUser, visitsHostPass)
	host.open("/host/visits", "approve-"+v.ID)
	if got := host.text(chromedp.CSS("#pending-" + v.ID)); !strings.Contains(got, visitor) {
		host.fatalf("pending application #pending-%s = %q, want it to name %q", v.ID, got, visitor)
	}
	if st := host.submit("approve-" + v.ID); st != http.StatusOK {
		host.fatalf("approve: status %d", st)
	}
	host.do("wait for the host page", chromedp.WaitVisible(chromedp.ID("visits")))
	host.wantFlash("flash.saved")
	if host.exists("#pending-" + v.ID) {
		host.fatalf("the application is still pending after approval")
	}
	if v, err = app.Visits.Get(v.ID); err != nil || v.State != visit.Approved {
		t.Fatalf("visit after approval: state %s (%v), want approved", v.State, err)
	}

	// The visitor's open status page shows the pass by itself, without a
	// reload (it polls its card every 5 s).
	b.waitFor("the status page to show the approval", `document.querySelector('#visit-status[data-state="approved"] #pass-qr svg') !== null`)
	if !b.exists("#pass-qr svg") {
		b.fatalf("no QR (#pass-qr svg) on the status page after approval")
	}
	issued, err := app.Visits.Token(v)
	if err != nil {
		t.Fatal(err)
	}
	scanned, ok := b.scanQR()
	switch {
	case !ok:
		t.Log("zbarimg not installed: the QR image is not decoded; the gate uses the server's token")
		scanned = issued
	case scanned != issued:
		t.Fatalf("the QR on the status page reads %q, want the visit's pass %q", scanned, issued)
	}

	// The gate: the scanned pass lets the visitor in, once, and out.
	got, err := app.Visits.CheckPass(scanned, true)
	if err != nil || got.ID != v.ID {
		t.Fatalf("gate scan for entry: visit %q, %v; want %s accepted", got.ID, err, v.ID)
	}
	if err := app.Visits.Move(context.Background(), "device:lane-1", v.ID, visit.EvEnter, ""); err != nil {
		t.Fatalf("enter: %v", err)
	}
	var rej *pass.RejectError
	if _, err := app.Visits.CheckPass(scanned, true); !errors.As(err, &rej) {
		t.Fatalf("second entry scan while inside: %v, want a rejection", err)
	}
	if got, err := app.Visits.CheckPass(scanned, false); err != nil || got.ID != v.ID {
		t.Fatalf("gate scan for exit: visit %q, %v; want %s accepted", got.ID, err, v.ID)
	}
	if err := app.Visits.Move(context.Background(), "device:lane-1", v.ID, visit.EvExit, ""); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if v, err = app.Visits.Get(v.ID); err != nil || v.State != visit.Out || v.FirstIn == 0 || v.LastOut == 0 {
		t.Fatalf("visit after the gate: state %s, in %d, out %d (%v)", v.State, v.FirstIn, v.LastOut, err)
	}
	inAt := time.Unix(0, v.FirstIn).In(loc).Format("2006-01-02 15:04")
	outAt := time.Unix(0, v.LastOut).In(loc).Format("2006-01-02 15:04")

	// Reception sees the visit with both times, today and in the records.
	desk := b.newSession()
	desk.mustLogin(visitsDeskUser, visitsDeskPass)
	desk.open("/desk/today", "today-"+v.ID)
	// time, visitor, host, company and floor, badge, state with the times in and out, actions
	row := desk.text(chromedp.CSS("#today-" + v.ID))
	inClock := time.Unix(0, v.FirstIn).In(loc).Format("15:04")
	outClock := time.Unix(0, v.LastOut).In(loc).Format("15:04")
	for _, want := range []string{visitor, visitsCompany, visitsFloor, visitsHostName, inClock, outClock} {
		if !strings.Contains(row, want) {
			desk.fatalf("today's row = %q; want %s at %s on %s with %s, in %s, out %s", row, visitor, visitsCompany,
				visitsFloor, visitsHostName, inClock, outClock)
		}
	}
	desk.open("/desk/records", "record-"+v.ID)
	// visitor, company, floor, host, when, mode, state, in, out
	cells := desk.rowCells("#record-" + v.ID)
	if len(cells) < 9 || !strings.Contains(cells[0], visitor) || cells[7] != inAt || cells[8] != outAt {
		desk.fatalf("records row = %q; want %s, in %s, out %s", cells, visitor, inAt, outAt)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

func TestBrowserInvitedVisit(t *testing.T) {
	start := time.Now()
	app, base := startBrowserApp(t)
	fx := setUpVisits(t, app)
	day, from, until := visitWindow(t, app.Config.Location)
	const guest = "韩梅梅 Han Meimei"

	b := startBrowser(t, base)
	b.mustLogin(visitsHostUser, visitsHostPass)
	b.open("/host/visits", "new-invite")
	if st := b.submit("new-invite"); st != http.StatusOK {
		b.fatalf("open the invitation form: status %d", st)
	}
	b.do("wait for the invitation form", chromedp.WaitVisible(chromedp.ID("invite-form")))
	if p := b.path(); p != "/host/invite" {
		b.fatalf("#new-invite led to %s, want /host/invite", p)
	}
	b.setValue("f-title", "女士")
	b.fill("f-name", guest)
	b.fill("f-mobile", "13900139002")
	b.fill("f-company", "Partner Co")
	b.fill("f-reason", "Contract review")
	b.setValue("f-date", day)
	b.setValue("f-from", from)
	b.setValue("f-until", until)
	b.fill("f-message", "请到 8 楼前台找我。")
	if st := b.submit("invite-submit"); st != http.StatusOK {
		b.fatalf("invite: status %d", st)
	}
	b.do("wait for the pass", chromedp.WaitVisible(chromedp.ID("pass-qr")))
	if !b.exists("#pass-qr svg") {
		b.fatalf("no QR on the page after inviting")
	}
	link, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("visitor-link")))
	if err != nil {
		b.fatalf("#visitor-link: %v", err)
	}
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, base+"/v/") {
		b.fatalf("#visitor-link = %q, want %s/v/...", link, base)
	}
	token := linkToken(t, link)
	v, err := app.Visits.ByLink(token)
	if err != nil || v.Mode != visit.Invited || v.State != visit.Approved || v.HostID != fx.host.ID || v.Visitor.Name != guest {
		t.Fatalf("invited visit: mode %s, state %s, host %s, name %q (%v)", v.Mode, v.State, v.HostID, v.Visitor.Name, err)
	}

	// The guest opens the link on their own phone.
	g := b.newSession()
	g.do("phone-sized viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	g.open(u.RequestURI(), "visit-status")
	if s := g.attr("#visit-status", "data-state"); s != string(visit.Approved) {
		g.fatalf("invitation page data-state = %q, want approved", s)
	}
	if !g.exists("#pass-qr svg") {
		g.fatalf("no QR on the invitation page")
	}
	if got := g.text("#visit-status"); !strings.Contains(got, guest) || !strings.Contains(got, visitsHostName) {
		g.fatalf("invitation page = %q, want it to name %q and the host %q", got, guest, visitsHostName)
	}
	if scanned, ok := g.scanQR(); ok {
		if got, err := app.Visits.CheckPass(scanned, true); err != nil || got.ID != v.ID {
			t.Fatalf("scanned invitation pass: visit %q, %v; want %s accepted", got.ID, err, v.ID)
		}
	}

	// The host's list shows it.
	b.open("/host/visits", "visit-"+v.ID)
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

func TestBrowserWalkInWithBadge(t *testing.T) {
	start := time.Now()
	app, base := startBrowserApp(t)
	fx := setUpVisits(t, app)
	_, _, until := visitWindow(t, app.Config.Location)
	const walker = "快递员 Courier Zhou"

	b := startBrowser(t, base)
	b.mustLogin(visitsDeskUser, visitsDeskPass)
	b.open("/desk/today", "new-walkin")
	if st := b.submit("new-walkin"); st != http.StatusOK {
		b.fatalf("open the walk-in form: status %d", st)
	}
	b.do("wait for the walk-in form", chromedp.WaitVisible(chromedp.ID("walkin-form")))

	// Find the host; their phone is one tap away.
	b.fill("f-host_q", "Wang Fang")
	b.waitFor("the host search to offer the host",
		fmt.Sprintf(`document.querySelector('#host-choices input[name=host_id][value=%q]') !== null`, fx.host.ID))
	if !b.exists(`#host-choices a[href="tel:` + visitsHostMobile + `"]`) {
		b.fatalf("no tel:%s call link next to the host: %q", visitsHostMobile, b.text("#host-choices"))
	}
	b.pickHost("Wang Fang", fx.host.ID)

	b.fill("f-name", walker)
	b.fill("f-mobile", "13900139003")
	b.fill("f-reason", "Delivery")
	b.setValue("f-until", until)
	b.fill("f-badge", "T-09")
	if st := b.submit("walkin-submit"); st != http.StatusOK {
		b.fatalf("register the walk-in: status %d", st)
	}
	b.do("wait for the pass", chromedp.WaitVisible(chromedp.ID("pass-qr")))
	if got := b.text("#issued-badge"); got != "T-09" {
		b.fatalf("#issued-badge = %q, want T-09", got)
	}
	if !b.exists("#pass-qr svg") {
		b.fatalf("no QR on the page after registering")
	}
	link, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("visitor-link")))
	if err != nil {
		b.fatalf("#visitor-link: %v", err)
	}
	v, err := app.Visits.ByLink(linkToken(t, link))
	if err != nil || v.Mode != visit.WalkIn || v.State != visit.Approved || v.Badge != "T-09" || v.HostID != fx.host.ID {
		t.Fatalf("walk-in visit: mode %s, state %s, badge %q, host %s (%v)", v.Mode, v.State, v.Badge, v.HostID, err)
	}
	if scanned, ok := b.scanQR(); ok {
		if got, err := app.Visits.CheckPass(scanned, true); err != nil || got.ID != v.ID {
			t.Fatalf("scanned walk-in pass: visit %q, %v; want %s accepted", got.ID, err, v.ID)
		}
	}

	// The badge is out until it is handed back.
	b.open("/desk/today?badges=out", "today-"+v.ID)
	if got := b.text(chromedp.CSS("#today-" + v.ID)); !strings.Contains(got, walker) || !strings.Contains(got, "T-09") {
		b.fatalf("unreturned badges row = %q, want %s with T-09", got, walker)
	}
	if st := b.submit("return-" + v.ID); st != http.StatusOK {
		b.fatalf("return the badge: status %d", st)
	}
	b.do("wait for today's list", chromedp.WaitVisible(chromedp.ID("today")))
	b.wantFlash("flash.badge_back")
	if b.exists("#return-" + v.ID) {
		b.fatalf("the return button is still there after returning the badge")
	}
	b.open("/desk/today?badges=out", "today")
	if b.exists("#today-" + v.ID) {
		b.fatalf("the returned badge is still listed as out: %q", b.text(chromedp.CSS("#today-"+v.ID)))
	}
	if v, err = app.Visits.Get(v.ID); err != nil || v.BadgeBack == 0 {
		t.Fatalf("badge not recorded as returned: %d (%v)", v.BadgeBack, err)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

func TestBrowserBookingFieldErrors(t *testing.T) {
	start := time.Now()
	app, base := startBrowserApp(t)
	fx := setUpVisits(t, app)
	day, from, until := visitWindow(t, app.Config.Location)
	b := startBrowser(t, base)
	b.do("phone-sized viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait))

	// A bad mobile number and no reason. The browser's own checks are off,
	// as in a browser without them: the server must name each field.
	submitBad := func(l i18n.Lang) {
		t.Helper()
		b.fill("f-name", "测试 Tester")
		b.fill("f-mobile", "12345")
		b.fill("f-id_last6", "123456")
		b.setValue("f-company_id", b.optionValue("f-company_id", visitsCompany))
		b.pickHost("Wang", fx.host.ID)
		b.setValue("f-date", day)
		b.setValue("f-from", from)
		b.setValue("f-until", until)
		b.do("turn off the browser's form checks",
			chromedp.Evaluate[chromedp.Void](`document.getElementById("book-form").noValidate = true`))
		if st := b.submit("book-submit"); st != http.StatusUnprocessableEntity {
			b.fatalf("book with a bad mobile and no reason (%s): status %d, want %d", l, st, http.StatusUnprocessableEntity)
		}
		b.do("wait for the form again", chromedp.WaitVisible(chromedp.ID("book-form")))
		for id, key := range map[string]string{"e-mobile": "err.invalid_mobile", "e-reason": "err.required"} {
			if !b.exists("#" + id) {
				b.fatalf("(%s) no field message #%s", l, id)
			}
			if got := b.text(chromedp.CSS("#" + id)); got != l.T(key) {
				b.fatalf("(%s) #%s = %q, want %q", l, id, got, l.T(key))
			}
		}
		for _, id := range []string{"e-name", "e-id_last6", "e-host_id", "e-date", "e-from", "e-until"} {
			if b.exists("#" + id) {
				b.fatalf("(%s) unexpected field message #%s: %q", l, id, b.text(chromedp.CSS("#"+id)))
			}
		}
		if got, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("f-mobile"))); err != nil || got != "12345" {
			b.fatalf("(%s) mobile not kept: %q (%v)", l, got, err)
		}
		if !b.exists(fmt.Sprintf(`#host-choices input[name=host_id][value=%q]:checked`, fx.host.ID)) {
			b.fatalf("(%s) the picked host is not kept", l)
		}
	}

	b.open("/book", "book-form")
	if lang := b.eval(`document.documentElement.lang`); lang != "zh-CN" {
		// The browser asked for another language: pick Chinese, as the
		// building's default.
		if st := b.submit("lang-zh"); st != http.StatusOK {
			b.fatalf("switch to Chinese: status %d", st)
		}
		b.do("wait for the form", chromedp.WaitVisible(chromedp.ID("book-form")))
	}
	submitBad(i18n.ZH)

	if st := b.submit("lang-en"); st != http.StatusOK {
		b.fatalf("switch to English: status %d", st)
	}
	b.do("wait for the form", chromedp.WaitVisible(chromedp.ID("book-form")))
	if lang := b.eval(`document.documentElement.lang`); lang != "en" {
		b.fatalf("after #lang-en: html lang = %q, want en", lang)
	}
	if p := b.path(); p != "/book" {
		b.fatalf("after #lang-en: at %s, want /book", p)
	}
	submitBad(i18n.EN)

	if vs, err := app.Visits.Day(time.Now(), app.Config.Location); err != nil || len(vs) != 0 {
		t.Fatalf("visits stored after rejected forms: %d (%v), want 0", len(vs), err)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}
