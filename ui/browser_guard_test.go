package ui

// Browser test of the guard station letting in an early visitor, with the
// harness of browser_test.go.
//
//	go test ./ui/ -run 'BrowserGuard' -count=1 -v

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/access"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/report"
	"gatehouse/appliance/visit"
	"gatehouse/ui/i18n"
)

// heldRelay switches on only when the test lets it, so the page can be
// seen while the request is at work.
type heldRelay struct{ release chan struct{} }

func (r heldRelay) OpenLane(ctx context.Context, lane string, pulse time.Duration) error {
	select {
	case <-r.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	gate.Switched(ctx, nil)
	select {
	case <-time.After(pulse):
	case <-ctx.Done():
	}
	return nil
}

// TestBrowserGuardAdmitsAnEarlyVisitor: a visitor 45 minutes early, with
// the default grace of 30, is refused at the gate; the guard, at a 1024 px
// lobby PC, sees the refusal as a red one-line row and lets them in from
// it: the button says it is working until the relay is on, the row then
// says "let in", the live feed adds the green entry, the visit is inside
// by the guard and the day's flow counts one visitor.
func TestBrowserGuardAdmitsAnEarlyVisitor(t *testing.T) {
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, cfg.Location)) // a Monday
	app, base := startClockedBrowserApp(t, clk, cfg)
	ctx := context.Background()
	fx := setUpVisits(t, app)
	z, err := app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby", Passback: access.PassbackHard})
	if err != nil {
		t.Fatal(err)
	}
	lane, err := app.Access.SaveLane(ctx, "t", access.Lane{Name: "North gate", ZoneID: z.ID, Visitors: true, PulseMs: 800})
	if err != nil {
		t.Fatal(err)
	}
	relay := heldRelay{release: make(chan struct{})}
	app.Access.SetOpener(relay)
	now := clk.Now()
	v, _, err := app.Visits.Invite(ctx, "test", visit.Request{Name: "韩梅梅 Han Meimei", Mobile: "13900139011", Company: "Globex",
		HostID: fx.host.ID, Reason: "Interview", From: now.Add(45 * time.Minute), Until: now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := app.Visits.Token(v)
	if err != nil {
		t.Fatal(err)
	}
	if g := app.Access.VisitorGrace(); g.Early != 30*time.Minute {
		t.Fatalf("default grace %v, want 30 min", g.Early)
	}
	a, err := app.Access.Decide(ctx, gate.Presentation{Lane: lane.ID, Direction: gate.In, Kind: gate.QR, Value: tok, Device: "North in", At: now})
	if err != nil || a.Open || a.Reason != string(access.NotYetValid) {
		t.Fatalf("45 min early: %+v %v, want refused not yet valid", a, err)
	}

	b := startBrowser(t, base)
	b.do("a lobby PC's screen", chromedp.EmulateViewport(1024, 768))
	b.mustLogin(visitsDeskUser, visitsDeskPass)
	b.open("/guard", "gate-feed")
	row := "#feed-rows tr:first-child"
	if !b.exists("#alarms .alarm") {
		b.fatalf("the refusal raised no alarm card")
	}
	if !b.exists(row+".denied .bad-badge") || !b.exists(row+" button.admit") {
		b.fatalf("the first row is not a red refusal offering to let the visitor in")
	}
	if got := b.text(chromedp.CSS(row + " td.at")); got != "10:00:00" {
		b.fatalf("today's row shows %q, want the time alone", got)
	}
	// One line a row at 1024 px (no cell taller than one line of text
	// and its padding), and the feed fits its column.
	if bad := b.eval(`(() => {
		const out = [];
		for (const td of document.querySelectorAll('#feed-rows tr td')) {
			const cs = getComputedStyle(td);
			const inner = td.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
			const line = parseFloat(cs.lineHeight) || parseFloat(cs.fontSize) * 1.5;
			if (inner > 1.9 * line) { out.push(td.innerText.trim() + " (" + Math.round(inner) + " px)"); }
		}
		const t = document.querySelector('#gate-feed');
		if (t.getBoundingClientRect().right > t.parentElement.getBoundingClientRect().right + 1) { out.push("wider than its column"); }
		return out.join(", ");
	})()`); bad != "" {
		b.fatalf("the feed wraps at 1024 px: %s", bad)
	}

	// Let in: the button works visibly until the relay is on.
	b.do("let in", chromedp.Click(row+" button.admit"))
	b.waitFor("the button to say it is working", fmt.Sprintf(`(() => {
		const btn = document.querySelector(%q);
		return btn !== null && btn.disabled && getComputedStyle(btn.querySelector('.busy')).display !== 'none'
			&& getComputedStyle(btn.querySelector('.idle')).display === 'none';
	})()`, "#feed-rows button.admit[data-visit='"+v.ID+"']"))
	close(relay.release)
	b.waitFor("the row to say let in", fmt.Sprintf(`(() => {
		const s = [...document.querySelectorAll('#feed-rows td.act .ok-badge')].map(e => e.innerText.trim());
		return s.includes(%q) || s.includes(%q);
	})()`, i18n.EN.T("guard.admitted"), i18n.ZH.T("guard.admitted")))
	b.waitFor("the visitor's alarm card to go", `document.querySelector('#alarms .alarm') === null`)
	b.waitFor("the live feed to add the green entry", `(() => {
		const r = document.querySelector('#feed-rows tr:first-child');
		return r !== null && r.classList.contains('granted') && r.querySelector('.ok-badge') !== null;
	})()`)

	if dir := os.Getenv("GATEHOUSE_SCREENSHOTS"); dir != "" {
		buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		_ = os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, "guard_admit_1024.png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Access.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := app.Visits.Get(v.ID)
	if err != nil || got.State != visit.In {
		t.Fatalf("visit %s (%v), want in", got.State, err)
	}
	if last := got.History[len(got.History)-1]; last.By == "" || last.By[:8] != "account:" {
		t.Fatalf("the visit's entry is by %q, want the guard's account", last.By)
	}
	d, err := app.Reports.Dashboard()
	if err != nil {
		t.Fatal(err)
	}
	if d.TodayBy[report.GroupVisitor] != 1 || d.TodayBy[report.GroupOther] != 0 || d.InsideBy[report.GroupVisitor] != 1 {
		t.Fatalf("flow today %v, inside %v: want one visitor", d.TodayBy, d.InsideBy)
	}

	// A refusal that arrives live offers the same, and it works there too.
	clk.Advance(time.Minute)
	v2, _, err := app.Visits.Invite(ctx, "test", visit.Request{Name: "李雷 Li Lei", Mobile: "13900139012",
		HostID: fx.host.ID, Reason: "Interview", From: clk.Now().Add(40 * time.Minute), Until: clk.Now().Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok2, _ := app.Visits.Token(v2)
	if a, err := app.Access.Decide(ctx, gate.Presentation{Lane: lane.ID, Direction: gate.In, Kind: gate.QR, Value: tok2, Device: "North in"}); err != nil || a.Open {
		t.Fatalf("40 min early: %+v %v", a, err)
	}
	live := "#feed-rows button.admit[data-visit='" + v2.ID + "']"
	b.waitFor("the live refusal's row", fmt.Sprintf(`document.querySelector(%q) !== null`, live))
	b.do("let in from the live row", chromedp.Click(live))
	b.waitFor("the live row to say let in", fmt.Sprintf(`document.querySelector(%q) === null && document.querySelectorAll('#feed-rows td.act .ok-badge').length === 2`, live))
	if err := app.Access.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := app.Visits.Get(v2.ID); got.State != visit.In {
		t.Fatalf("the visitor let in from a live row: visit %s", got.State)
	}
}
