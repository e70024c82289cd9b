package appliance

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/keys"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/stock"
)

// TestKeyAlertsReachGuardStationAndHolder: an overdue key raises an alarm
// on the guard station once and tells its holder; the escalation tells the
// managers. A lost stock card is blocked at the gates.
func TestKeyAlertsReachGuardStationAndHolder(t *testing.T) {
	cfg, _ := config.Load("", nil)
	clk := clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	ctx := context.Background()
	a, err := Open(ctx, t.TempDir(), cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	g, _ := a.Auth.CreateAccount(ctx, "t", auth.NewAccount{Username: "guard1", Name: "Guard", Role: auth.Reception, Password: "guard-password"})
	m, _ := a.Auth.CreateAccount(ctx, "t", auth.NewAccount{Username: "boss1", Name: "Boss", Role: auth.Manager, Password: "boss-password"})
	k, err := a.KeyRoom.RegisterKey(ctx, keys.PersonOf(m), keys.Key{Tag: "K-1", Customer: "Acme", Cabinet: "A", Slot: "1", Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.KeyRoom.Checkout(ctx, keys.PersonOf(g), keys.CheckoutInput{KeyID: k.ID, Reason: "cleaning", Due: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rules := keys.SweepRules{Location: cfg.Location, EscalateAfter: time.Duration(cfg.KeyEscalateMin) * time.Minute}
	sweep := func() {
		if _, err := a.KeyRoom.Sweep(ctx, rules, keyNotices{a}); err != nil {
			t.Fatal(err)
		}
	}
	told := func(account, kind string) bool {
		o, _ := a.Notify.Outbox(50)
		for _, r := range o.Recent {
			if r.Channel == notify.InPage && r.To == account && r.Kind == kind {
				return true
			}
		}
		return false
	}
	clk.Advance(61 * time.Minute)
	sweep()
	sweep()
	al, _ := a.Access.Alarms(true, 10)
	if len(al) != 1 || al[0].Kind != access.Alarm(keys.AlertOverdue) || !told(g.ID, keys.AlertOverdue) {
		t.Fatalf("overdue: alarms %+v", al)
	}
	clk.Advance(time.Hour)
	sweep()
	if !told(m.ID, keys.AlertEscalated) {
		t.Fatal("the manager was not told of the escalation")
	}

	cred, err := a.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "0A0B0C0D", HolderKind: access.HolderContractor, HolderName: "Fixer"})
	if err != nil {
		t.Fatal(err)
	}
	sp := stock.PersonOf(g)
	if err := a.Stock.Receive(ctx, sp, "Lobby", stock.Fob, []string{"0A0B0C0D"}, ""); err != nil {
		t.Fatal(err)
	}
	bl, err := a.Stock.WriteOff(ctx, sp, stock.OpLost, []string{"0a0b0c0d"}, "lost")
	if err != nil || len(bl) != 1 || bl[0].Credential != cred.ID {
		t.Fatalf("blocked %+v %v", bl, err)
	}
	if c, _ := a.Access.Credential(cred.ID); c.State != access.StateLost {
		t.Fatalf("credential %s", c.State)
	}
	if _, err := a.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
}
