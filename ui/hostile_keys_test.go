package ui

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/keys"
	"gatehouse/appliance/notice"
	"gatehouse/appliance/stock"
)

// TestBadInputKeysStockNotices throws hostile values at the key room, card
// stock and notice forms with IDs that exist (the table-wide test reaches
// them only with IDs that do not): every answer is a 4xx or a re-shown
// form, never a 500.
func TestBadInputKeysStockNotices(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	mgr := keys.PersonOf(h.accounts[auth.Manager])
	k, err := h.app.KeyRoom.RegisterKey(ctx, mgr, keys.Key{Tag: "H-1", Customer: "Acme", Cabinet: "A", Slot: "1", Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	top, err := h.app.KeyRoom.RegisterKey(ctx, mgr, keys.Key{Tag: "H-3", Customer: "Acme", Cabinet: "A", Slot: "3", Level: keys.TopLevel})
	if err != nil {
		t.Fatal(err)
	}
	lost, err := h.app.KeyRoom.RegisterKey(ctx, mgr, keys.Key{Tag: "H-L", Customer: "Acme", Cabinet: "A", Slot: "9", Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := h.app.KeyRoom.ReportLost(ctx, mgr, lost.ID, "dropped")
	if err != nil {
		t.Fatal(err)
	}
	au, err := h.app.KeyRoom.StartAudit(ctx, mgr, "")
	if err != nil {
		t.Fatal(err)
	}
	sp := stock.PersonOf(h.accounts[auth.Manager])
	if err := h.app.Stock.Receive(ctx, sp, "Office", stock.Badge, []string{"V1", "V2"}, ""); err != nil {
		t.Fatal(err)
	}
	ho, err := h.app.Stock.StartHandover(ctx, sp, stock.PersonOf(h.accounts[auth.Reception]), "Lobby", []string{"V1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	an, err := h.app.Notices.Save(ctx, "test", notice.Announcement{Title: "t", Audience: notice.Everyone}, false)
	if err != nil {
		t.Fatal(err)
	}

	long := strings.Repeat("长", 5000)
	values := []string{"", long, "\x00\xff\xfe", "<script>alert(1)</script>", "=cmd|' /C calc'!A0", "-1", "99999999999999999999",
		"0000000000000000", "9999-12-31T23:59", "0001-01-01T00:00", "9999-12-31", "0001-01-01", "V1..V999999999",
		"V000000000001..V999999999999", "1..1000", strings.Repeat("V001..V999,", 2000), strings.Repeat("A,", 20000), "25:99", "-5"}
	paths := []string{"/keys", "/keys/levels", "/keys/audits", "/keys/audits/" + au.ID + "/tick", "/keys/audits/" + au.ID + "/finish",
		"/keys/cases/" + cs.ID + "/step", "/keys/cases/" + cs.ID + "/replace",
		"/keys/" + k.ID + "/checkout", "/keys/" + top.ID + "/checkout", "/keys/" + k.ID + "/return", "/keys/" + k.ID + "/lost", "/keys/" + k.ID + "/permissions",
		"/stock/receive", "/stock/issue", "/stock/return", "/stock/writeoff", "/stock/handovers",
		"/stock/handovers/" + ho.ID + "/confirm", "/stock/handovers/" + ho.ID + "/cancel", "/stock/reconcile",
		"/notices", "/notices/" + an.ID, "/notices/" + an.ID + "/publish", "/notices/" + an.ID + "/pin", "/messages"}
	names := []string{"tag", "customer", "unit", "cabinet", "slot", "level", "spare_of", "roles", "accounts", "reason", "note", "due",
		"approver", "approver_password", "lost_note", "step", "curfew", "lobby", "type", "numbers", "used_by", "op", "to", "day", "counted",
		"title", "audience", "description", "content", "cover_id", "action", "kind", "email", "source", "announcement", "text"}
	for _, p := range paths {
		for _, v := range values {
			form := url.Values{}
			for _, n := range names {
				form.Set(n, v)
			}
			start := time.Now()
			resp := h.do(req{method: "POST", path: p, session: h.session(auth.Admin), form: form})
			if resp.StatusCode >= 500 {
				t.Errorf("POST %s with %q = %d", p, truncate(v), resp.StatusCode)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Logf("POST %s with %q took %s", p, truncate(v), d)
			}
		}
	}
	for _, p := range []string{"/keys?q=" + url.QueryEscape(long), "/keys/new?case=%00", "/keys/new?case=" + cs.ID, "/keys/%00", "/keys/" + k.ID + "/label.png",
		"/stock/items/%00", "/stock/items/" + url.PathEscape(long), "/stock/ledger?from=0001-01-01&to=9999-12-31", "/stock/ledger.csv?from=9999-12-31",
		"/stock/reconcile?day=9999-12-31&lobby=Office", "/stock/reconcile?day=0001-01-01&lobby=Office", "/stock/reconcile.pdf?lobby=%00",
		"/notices?from=0001-01-01&to=9999-12-31&audience=%00", "/notices/%00/edit", "/messages?announcement=%00", "/stock/handovers/%00/sheet.pdf"} {
		if resp := h.do(req{method: "GET", path: p, session: h.session(auth.Admin)}); resp.StatusCode >= 500 {
			t.Errorf("GET %s = %d", truncate(p), resp.StatusCode)
		}
	}
	if _, err := h.app.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
}
