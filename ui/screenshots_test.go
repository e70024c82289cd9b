package ui

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/directory"
)

// TestScreenshots saves full-page PNGs of the main pages at tablet and
// phone sizes into $GATEHOUSE_SCREENSHOTS, for a person to look at:
//
//	GATEHOUSE_SCREENSHOTS=/tmp/shots go test ./ui -run Screenshots
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" {
		t.Skip("set GATEHOUSE_SCREENSHOTS to a directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	app, base := startBrowserApp(t)
	ctx := context.Background()
	f1, _ := app.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "3F", Level: 3})
	f2, _ := app.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "4F", Level: 4})
	co, _ := app.Directory.SaveCompany(ctx, "t", directory.Company{Name: "星辰科技 Star Tech", FloorIDs: []string{f1.ID, f2.ID}, Phone: "021-60000001"})
	for i, n := range []string{"王伟", "李娜", "张敏", "刘洋", "陈静 Chen Jing"} {
		_, _ = app.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: n, Mobile: "1380013800" + string(rune('0'+i)), CompanyID: co.ID, FloorID: f1.ID, EmployeeNo: "E00" + string(rune('1'+i)), CanHost: true})
	}
	b := startBrowser(t, base)
	b.mustLogin("admin", "admin-password-1")
	for _, sz := range []struct {
		name string
		w, h int64
	}{{"tablet", 1024, 768}, {"phone", 390, 844}} {
		for _, p := range []string{"/", "/directory/people", "/directory/companies", "/admin/accounts", "/directory/people/new", "/directory/import",
			"/guard", "/flow", "/reports", "/keys", "/keys/audits", "/stock", "/stock/ledger", "/stock/reconcile",
			"/notices", "/notices/new", "/messages", "/access/credentials", "/admin/devices", "/admin/settings"} {
			b.do("nav", chromedp.EmulateViewport(sz.w, sz.h), chromedp.Navigate(base+p))
			buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, sz.name+sanitize(p)+".png"), buf, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func sanitize(p string) string {
	out := []byte{}
	for _, c := range []byte(p) {
		if c == '/' {
			c = '_'
		}
		out = append(out, c)
	}
	return string(out)
}
