package ui

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/keys"
	"gatehouse/appliance/stock"
)

// TestKeyRoomOverHTTP walks the key room through its forms: register,
// refused and allowed checkouts, return, the label and the exports.
func TestKeyRoomOverHTTP(t *testing.T) {
	h := newHarness(t)
	mgr, desk := h.session(auth.Manager), h.session(auth.Reception)
	resp := h.do(req{method: "POST", path: "/keys", session: mgr, form: url.Values{"tag": {"k-101"}, "customer": {"Acme 公司"},
		"unit": {"1201"}, "cabinet": {"A"}, "slot": {"4"}, "level": {"1"}, "roles": {"manager"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register = %d %s", resp.StatusCode, readBody(t, resp))
	}
	k, err := h.app.KeyRoom.ByTag("K-101")
	if err != nil {
		t.Fatal(err)
	}
	due := h.clock.Now().Add(time.Hour).In(h.app.Config.Location).Format(dueLayout)
	out := url.Values{"reason": {"cleaning"}, "due": {due}}
	// Reception is not named on the key: refused, with the reason on the page.
	resp = h.do(req{method: "POST", path: "/keys/" + k.ID + "/checkout", session: desk, form: out})
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="holder-error"`) {
		t.Fatalf("unauthorised checkout = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/keys/" + k.ID + "/checkout", session: mgr, form: url.Values{"reason": {"cleaning"}, "due": {"yesterday"}}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad due = %d", resp.StatusCode)
	}
	if resp = h.do(req{method: "POST", path: "/keys/" + k.ID + "/checkout", session: mgr, form: out}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("checkout = %d %s", resp.StatusCode, readBody(t, resp))
	}
	h.clock.Advance(2 * time.Hour)
	desk = h.session(auth.Reception) // the old sessions timed out
	resp = h.do(req{method: "GET", path: "/keys?q=acme", session: desk})
	if body := readBody(t, resp); !strings.Contains(body, "K-101") || !strings.Contains(body, "badge warn") {
		t.Fatal("the overdue key is not on the key room page", body)
	}
	if resp = h.do(req{method: "POST", path: "/keys/" + k.ID + "/return", session: desk, form: url.Values{"slot": {"5"}}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("return = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "GET", path: "/keys/" + k.ID, session: desk})
	body := readBody(t, resp)
	for _, want := range []string{"key-history", `id="key-slot">5<`, "checkout-form"} {
		if !strings.Contains(body, want) {
			t.Fatalf("key page lacks %q", want)
		}
	}
	// A manager names reception on the key: now the desk may take it.
	mgr = h.session(auth.Manager)
	if resp = h.do(req{method: "POST", path: "/keys/" + k.ID + "/permissions", session: mgr, form: url.Values{"roles": {"manager", "reception"}}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("permissions = %d", resp.StatusCode)
	}
	if resp = h.do(req{method: "POST", path: "/keys/" + k.ID + "/permissions", session: desk, form: url.Values{"roles": {"reception"}}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("reception changed permissions: %d", resp.StatusCode)
	}
	out.Set("due", h.clock.Now().Add(time.Hour).In(h.app.Config.Location).Format(dueLayout))
	if resp = h.do(req{method: "POST", path: "/keys/" + k.ID + "/checkout", session: desk, form: out}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("checkout after permission = %d", resp.StatusCode)
	}
	if resp = h.do(req{method: "POST", path: "/keys/" + k.ID + "/return", session: desk}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("return = %d", resp.StatusCode)
	}
	if resp = h.do(req{method: "GET", path: "/keys/" + k.ID + "/label.png", session: desk}); resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("label = %s", resp.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/keys/register.csv", "/keys/register.xlsx", "/keys/history.csv", "/keys/history.xlsx"} {
		if resp := h.do(req{method: "GET", path: p, session: desk}); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s = %d", p, resp.StatusCode)
		}
	}
	resp = h.do(req{method: "GET", path: "/keys/history.csv", session: desk})
	if csv := readBody(t, resp); strings.Count(csv, "K-101") != 6 {
		t.Fatalf("history export:\n%s", csv)
	}
	for _, p := range []string{"/keys/register.pdf", "/keys/history.pdf"} {
		resp := h.do(req{method: "GET", path: p, session: desk})
		if b := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.HasPrefix(b, "%PDF-") {
			t.Fatalf("%s = %d", p, resp.StatusCode)
		}
	}
	if _, err := h.app.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
}

// TestLostKeyAndAuditOverHTTP: the lost-key case runs to a replacement on
// the key page, and an audit finds a missing and a misplaced key.
func TestLostKeyAndAuditOverHTTP(t *testing.T) {
	h := newHarness(t)
	mgr, desk := h.session(auth.Manager), h.session(auth.Reception)
	for _, k := range [][2]string{{"A-1", "1"}, {"A-2", "2"}, {"A-3", "3"}} {
		resp := h.do(req{method: "POST", path: "/keys", session: mgr, form: url.Values{"tag": {k[0]}, "customer": {"Acme"},
			"cabinet": {"A"}, "slot": {k[1]}, "level": {"1"}}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("register %s = %d", k[0], resp.StatusCode)
		}
	}
	k, _ := h.app.KeyRoom.ByTag("A-1")
	resp := h.do(req{method: "POST", path: "/keys/" + k.ID + "/lost", session: desk, form: url.Values{"lost_note": {""}}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-lost_note"`) {
		t.Fatalf("lost without a note = %d", resp.StatusCode)
	}
	if resp = h.do(req{method: "POST", path: "/keys/" + k.ID + "/lost", session: desk, form: url.Values{"lost_note": {"dropped"}}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("lost = %d", resp.StatusCode)
	}
	cs, _ := h.app.KeyRoom.CasesOf(k.ID)
	if len(cs) != 1 {
		t.Fatalf("cases %+v", cs)
	}
	step := func(st, note string, want int) {
		t.Helper()
		if resp := h.do(req{method: "POST", path: "/keys/cases/" + cs[0].ID + "/step", session: mgr, form: url.Values{"step": {st}, "note": {note}}}); resp.StatusCode != want {
			t.Fatalf("step %s = %d", st, resp.StatusCode)
		}
	}
	step("lock_changed", "too early", http.StatusUnprocessableEntity)
	step("notified", "phoned", http.StatusSeeOther)
	step("lock_changed", "locksmith", http.StatusSeeOther)
	if resp = h.do(req{method: "GET", path: "/keys/new?case=" + cs[0].ID, session: mgr}); !strings.Contains(readBody(t, resp), `value="Acme"`) {
		t.Fatal("replacement form not prefilled")
	}
	resp = h.do(req{method: "POST", path: "/keys/cases/" + cs[0].ID + "/replace", session: mgr, form: url.Values{"tag": {"A-1B"},
		"customer": {"Acme"}, "cabinet": {"A"}, "slot": {"1"}, "level": {"1"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("replace = %d %s", resp.StatusCode, readBody(t, resp))
	}
	resp = h.do(req{method: "GET", path: "/keys/" + k.ID, session: desk})
	if body := readBody(t, resp); !strings.Contains(body, "case-"+cs[0].ID) || strings.Contains(body, "checkout-form") {
		t.Fatal("the lost key's page")
	}
	// Audit: A-2 missing, A-3 in slot 9, the replacement where it belongs.
	resp = h.do(req{method: "POST", path: "/keys/audits", session: desk, form: url.Values{"cabinet": {"a"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start audit = %d", resp.StatusCode)
	}
	audit := resp.Header.Get("Location")
	for _, tick := range []url.Values{{"tag": {"A-3"}, "slot": {"9"}}, {"tag": {"a-1b"}}} {
		if resp := h.do(req{method: "POST", path: audit + "/tick", session: desk, form: tick}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("tick = %d", resp.StatusCode)
		}
	}
	if body := readBody(t, h.do(req{method: "GET", path: audit, session: desk})); !strings.Contains(body, "audit-expected") {
		t.Fatal("audit page")
	}
	if resp := h.do(req{method: "POST", path: audit + "/finish", session: desk}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("finish = %d", resp.StatusCode)
	}
	body := readBody(t, h.do(req{method: "GET", path: audit, session: desk}))
	for _, want := range []string{`id="audit-missing"`, `id="audit-wrong"`, "A-2", "→ 9"} {
		if !strings.Contains(body, want) {
			t.Fatalf("audit report lacks %q", want)
		}
	}
	if body := readBody(t, h.do(req{method: "GET", path: "/keys/audits", session: desk})); !strings.Contains(body, audit) {
		t.Fatal("audit not listed")
	}
	// Level rules: a curfew that is not a time is refused beside the field.
	resp = h.do(req{method: "POST", path: "/keys/levels", session: mgr, form: url.Values{"level": {"2"}, "curfew": {"25:99"}}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-curfew-2"`) {
		t.Fatalf("bad curfew = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/keys/levels", session: mgr, form: url.Values{"level": {"2"}, "curfew": {"20:00"}, "roles": {"manager"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("level rule = %d", resp.StatusCode)
	}
	if r, _ := h.app.KeyRoom.Rule(2); r.Curfew != "20:00" || len(r.Roles) != 1 {
		t.Fatalf("rule %+v", r)
	}
	if _, err := h.app.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
}

// TestStockOverHTTP: receive, a handover only the receiver can confirm,
// a lost card, reconciliation flagged without a note.
func TestStockOverHTTP(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	mgr, desk := h.session(auth.Manager), h.session(auth.Reception)
	resp := h.do(req{method: "POST", path: "/stock/receive", session: mgr, form: url.Values{"lobby": {"Office"}, "type": {"visitor_badge"}, "numbers": {"V01..V05"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("receive = %d %s", resp.StatusCode, readBody(t, resp))
	}
	resp = h.do(req{method: "POST", path: "/stock/receive", session: mgr, form: url.Values{"lobby": {"Office"}, "type": {"visitor_badge"}, "numbers": {"V05..V01"}}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-receive-numbers"`) {
		t.Fatalf("bad range = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/stock/handovers", session: mgr, form: url.Values{"to": {h.accounts[auth.Reception].ID}, "lobby": {"Lobby A"}, "numbers": {"V01..V05"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("handover = %d %s", resp.StatusCode, readBody(t, resp))
	}
	loc := resp.Header.Get("Location")
	// The giver cannot confirm for the receiver.
	if resp := h.do(req{method: "POST", path: loc + "/confirm", session: mgr}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("giver confirmed: %d", resp.StatusCode)
	}
	if it, _ := h.app.Stock.Item("V01"); it.Lobby != "Office" {
		t.Fatal("cards moved before confirmation")
	}
	if resp := h.do(req{method: "GET", path: loc + "/sheet.pdf", session: mgr}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("sheet before confirmation = %d", resp.StatusCode)
	}
	if resp := h.do(req{method: "POST", path: loc + "/confirm", session: desk}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm = %d", resp.StatusCode)
	}
	if resp := h.do(req{method: "GET", path: loc + "/sheet.pdf", session: desk}); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("sheet = %d", resp.StatusCode)
	}
	// A lost badge whose number a credential carries is blocked at the gates.
	if err := h.app.Stock.Receive(ctx, stock.PersonOf(h.accounts[auth.Reception]), "Lobby A", stock.Fob, []string{"0A0B0C0D"}, ""); err != nil {
		t.Fatal(err)
	}
	resp = h.do(req{method: "POST", path: "/stock/writeoff", session: desk, form: url.Values{"op": {"lost"}, "numbers": {"0A0B0C0D"}, "note": {"lost"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("writeoff = %d %s", resp.StatusCode, readBody(t, resp))
	}
	// Reconcile Lobby A: 5 + 1 − 1 = 5 expected; 4 counted without a note is flagged.
	day := h.clock.Now().In(h.app.Config.Location).Format("2006-01-02")
	resp = h.do(req{method: "POST", path: "/stock/reconcile", session: desk, form: url.Values{"lobby": {"Lobby A"}, "day": {day}, "counted": {"4"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reconcile = %d %s", resp.StatusCode, readBody(t, resp))
	}
	rs, _ := h.app.Stock.Recons("Lobby A", day)
	if len(rs) != 1 || rs[0].Expected != 5 || !rs[0].Flagged {
		t.Fatalf("recons %+v", rs)
	}
	for _, p := range []string{"/stock", "/stock/ledger", "/stock/ledger.csv", "/stock/ledger.xlsx", "/stock/ledger.pdf?from=" + day,
		"/stock/reconcile?lobby=Lobby+A", "/stock/reconcile.csv", "/stock/reconcile.xlsx", "/stock/reconcile.pdf", "/stock/items/V01"} {
		resp := h.do(req{method: "GET", path: p, session: desk})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s = %d", p, resp.StatusCode)
		}
		if strings.HasSuffix(strings.SplitN(p, "?", 2)[0], ".pdf") {
			if b, _ := readAll(resp); !bytes.HasPrefix(b, []byte("%PDF-")) {
				t.Fatalf("%s is not a PDF", p)
			}
		}
	}
	if _, err := h.app.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
}

func readAll(r *http.Response) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}

// TestReconcilePageListsTheNewest: years of daily reconciliations are not
// all read into one page; it lists the newest, the export has them all.
func TestReconcilePageListsTheNewest(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	p := stock.PersonOf(h.accounts[auth.Reception])
	if err := h.app.Stock.Receive(ctx, p, "Lobby A", stock.Badge, []string{"V1"}, ""); err != nil {
		t.Fatal(err)
	}
	day := h.clock.Now().In(h.app.Config.Location).Format("2006-01-02")
	for i := range reconPageRows + 10 {
		if _, err := h.app.Stock.Reconcile(ctx, p, "Lobby A", day, i, "count "+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	body := readBody(t, h.do(req{method: "GET", path: "/stock/reconcile?lobby=Lobby+A", session: h.session(auth.Reception)}))
	list := body[strings.Index(body, `id="recon-list"`):]
	if n := strings.Count(list, "<tr class="); n != reconPageRows || !strings.Contains(list, "count "+strconv.Itoa(reconPageRows+9)) {
		t.Fatalf("%d rows listed", n)
	}
	csv := readBody(t, h.do(req{method: "GET", path: "/stock/reconcile.csv?lobby=Lobby+A", session: h.session(auth.Reception)}))
	if n := strings.Count(csv, "count "); n != reconPageRows+10 {
		t.Fatalf("export has %d", n)
	}
}

// TestKeyPermissionsTooManyAccounts: a permissions form naming more
// accounts than a key may is refused with the reason shown on the page.
func TestKeyPermissionsTooManyAccounts(t *testing.T) {
	h := newHarness(t)
	mgr := h.session(auth.Manager)
	resp := h.do(req{method: "POST", path: "/keys", session: mgr, form: url.Values{"tag": {"P-1"}, "customer": {"Acme"}, "cabinet": {"A"}, "slot": {"1"}, "level": {"1"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register = %d", resp.StatusCode)
	}
	k, _ := h.app.KeyRoom.ByTag("P-1")
	form := url.Values{}
	for i := range keys.MaxNamed + 1 { // past the limit, within the form's 64 KB
		form.Add("accounts", fmt.Sprintf("%016x", i+1))
	}
	resp = h.do(req{method: "POST", path: "/keys/" + k.ID + "/permissions", session: mgr, form: form})
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-accounts"`) {
		t.Fatalf("too many accounts = %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/keys/levels", session: mgr, form: url.Values{"level": {"2"}, "accounts": form["accounts"]}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-accounts-2"`) {
		t.Fatalf("level with too many accounts = %d", resp.StatusCode)
	}
}
