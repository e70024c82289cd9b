package ui

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
)

// TestBrowserSignup: an employee in the directory, with no account, follows
// the sign-in page's link, types their mobile on a phone, reads the code
// the simulated GSM modem sent, chooses a username and password, and lands
// signed in on the host's home page; the account is a host linked to them.
func TestBrowserSignup(t *testing.T) {
	app, base := startBrowserApp(t)
	fx := setUpVisits(t, app)
	ctx := context.Background()
	p, err := app.Directory.SavePerson(ctx, "test", directory.Person{Kind: directory.Employee, Name: "李娜", Mobile: "13911112222",
		CompanyID: fx.company.ID, FloorID: fx.floor.ID, EmployeeNo: "E-802", CanHost: true})
	if err != nil {
		t.Fatal(err)
	}
	dev := appModem(t, app)

	b := startBrowser(t, base)
	b.do("phone screen", chromedp.EmulateViewport(390, 844))
	b.open("/login", "login-signup")
	if st := b.submit("login-signup"); st != http.StatusOK {
		b.fatalf("the sign-up link: status %d", st)
	}
	b.do("wait for the sign-up form", chromedp.WaitVisible(chromedp.ID("f-mobile")))
	b.fitsPhone()
	b.fill("f-mobile", "139 1111 2222")
	if st := b.submit("signup-send"); st != http.StatusOK {
		b.fatalf("send the code: status %d", st)
	}
	b.do("wait for the code form", chromedp.WaitVisible(chromedp.ID("f-code")))
	b.fitsPhone()

	var code string
	for deadline := time.Now().Add(10 * time.Second); code == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, m := range dev.Messages() {
			if c := smsCode.FindStringSubmatch(m.Text); c != nil && strings.HasSuffix(m.Number, "13911112222") {
				code = c[1]
			}
		}
	}
	if code == "" {
		t.Fatalf("no code reached the employee's phone: %+v", dev.Messages())
	}
	b.fill("f-code", code)
	b.fill("f-username", "lina")
	b.fill("f-password", "Lobby-gate-2026!")
	if st := b.submit("signup-submit"); st != http.StatusOK {
		b.fatalf("activate: status %d", st)
	}
	b.do("wait for the signed-in page", chromedp.WaitVisible(chromedp.ID("logout")))
	if got := b.path(); got != landing(auth.Host) {
		b.fatalf("landed on %s, want the host's home %s", got, landing(auth.Host))
	}
	b.wantFlash("flash.signed_up")
	a, err := app.Auth.AccountByUsername("lina")
	if err != nil || a.Role != auth.Host || a.PersonID != p.ID {
		t.Fatalf("account = %+v (%v), want a host linked to the employee", a, err)
	}
}
