package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/access"
	"gatehouse/appliance/directory"
)

// TestBrowserFlowDashboard: the dashboard draws its charts under the
// page's CSP without a script error, refreshes itself when someone comes
// in, and the evacuation list is one click away; the report page draws.
// With GATEHOUSE_SCREENSHOTS set it also saves tablet-size pictures.
func TestBrowserFlowDashboard(t *testing.T) {
	app, base := startBrowserApp(t)
	ctx := context.Background()
	registerFlowEvents(app.Store)
	var floors []directory.Floor
	for i, n := range []string{"B1", "1F", "2F", "3F", "4F"} {
		f, err := app.Directory.SaveFloor(ctx, "t", directory.Floor{Name: n, Level: i - 1})
		if err != nil {
			t.Fatal(err)
		}
		floors = append(floors, f)
	}
	co, _ := app.Directory.SaveCompany(ctx, "t", directory.Company{Name: "星辰科技 Star Tech", FloorIDs: []string{floors[1].ID, floors[2].ID, floors[3].ID, floors[4].ID}})
	var people []string
	for i := range 12 {
		p, err := app.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: fmt.Sprintf("Person %d", i),
			Mobile: fmt.Sprintf("138001380%02d", i), CompanyID: co.ID, FloorID: floors[1+i%4].ID, EmployeeNo: fmt.Sprintf("E%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		people = append(people, p.ID)
	}
	z, _ := app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	lane, _ := app.Access.SaveLane(ctx, "t", access.Lane{Name: "North gate", ZoneID: z.ID, PulseMs: 800})
	now := app.Clock.Now()
	var es []access.Event
	for i, p := range people[:11] {
		es = append(es, access.Event{Time: now.Add(-time.Duration(i+1) * 17 * time.Minute), Lane: lane.ID, Entry: true, Grant: true, Kind: 'c', Holder: p, Rand: uint32(i)})
		es = append(es, access.Event{Time: now.AddDate(0, 0, -7).Add(-time.Duration(i+1) * 23 * time.Minute), Lane: lane.ID, Entry: true, Grant: true, Kind: 'c', Holder: p, Rand: uint32(i)})
	}
	putFlowEvents(t, app.Store, now, es)

	b := startBrowser(t, base)
	b.mustLogin("admin", "admin-password-1")
	b.do("tablet", chromedp.EmulateViewport(1024, 768))
	b.open("/flow", "chart-hourly")
	if got := b.text("#kpi-inside .n"); got != "11" {
		t.Fatalf("inside = %q, want 11", got)
	}
	if got := b.eval(`document.querySelector('#chart-building [data-floor="1F"]').dataset.count`); got != `"3"` && got != "3" {
		t.Errorf("1F count = %s", got)
	}
	shot := func(name string) {
		dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
		if dir == "" {
			return
		}
		_ = os.MkdirAll(dir, 0o755)
		buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot("tablet_flow")
	// Someone comes in: the page shows it within one polling period.
	putFlowEvents(t, app.Store, now, []access.Event{{Time: app.Clock.Now(), Lane: lane.ID, Entry: true, Grant: true, Kind: 'c', Holder: people[11], Rand: 99}})
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.querySelector('#kpi-inside .n').textContent === "12"`,
		chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the dashboard did not refresh: inside = %q (%v)", b.text("#kpi-inside .n"), err)
	}
	b.do("evacuation list", chromedp.Click(chromedp.ID("flow-muster")), chromedp.WaitVisible(chromedp.CSS("table.muster")))
	if p := b.path(); p != "/guard/muster" {
		t.Errorf("evacuation link led to %s", p)
	}
	b.open("/reports?kind=month", "chart-series")
	shot("tablet_reports")
	if dir := os.Getenv("GATEHOUSE_SCREENSHOTS"); dir != "" {
		for i, y := range []int{0, 1400, 2800} {
			var buf []byte
			b.do("scroll", chromedp.Evaluate[chromedp.Void](fmt.Sprintf("window.scrollTo(0, %d)", y)), chromedp.Sleep(200*time.Millisecond))
			buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("tablet_reports_%d.png", i)), buf, 0o644)
		}
	}
}
