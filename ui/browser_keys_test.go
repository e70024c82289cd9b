package ui

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/auth"
	"gatehouse/ui/i18n"
)

// hasEither reports whether s shows key in English or Chinese.
func hasEither(s, key string) bool {
	return strings.Contains(s, i18n.EN.T(key)) || strings.Contains(s, i18n.ZH.T(key))
}

// fetchBytes downloads path with b's cookies, from the page, and returns
// the body.
func (b *browser) fetchBytes(path string) []byte {
	b.t.Helper()
	js := fmt.Sprintf(`fetch(%q).then(r => { if (!r.ok) throw new Error("status " + r.status); return r.blob(); })
		.then(blob => new Promise((res, rej) => { const fr = new FileReader(); fr.onload = () => res(fr.result); fr.onerror = rej; fr.readAsDataURL(blob); }))`, path)
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatalf("fetch %s: %v", path, err)
	}
	_, data, _ := strings.Cut(s, ",")
	out, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		b.fatalf("fetch %s: %v", path, err)
	}
	return out
}

// pdfToText is the text of a PDF by pdftotext (poppler-utils); without it
// the test is skipped, or fails under $CI.
func pdfToText(t *testing.T, pdf []byte) string {
	t.Helper()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but pdftotext is missing (poppler-utils): %v", err)
		}
		t.Skipf("pdftotext is not installed: %v", err)
	}
	p := filepath.Join(t.TempDir(), "sheet.pdf")
	if err := os.WriteFile(p, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-layout", p, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// TestBrowserKeyCheckoutAndBadgeHandover: the administrator registers a
// top-level key, checks it out and back in with a manager as the second
// person (refused when naming themselves), and sees its history; then
// receives 20 visitor badges and hands them to a guard, who confirms in a
// session of their own; the printed sheet lists every badge and both names.
func TestBrowserKeyCheckoutAndBadgeHandover(t *testing.T) {
	app, base := startBrowserApp(t)
	ctx := context.Background()
	for _, a := range []auth.NewAccount{
		{Username: "mgr1", Name: "Manager Zhou", Role: auth.Manager, Password: "manager-password-1"},
		{Username: "guard1", Name: "Guard Chen", Role: auth.Reception, Password: "guard-password-1"},
	} {
		if _, err := app.Auth.CreateAccount(ctx, "test", a); err != nil {
			t.Fatal(err)
		}
	}
	b := startBrowser(t, base)
	b.mustLogin(browserAdminUser, browserAdminPass)

	// Register a top-level key.
	b.open("/keys/new", "key-save")
	b.fill("f-tag", "K-700")
	b.fill("f-customer", "Acme Ltd")
	b.fill("f-unit", "1808")
	b.fill("f-cabinet", "A")
	b.fill("f-slot", "3")
	b.setValue("f-level", "3")
	if st := b.submit("key-save"); st != http.StatusOK {
		b.fatalf("register key: %d", st)
	}
	b.wantFlash("flash.saved")
	keyPath := b.path()
	if !strings.HasPrefix(keyPath, "/keys/") {
		b.fatalf("landed on %s", keyPath)
	}

	// Checkout: naming oneself as the second person is refused.
	b.setValue("f-reason", "maintenance")
	b.fill("f-note", "water leak in 1808")
	b.fill("f-approver", browserAdminUser)
	b.fill("f-approver_password", browserAdminPass)
	if st := b.submit("key-checkout"); st != http.StatusUnprocessableEntity {
		b.fatalf("checkout approved by the holder: %d", st)
	}
	if got := b.text("#e-approver"); !hasEither(got, "err.key_same_person") {
		b.fatalf("approver error %q", got)
	}
	b.setValue("f-reason", "maintenance")
	b.fill("f-approver", "mgr1")
	b.fill("f-approver_password", "manager-password-1")
	if st := b.submit("key-checkout"); st != http.StatusOK {
		b.fatalf("checkout: %d", st)
	}
	b.wantFlash("flash.saved")
	if out := b.text("#key-out"); !strings.Contains(out, "Admin") || !strings.Contains(out, "Manager Zhou") {
		b.fatalf("key out: %q", out)
	}

	// Back in, to another slot, with the second person again.
	b.fill("f-slot", "4")
	b.fill("f-approver", "mgr1")
	b.fill("f-approver_password", "manager-password-1")
	if st := b.submit("key-return"); st != http.StatusOK {
		b.fatalf("return: %d", st)
	}
	b.wantFlash("flash.saved")
	if got := b.text("#key-slot"); got != "4" {
		b.fatalf("slot after return: %q", got)
	}
	hist := b.text("#key-history")
	for _, k := range []string{"keyev.registered", "keyev.checkout", "keyev.return", "keyreason.maintenance"} {
		if !hasEither(hist, k) {
			b.fatalf("history lacks %s:\n%s", k, hist)
		}
	}
	if !strings.Contains(hist, "Manager Zhou") || !strings.Contains(hist, "water leak in 1808") {
		b.fatalf("history lacks the approver or the note:\n%s", hist)
	}
	// The key room lists it, found by customer.
	b.open("/keys?q=acme", "key-list")
	if got := b.text("#key-list tbody"); !strings.Contains(got, "K-700") {
		b.fatalf("key room: %q", got)
	}

	// 20 badges received into the office.
	b.open("/stock", "receive-form")
	b.eval(`(() => { document.querySelectorAll("details").forEach(d => d.open = true); return "" })()`)
	b.fill("f-receive-lobby", "Office")
	b.setValue("f-type", "visitor_badge")
	b.fill("f-receive-numbers", "B001..B020")
	if st := b.submit("receive-save"); st != http.StatusOK {
		b.fatalf("receive: %d", st)
	}
	b.wantFlash("flash.saved")

	// Handed to the guard: pending until the guard confirms.
	b.eval(`(() => { document.querySelectorAll("details").forEach(d => d.open = true); return "" })()`)
	b.setValue("f-to", b.optionValue("f-to", "Guard Chen (guard1)"))
	b.fill("f-handover-lobby", "Lobby A")
	b.fill("f-handover-numbers", "B001..B020")
	if st := b.submit("handover-save"); st != http.StatusOK {
		b.fatalf("handover: %d", st)
	}
	handover := b.path()
	if b.exists("#handover-confirm") {
		b.fatalf("the giver is offered the receiver's confirmation")
	}
	if st := b.text("#handover-state"); !hasEither(st, "handover.pending") {
		b.fatalf("handover state %q", st)
	}
	if it, err := app.Stock.Item("B020"); err != nil || it.Lobby != "Office" || it.Holder.Name != "Admin" {
		b.fatalf("badge moved before the receiver confirmed: %+v %v", it, err)
	}

	g := b.newSession()
	g.mustLogin("guard1", "guard-password-1")
	g.open("/stock", "pending")
	g.open(handover, "handover-confirm")
	if st := g.submit("handover-confirm"); st != http.StatusOK {
		g.fatalf("confirm: %d", st)
	}
	g.wantFlash("flash.saved")
	if st := g.text("#handover-state"); !hasEither(st, "handover.confirmed") {
		g.fatalf("handover state %q", st)
	}
	for _, n := range []string{"B001", "B020"} {
		if it, _ := app.Stock.Item(n); it.Lobby != "Lobby A" || it.Holder.Name != "Guard Chen" {
			g.fatalf("after confirmation %s: %+v", n, it)
		}
	}
	sheet := g.attr("#handover-sheet", "href")
	pdf := g.fetchBytes(sheet)
	if !strings.HasPrefix(string(pdf), "%PDF-") {
		g.fatalf("sheet is not a PDF")
	}
	text := pdfToText(t, pdf)
	for i := 1; i <= 20; i++ {
		if n := fmt.Sprintf("B%03d", i); !strings.Contains(text, n) {
			t.Fatalf("sheet lacks %s:\n%s", n, text)
		}
	}
	for _, name := range []string{"Admin", "Guard Chen"} {
		if !strings.Contains(text, name) {
			t.Fatalf("sheet lacks %s:\n%s", name, text)
		}
	}
	if _, err := app.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
}
