package ui

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/notify"
	"gatehouse/appliance/visit"
	"gatehouse/drivers/modem"
	"gatehouse/ui/i18n"
)

// TestBrowserHostHome: a host waits on their home page; a visitor's
// request appears there by itself, with a live banner in the host's
// language alone; the host approves in one tap and is told what happens
// next; the visitor's open status page shows the pass without a reload.
func TestBrowserHostHome(t *testing.T) {
	app, base := startBrowserApp(t)
	fx := setUpVisits(t, app)
	runWorker(t, notify.NewWorker(app.Notify, notify.WorkerOptions{Poll: 20 * time.Millisecond}))

	host := startBrowser(t, base)
	// A host answers on their phone.
	host.do("phone-sized viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	host.mustLogin(visitsHostUser, visitsHostPass)
	host.do("wait for the empty list", chromedp.WaitVisible(chromedp.ID("no-pending")))
	lang := host.eval(`document.documentElement.lang`)

	now := time.Now()
	v, link, err := app.Visits.Book(context.Background(), visit.Request{Name: "Maria Garcia", Mobile: "13900139004",
		IDLast6: "123456", HostID: fx.host.ID, Reason: "Interview", From: now, Until: now.Add(2 * time.Hour), Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	visitor := host.newSession()
	visitor.open("/v/"+link, "visit-status")
	if s := visitor.attr("#visit-status", "data-state"); s != string(visit.Requested) {
		visitor.fatalf("status page data-state = %q, want requested", s)
	}

	// The request appears on the host's home by itself.
	host.waitFor("the request on the host's home", fmt.Sprintf(`document.querySelector("#pending-%s #approve-%s") !== null`, v.ID, v.ID))
	host.fitsPhone()
	banner := host.text("main .flash.notify")
	han := strings.ContainsFunc(banner, func(r rune) bool { return unicode.Is(unicode.Han, r) })
	if !strings.Contains(banner, "Maria Garcia") || (lang == "en") == han {
		host.fatalf("live banner %q is not in the page's language (%s) alone", banner, lang)
	}

	if st := host.submit("approve-" + v.ID); st != http.StatusOK {
		host.fatalf("approve: status %d", st)
	}
	host.do("wait for the next step", chromedp.WaitVisible(chromedp.ID("next-step")))
	next := host.text("#next-step")
	if l := i18n.Lang(lang); next != l.T("hosthome.next_page", "Maria Garcia") {
		host.fatalf("after approving: %q, want what happens next", next)
	}
	if host.exists("#pending-" + v.ID) {
		host.fatalf("the request is still waiting after approval")
	}
	if !host.exists("#host-today #visit-" + v.ID) {
		host.fatalf("the approved visit is not among today's")
	}
	host.open("/host/visits/"+v.ID, "answered-"+v.ID)
	host.fitsPhone()
	host.open("/account/notify", "profile-form")
	host.fitsPhone()

	// The visitor's page shows the pass by itself.
	visitor.waitFor("the status page to show the pass", `document.querySelector('#visit-status[data-state="approved"] #pass-qr svg') !== null`)
}

// TestBrowserWalkinSMS: the desk registers a walk-in visitor, choosing
// English for their messages; the visitor's phone receives one SMS in
// English alone, in one part, whose absolute link opens the pass.
func TestBrowserWalkinSMS(t *testing.T) {
	app, base := startBrowserApp(t)
	fx := setUpVisits(t, app)
	if _, err := app.SaveSettings(context.Background(), "test", map[string]string{"base_url": base}); err != nil {
		t.Fatal(err)
	}
	dev := appModem(t, app)

	desk := startBrowser(t, base)
	desk.mustLogin(visitsDeskUser, visitsDeskPass)
	desk.open("/desk/walkin", "walkin-form")
	desk.pickHost("王芳", fx.host.ID)
	desk.fill("f-name", "Maria Garcia")
	desk.fill("f-mobile", "13900139005")
	desk.setValue("f-lang", "en")
	desk.fill("f-reason", "Delivery")
	if st := desk.submit("walkin-submit"); st != http.StatusOK {
		desk.fatalf("register: status %d", st)
	}
	desk.do("wait for the pass", chromedp.WaitVisible(chromedp.ID("pass-qr")))

	var m struct {
		text  string
		parts int
	}
	for deadline := time.Now().Add(10 * time.Second); m.text == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, s := range dev.Messages() {
			if strings.HasSuffix(s.Number, "13900139005") {
				m.text, m.parts = s.Text, s.Parts
			}
		}
	}
	if m.text == "" {
		t.Fatalf("no SMS reached the walk-in visitor: %+v", dev.Messages())
	}
	if strings.ContainsFunc(m.text, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
		t.Errorf("the SMS is not in English alone: %q", m.text)
	}
	if _, parts := modem.Split(m.text); m.parts != 1 || len(parts) != 1 {
		t.Errorf("the SMS takes %d parts (%d counted), want 1: %q", m.parts, len(parts), m.text)
	}
	i := strings.Index(m.text, base+"/v/")
	if i < 0 {
		t.Fatalf("the SMS has no absolute link under %s: %q", base, m.text)
	}
	phone := desk.newSession()
	phone.open(strings.Fields(m.text[i+len(base):])[0], "visit-status")
	if !phone.exists("#pass-qr svg") {
		phone.fatalf("the SMS link opens no pass")
	}
}

// fitsPhone fails when anything outside the nav and tab strips reaches past
// the right edge of the screen (as TestBrowserPhonePagesFitTheScreen).
func (b *browser) fitsPhone() {
	b.t.Helper()
	got := strings.Trim(b.eval(`(() => {
		const w = document.documentElement.clientWidth, out = [];
		for (const e of document.querySelectorAll('body *')) {
			if (e.closest('nav, .tabs')) continue;
			const r = e.getBoundingClientRect();
			if (r.width > 0 && r.right > w + 1) out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' right=' + Math.round(r.right));
		}
		return out.slice(0, 5).join(' | ');
	})()`), `"`)
	if got != "" {
		b.fatalf("%s is wider than a phone: %s", b.path(), got)
	}
}
