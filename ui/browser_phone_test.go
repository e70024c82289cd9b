package ui

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPhonePagesFitTheScreen opens the staff pages and the public
// booking page at a phone's width, and fails when anything but the
// sideways-scrolling nav and tab strips reaches past the screen's right edge
// (the page would scroll sideways).
func TestBrowserPhonePagesFitTheScreen(t *testing.T) {
	_, base := startBrowserApp(t)
	b := startBrowser(t, base)
	b.mustLogin("admin", "admin-password-1")
	const probe = `(() => {
		const w = document.documentElement.clientWidth, out = [];
		for (const e of document.querySelectorAll('body *')) {
			if (e.closest('nav, .tabs')) continue;
			const r = e.getBoundingClientRect();
			if (r.width > 0 && r.right > w + 1) out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') + ' right=' + Math.round(r.right));
		}
		return out.slice(0, 5).join(' | ');
	})()`
	for _, p := range []string{"/", "/guard", "/flow", "/desk/today", "/desk/walkin", "/desk/conferences", "/screening",
		"/directory/people", "/directory/companies", "/access/credentials", "/keys", "/keys/new", "/keys/audits",
		"/stock", "/stock/ledger", "/stock/reconcile", "/notices", "/notices/new", "/messages", "/reports",
		"/admin/accounts", "/admin/audit", "/admin/notify", "/admin/devices", "/admin/settings", "/book"} {
		b.do("open "+p, chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+p))
		if got := strings.Trim(b.eval(probe), `"`); got != "" {
			t.Errorf("%s is wider than a phone: %s", p, got)
		}
	}
}
