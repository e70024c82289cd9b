package keys

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

type fixture struct {
	t     *testing.T
	st    *store.Store
	clock *clock.Fake
	auth  *auth.Service
	svc   *Service
	guard Person // reception
	boss  Person // manager
	other Person // another manager, the second person
	host  Person
}

var loc = time.FixedZone("CST", 8*3600)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureIn(t, t.TempDir())
}

func newFixtureIn(t *testing.T, dir string) *fixture {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	auth.Register(st)
	Register(st)
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, loc))
	as := auth.New(st, clk, 15*time.Minute)
	f := &fixture{t: t, st: st, clock: clk, auth: as, svc: New(st, clk, as)}
	mk := func(user string, role auth.Role) Person {
		a, err := as.CreateAccount(context.Background(), "test", auth.NewAccount{Username: user, Name: user, Role: role, Password: "password-" + user})
		if err != nil {
			t.Fatal(err)
		}
		return PersonOf(a)
	}
	f.guard, f.boss, f.other, f.host = mk("guard", auth.Reception), mk("boss", auth.Manager), mk("other", auth.Manager), mk("host", auth.Host)
	return f
}

func (f *fixture) key(tag string, level int, mod func(*Key)) Key {
	f.t.Helper()
	k := Key{Tag: tag, Customer: "Acme", Unit: "1201", Cabinet: "A", Slot: "1", Level: level}
	if mod != nil {
		mod(&k)
	}
	k, err := f.svc.RegisterKey(context.Background(), f.boss, k)
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

func code(err error, fieldName string) string {
	es, _ := field.As(err)
	return es.For(fieldName).Code
}

func TestUnauthorisedCheckoutRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.key("K1", 1, func(k *Key) { k.Roles = []string{"manager"} })
	in := CheckoutInput{KeyID: k.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour)}
	if _, err := f.svc.Checkout(ctx, f.guard, in); code(err, "holder") != "key_not_allowed" {
		t.Fatalf("reception took a manager key: %v", err)
	}
	// Named by account: allowed.
	k2 := f.key("K2", 1, func(k *Key) { k.Roles = []string{"manager"}; k.Accounts = []string{f.guard.ID} })
	if _, err := f.svc.Checkout(ctx, f.guard, CheckoutInput{KeyID: k2.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// Level rule: level 2 open to managers only.
	if err := f.svc.SaveRule(ctx, "test", Rule{Level: 2, Roles: []string{"manager"}}); err != nil {
		t.Fatal(err)
	}
	k3 := f.key("K3", 2, nil)
	if _, err := f.svc.Checkout(ctx, f.guard, CheckoutInput{KeyID: k3.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour)}); code(err, "holder") != "key_not_allowed" {
		t.Fatalf("level rule ignored: %v", err)
	}
	// No one named anywhere: staff yes, hosts no.
	k4 := f.key("K4", 1, nil)
	if _, err := f.svc.Checkout(ctx, f.host, CheckoutInput{KeyID: k4.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour)}); code(err, "holder") != "key_not_allowed" {
		t.Fatalf("host took a key: %v", err)
	}
	if got, _ := f.svc.Get(k.ID); got.State != In {
		t.Fatalf("refused key state %s", got.State)
	}
	// Named later: allowed, and the change is in the key's history.
	if err := f.svc.SetPermissions(ctx, f.boss, k.ID, []string{"manager", "reception"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Checkout(ctx, f.guard, in); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetPermissions(ctx, f.boss, k.ID, []string{"janitor"}, nil); code(err, "roles") != "invalid" {
		t.Fatalf("unknown role: %v", err)
	}
	h, _ := f.svc.History(k.ID)
	if len(h) != 3 || h[1].Kind != "permissions" {
		t.Fatalf("history %+v", h)
	}
}

func TestTwoPersonRule(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.key("TOP", TopLevel, nil)
	due := f.clock.Now().Add(time.Hour)
	in := CheckoutInput{KeyID: k.ID, Reason: "emergency", Due: due}
	if _, err := f.svc.Checkout(ctx, f.boss, in); code(err, "approver") != "key_approver_required" {
		t.Fatalf("no approver: %v", err)
	}
	in.Approval = Approval{Username: "boss", Password: "password-boss"}
	if _, err := f.svc.Checkout(ctx, f.boss, in); code(err, "approver") != "key_same_person" {
		t.Fatalf("same person twice: %v", err)
	}
	in.Approval = Approval{Username: "other", Password: "wrong-password"}
	if _, err := f.svc.Checkout(ctx, f.boss, in); code(err, "approver") != "key_approver_bad" {
		t.Fatalf("wrong password: %v", err)
	}
	in.Approval = Approval{Username: "host", Password: "password-host"}
	if _, err := f.svc.Checkout(ctx, f.boss, in); code(err, "approver") != "key_approver_not_allowed" {
		t.Fatalf("host as approver: %v", err)
	}
	in.Approval = Approval{Username: "other", Password: "password-other"}
	c, err := f.svc.Checkout(ctx, f.boss, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.Approver == nil || c.Approver.ID != f.other.ID || c.Holder.ID != f.boss.ID {
		t.Fatalf("checkout %+v", c)
	}
	// Return needs the second person too.
	if err := f.svc.Return(ctx, f.boss, ReturnInput{KeyID: k.ID}); code(err, "approver") != "key_approver_required" {
		t.Fatalf("return without approver: %v", err)
	}
	if err := f.svc.Return(ctx, f.boss, ReturnInput{KeyID: k.ID, Approval: Approval{Username: "BOSS", Password: "password-boss"}}); code(err, "approver") != "key_same_person" {
		t.Fatalf("return by the same person twice: %v", err)
	}
	if err := f.svc.Return(ctx, f.boss, ReturnInput{KeyID: k.ID, Slot: "7", Approval: Approval{Username: "other", Password: "password-other"}}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.Get(k.ID)
	c, _ = f.svc.CheckoutByID(c.ID)
	if got.State != In || got.Slot != "7" || c.ReturnApprov == nil || c.ReturnApprov.ID != f.other.ID || c.ReturnSlot != "7" {
		t.Fatalf("after return: %+v %+v", got, c)
	}
	h, _ := f.svc.History(k.ID)
	if len(h) != 3 || h[1].Kind != "checkout" || h[1].Approver != "other" || h[2].Kind != "return" {
		t.Fatalf("history %+v", h)
	}
}

type alerts struct{ got []string }

func (a *alerts) KeyAlert(_ context.Context, kind string, k Key, _ Checkout) {
	a.got = append(a.got, kind+":"+k.Tag)
}

func TestOverdueCurfewAndEscalation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.svc.SaveRule(ctx, "test", Rule{Level: 2, Curfew: "18:00"}); err != nil {
		t.Fatal(err)
	}
	a := f.key("A", 1, nil)
	b := f.key("B", 2, nil)
	// 09:00: A due 10:00; B due tomorrow but under the 18:00 curfew.
	if _, err := f.svc.Checkout(ctx, f.guard, CheckoutInput{KeyID: a.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Checkout(ctx, f.guard, CheckoutInput{KeyID: b.ID, Reason: "contractor", Due: f.clock.Now().Add(30 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rules := SweepRules{Location: loc, EscalateAfter: time.Hour}
	var al alerts
	step := func(at string, want ...string) {
		t.Helper()
		hm, _ := time.Parse("15:04", at)
		f.clock.Set(time.Date(2026, 11, 23, hm.Hour(), hm.Minute(), 0, 0, loc))
		al.got = nil
		if _, err := f.svc.Sweep(ctx, rules, &al); err != nil {
			t.Fatal(err)
		}
		if len(al.got) != len(want) {
			t.Fatalf("%s: alerts %v, want %v", at, al.got, want)
		}
		for i := range want {
			if al.got[i] != want[i] {
				t.Fatalf("%s: alerts %v, want %v", at, al.got, want)
			}
		}
	}
	step("09:59")
	step("10:00", "key_overdue:A")
	step("10:30") // once only
	step("11:00", "key_escalated:A")
	step("17:59")
	step("18:00", "key_curfew:B")
	step("23:00")
	// The key room lists the overdue key first.
	rows, err := f.svc.Search("")
	if err != nil || len(rows) != 2 || rows[0].Key.Tag != "A" || !rows[0].Overdue {
		t.Fatalf("rows %+v %v", rows, err)
	}
	// A returned key raises nothing more.
	if err := f.svc.Return(ctx, f.guard, ReturnInput{KeyID: b.ID}); err != nil {
		t.Fatal(err)
	}
	step("23:30")
}

func TestCurfewAt(t *testing.T) {
	out := time.Date(2026, 11, 23, 19, 0, 0, 0, loc)
	if got := CurfewAt(out, "18:00", loc); !got.Equal(time.Date(2026, 11, 24, 18, 0, 0, 0, loc)) {
		t.Fatalf("taken after the curfew: %v", got)
	}
	if got := CurfewAt(out, "", loc); !got.IsZero() {
		t.Fatal("no curfew")
	}
}

func TestLostKeyCase(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.key("L1", 1, nil)
	if _, err := f.svc.Checkout(ctx, f.guard, CheckoutInput{KeyID: k.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.ReportLost(ctx, f.guard, k.ID, "dropped in the lift shaft")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Get(k.ID); got.State != Lost {
		t.Fatalf("state %s", got.State)
	}
	if cs, _ := f.svc.OpenCheckouts(); len(cs) != 0 {
		t.Fatal("the lost key's checkout stayed open")
	}
	if _, err := f.svc.Checkout(ctx, f.guard, CheckoutInput{KeyID: k.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour)}); code(err, "key") != "key_unusable" {
		t.Fatalf("lost key checked out: %v", err)
	}
	// Steps in order only.
	if _, err := f.svc.Replace(ctx, f.boss, c.ID, Key{Tag: "L1B", Customer: "Acme", Cabinet: "A", Slot: "1", Level: 1}); code(err, "case") != "key_case_not_ready" {
		t.Fatalf("replaced before the lock change: %v", err)
	}
	if err := f.svc.CaseStep(ctx, f.boss, c.ID, StepLockChanged, "done"); code(err, "step") != "key_case_step" {
		t.Fatalf("lock change before notice: %v", err)
	}
	if err := f.svc.CaseStep(ctx, f.boss, c.ID, StepNotified, "phoned Ms Li"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.CaseStep(ctx, f.boss, c.ID, StepLockChanged, "locksmith job 42"); err != nil {
		t.Fatal(err)
	}
	nk, err := f.svc.Replace(ctx, f.boss, c.ID, Key{Tag: "L1B", Customer: "Acme", Cabinet: "A", Slot: "1", Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, _ = f.svc.Case(c.ID)
	old, _ := f.svc.Get(k.ID)
	if c.Step() != "closed" || c.Replacement != nk.ID || old.State != Retired || nk.Replaces != k.ID {
		t.Fatalf("case %+v old %+v new %+v", c, old, nk)
	}
	h, _ := f.svc.History(k.ID)
	var kinds []string
	for _, e := range h {
		kinds = append(kinds, e.Kind)
	}
	want := []string{"registered", "checkout", "lost", "notified", "lock_changed", "closed"}
	if len(kinds) != len(want) {
		t.Fatalf("history %v", kinds)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("history %v", kinds)
		}
	}
	if err := f.svc.CaseStep(ctx, f.boss, c.ID, StepNotified, "again"); code(err, "step") != "key_case_closed" {
		t.Fatalf("closed case changed: %v", err)
	}
	verify(t, f.st)
}

func verify(t *testing.T, st *store.Store) {
	t.Helper()
	if err := st.View(func(r *store.Reader) error { _, err := store.VerifyAudit(r); return err }); err != nil {
		t.Fatal("audit chain:", err)
	}
}

func TestAuditReport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.key("A1", 1, func(k *Key) { k.Slot = "1" })
	f.key("A2", 1, func(k *Key) { k.Slot = "2" })
	f.key("A3", 1, func(k *Key) { k.Slot = "3" })
	out := f.key("A4", 1, func(k *Key) { k.Slot = "4" })
	f.key("B1", 1, func(k *Key) { k.Cabinet = "B" })
	if _, err := f.svc.Checkout(ctx, f.guard, CheckoutInput{KeyID: out.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	a, err := f.svc.StartAudit(ctx, f.guard, "A")
	if err != nil {
		t.Fatal(err)
	}
	for _, tick := range [][2]string{{"A1", ""}, {"a3", "9"}, {"ZZ", "5"}} {
		if err := f.svc.Tick(ctx, f.guard, a.ID, tick[0], tick[1]); err != nil {
			t.Fatal(err)
		}
	}
	a, err = f.svc.FinishAudit(ctx, f.guard, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := a.Report
	if r.Expected != 3 || r.Present != 2 || len(r.Missing) != 1 || r.Missing[0].Tag != "A2" ||
		len(r.WrongSlot) != 1 || r.WrongSlot[0].Tag != "A3" || r.WrongSlot[0].Found != "9" ||
		len(r.Unexpected) != 1 || r.Unexpected[0].Why != "unknown" {
		t.Fatalf("report %+v", r)
	}
	if err := f.svc.Tick(ctx, f.guard, a.ID, "A2", ""); code(err, "tag") != "key_audit_finished" {
		t.Fatalf("finished audit changed: %v", err)
	}
	if as, _ := f.svc.Audits(); len(as) != 1 {
		t.Fatal("audit not kept")
	}
	verify(t, f.st)
}

func TestRegisterChecks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.key("M1", 1, nil)
	if _, err := f.svc.RegisterKey(ctx, f.boss, Key{Tag: "m1", Customer: "X", Cabinet: "B", Slot: "1", Level: 1}); code(err, "tag") != "key_tag_taken" {
		t.Fatalf("duplicate tag: %v", err)
	}
	if _, err := f.svc.RegisterKey(ctx, f.boss, Key{Tag: "M1S", Customer: "X", Cabinet: "A", Slot: "2", Level: 1, SpareOf: m.ID}); code(err, "cabinet") != "key_spare_same_cabinet" {
		t.Fatalf("spare in the same cabinet: %v", err)
	}
	sp, err := f.svc.RegisterKey(ctx, f.boss, Key{Tag: "M1S", Customer: "X", Cabinet: "S", Slot: "2", Level: 1, SpareOf: m.ID})
	if err != nil {
		t.Fatal(err)
	}
	if ss, _ := f.svc.Spares(m.ID); len(ss) != 1 || ss[0].ID != sp.ID {
		t.Fatalf("spares %+v", ss)
	}
	if _, err := f.svc.RegisterKey(ctx, f.boss, Key{Tag: "Q", Customer: "X", Cabinet: "A", Slot: "1", Level: 9}); code(err, "level") != "invalid" {
		t.Fatalf("level 9: %v", err)
	}
	if _, err := f.svc.Get("nope"); !errors.Is(err, ErrNotFound) || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("not found: %v", err)
	}
}

// TestCheckoutDueOutOfRange: a due time nanoseconds cannot hold (the form
// accepts any four-digit year) or years away is refused, not stored as
// whatever date the overflow lands on.
func TestCheckoutDueOutOfRange(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.key("K1", 1, nil)
	for _, due := range []time.Time{time.Date(5000, 1, 1, 9, 0, 0, 0, loc), time.Date(1600, 1, 1, 9, 0, 0, 0, loc),
		f.clock.Now().AddDate(3, 0, 0), {}} {
		if _, err := f.svc.Checkout(ctx, f.boss, CheckoutInput{KeyID: k.ID, Reason: "cleaning", Due: due}); code(err, "due") == "" {
			t.Fatalf("due %s: %v", due, err)
		}
	}
	if _, err := f.svc.Checkout(ctx, f.boss, CheckoutInput{KeyID: k.ID, Reason: "cleaning", Due: f.clock.Now().AddDate(0, 1, 0)}); err != nil {
		t.Fatal(err)
	}
}

// TestHostsNeverTakeOrApproveKeys: tenant employees are not key room
// staff. Naming the host role on a key or a level is refused, and a host
// named anyway (by account) is neither holder nor second person.
func TestHostsNeverTakeOrApproveKeys(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.svc.RegisterKey(ctx, f.boss, Key{Tag: "H1", Customer: "Acme", Cabinet: "A", Slot: "1", Level: 1, Roles: []string{"host"}})
	if code(err, "roles") != "invalid" {
		t.Fatalf("host role on a key: %v", err)
	}
	if err := f.svc.SaveRule(ctx, "test", Rule{Level: TopLevel, Roles: []string{"host", "manager"}}); code(err, "roles") != "invalid" {
		t.Fatalf("host role on a level: %v", err)
	}
	k := f.key("T1", TopLevel, func(k *Key) { k.Roles = []string{"reception"}; k.Accounts = []string{f.host.ID} })
	if Allowed(k, Rule{Level: TopLevel}, f.host) {
		t.Fatal("a host named by account may take a key")
	}
	_, err = f.svc.Checkout(ctx, f.guard, CheckoutInput{KeyID: k.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour),
		Approval: Approval{Username: "host", Password: "password-host"}})
	if code(err, "approver") != "key_approver_not_allowed" {
		t.Fatalf("host as the second person: %v", err)
	}
}

// TestConcurrentCheckoutsOfOneKey: two people take the same key at the
// same moment; the store decides, so exactly one checkout exists.
func TestConcurrentCheckoutsOfOneKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.key("K1", 1, nil)
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		who := f.guard
		if i%2 == 1 {
			who = f.boss
		}
		go func() {
			_, err := f.svc.Checkout(ctx, who, CheckoutInput{KeyID: k.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour)})
			errs <- err
		}()
	}
	ok := 0
	for range n {
		err := <-errs
		switch {
		case err == nil:
			ok++
		case code(err, "key") != "key_out":
			t.Errorf("refused checkout: %v", err)
		}
	}
	if cs, _ := f.svc.OpenCheckouts(); ok != 1 || len(cs) != 1 {
		t.Fatalf("%d checkouts succeeded, %d open", ok, len(cs))
	}
}

// TestNamedAccountsBounded: a form posting thousands of accounts for a key
// (each checked against the others) is refused, not ground through.
func TestNamedAccountsBounded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	many := make([]string, MaxNamed+1)
	for i := range many {
		many[i] = fmt.Sprintf("%016x", i+1)
	}
	_, err := f.svc.RegisterKey(ctx, f.boss, Key{Tag: "N1", Customer: "Acme", Cabinet: "A", Slot: "1", Level: 1, Accounts: many})
	if code(err, "accounts") != "too_many" {
		t.Fatalf("register: %v", err)
	}
	k := f.key("N2", 1, nil)
	if err := f.svc.SetPermissions(ctx, f.boss, k.ID, nil, many); code(err, "accounts") != "too_many" {
		t.Fatalf("permissions: %v", err)
	}
	if err := f.svc.SaveRule(ctx, "test", Rule{Level: 1, Accounts: many}); code(err, "accounts") != "too_many" {
		t.Fatalf("level: %v", err)
	}
	if err := f.svc.SetPermissions(ctx, f.boss, k.ID, nil, many[:MaxNamed]); err != nil {
		t.Fatal(err)
	}
}

// TestEachEventReadsAllHistoryInOrder: the export reads every key's
// history one entry at a time in the order recorded, the same entries
// AllHistory holds at once.
func TestEachEventReadsAllHistoryInOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.key("A1", 1, nil), f.key("B1", 1, nil)
	for range 3 {
		for _, k := range []Key{b, a} {
			f.clock.Advance(time.Minute)
			if _, err := f.svc.Checkout(ctx, f.boss, CheckoutInput{KeyID: k.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Minute)
			if err := f.svc.Return(ctx, f.boss, ReturnInput{KeyID: k.ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, _ := f.svc.AllHistory()
	var got []Event
	if err := f.svc.EachEvent(func(e Event) bool { got = append(got, e); return true }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 14 || len(got) != len(all) {
		t.Fatalf("%d events read, %d held", len(got), len(all))
	}
	for i := range got {
		if got[i] != all[i] || got[i].Seq != uint64(i+1) {
			t.Fatalf("event %d: %+v, want %+v", i, got[i], all[i])
		}
	}
	n := 0
	_ = f.svc.EachEvent(func(Event) bool { n++; return n < 3 })
	if n != 3 {
		t.Fatalf("stopping after 3 read %d", n)
	}
}
