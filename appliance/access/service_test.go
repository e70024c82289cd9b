package access

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

type world struct {
	st     *store.Store
	acc    *Service
	visits *visit.Service
	clk    *clock.Fake
	lane   Lane
	zone   Zone
	group  Group
	prof   Profile
	host   directory.Person
	dir    *directory.Service
}

func newWorld(t *testing.T) *world {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	directory.Register(st)
	visit.Register(st)
	Register(st)
	keys, _ := secret.FromMaster(bytes.Repeat([]byte{3}, 32))
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, shanghai)) // Monday
	w := &world{clk: clk, st: st}
	w.visits = visit.New(st, clk, keys)
	w.acc = New(st, clk, shanghai, keys.Verifier(), w.visits)
	ctx := context.Background()
	dir := directory.New(st, clk, keys)
	w.dir = dir
	fl, _ := dir.SaveFloor(ctx, "t", directory.Floor{Name: "1F", Level: 1})
	co, _ := dir.SaveCompany(ctx, "t", directory.Company{Name: "Acme", FloorIDs: []string{fl.ID}})
	w.host, _ = dir.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "Host", Mobile: "13800138000", CompanyID: co.ID, FloorID: fl.ID, EmployeeNo: "1", CanHost: true})
	if w.zone, err = w.acc.SaveZone(ctx, "t", Zone{Name: "Lobby", Passback: PassbackHard}); err != nil {
		t.Fatal(err)
	}
	if w.lane, err = w.acc.SaveLane(ctx, "t", Lane{Name: "Gate 1", ZoneID: w.zone.ID, Visitors: true, PulseMs: 800}); err != nil {
		t.Fatal(err)
	}
	if w.group, err = w.acc.SaveGroup(ctx, "t", Group{Name: "Lobby staff", ZoneIDs: []string{w.zone.ID}}); err != nil {
		t.Fatal(err)
	}
	if w.prof, err = w.acc.SaveProfile(ctx, "t", Profile{Name: "Working hours", Week: workingHours.Week}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) present(t *testing.T, kind gate.CredentialKind, value string, in bool) gate.Action {
	t.Helper()
	dir := gate.In
	if !in {
		dir = gate.Out
	}
	a, err := w.acc.Decide(context.Background(), gate.Presentation{Lane: w.lane.ID, Direction: dir, Kind: kind, Value: value, Device: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCardThroughTheStore(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c, err := w.acc.Enrol(ctx, "t", Credential{Kind: Card, Number: "04:a2:3b:1c", HolderKind: HolderEmployee, HolderID: w.host.ID,
		HolderName: "Host", ProfileID: w.prof.ID, GroupIDs: []string{w.group.ID}, LimitDay: 2})
	if err != nil {
		t.Fatal(err)
	}
	if c.Number != "04A23B1C" {
		t.Fatalf("number = %s", c.Number)
	}
	steps := []struct {
		advance time.Duration
		in      bool
		want    string
	}{
		{0, true, "granted"},
		{time.Minute, true, "anti_passback"}, // hard anti-passback: inside already
		{time.Minute, false, "granted"},
		{time.Minute, true, "granted"},
		{time.Minute, false, "granted"},
		{time.Minute, true, "use_limit"},           // two entries a day
		{30 * time.Minute, false, "anti_passback"}, // leaving without having entered
	}
	for i, st := range steps {
		w.clk.Advance(st.advance)
		a := w.present(t, gate.Card, "04A23B1C", st.in)
		if a.Reason != st.want || a.Open != (st.want == "granted") {
			t.Fatalf("step %d: %+v, want %s", i, a, st.want)
		}
		if a.Open && a.Pulse != 800*time.Millisecond {
			t.Fatalf("pulse %v", a.Pulse)
		}
	}
	// Outside working hours (19:xx) a fresh card is refused.
	c2, _ := w.acc.Enrol(ctx, "t", Credential{Kind: Card, Number: "W26:12:3456", HolderKind: HolderContractor, HolderName: "Fixer",
		ProfileID: w.prof.ID, GroupIDs: []string{w.group.ID}})
	w.clk.Set(time.Date(2026, 11, 23, 19, 30, 0, 0, shanghai))
	if a := w.present(t, gate.Card, "w26:012:3456", true); a.Reason != "outside_time_profile" {
		t.Fatalf("evening: %+v", a)
	}
	// Lost is unusable at once; a replacement carries the rights over.
	w.clk.Set(time.Date(2026, 11, 24, 9, 0, 0, 0, shanghai))
	if err := w.acc.SetState(ctx, "t", c2.ID, StateLost, "reported by phone"); err != nil {
		t.Fatal(err)
	}
	if a := w.present(t, gate.Card, "W26:12:3456", true); a.Reason != "lost" {
		t.Fatalf("lost card: %+v", a)
	}
	n, err := w.acc.Replace(ctx, "t", c2.ID, Card, "W26:12:9999")
	if err != nil || n.ProfileID != w.prof.ID || len(n.GroupIDs) != 1 || n.Replaces != c2.ID {
		t.Fatalf("replace = %+v %v", n, err)
	}
	if a := w.present(t, gate.Card, "W26:12:9999", true); !a.Open {
		t.Fatalf("replacement: %+v", a)
	}
	if err := w.acc.SetState(ctx, "t", c2.ID, Active, ""); err == nil {
		t.Fatal("a lost card was reactivated")
	}
	if a := w.present(t, gate.Card, "DEADBEEF", true); a.Reason != "unknown" {
		t.Fatalf("unknown card: %+v", a)
	}
	if _, err := w.acc.Enrol(ctx, "t", Credential{Kind: Card, Number: "04a23b1c", HolderKind: HolderEmployee, HolderName: "Dup"}); !errors.Is(err, field.ErrInvalid) {
		t.Fatalf("duplicate card number: %v", err)
	}
}

func TestVisitorPassThroughTheStore(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	now := w.clk.Now()
	v, _, err := w.visits.Invite(ctx, "h", visit.Request{Name: "Guest", Mobile: "13700137000", HostID: w.host.ID, Reason: "x",
		From: now.Add(-time.Minute), Until: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := w.visits.Token(v)
	if a := w.present(t, gate.QR, tok, true); !a.Open {
		t.Fatalf("entry: %+v", a)
	}
	if a := w.present(t, gate.QR, tok, true); a.Open || a.Reason != "anti_passback" {
		t.Fatalf("replayed entry: %+v", a)
	}
	if got, _ := w.visits.Get(v.ID); got.State != visit.In {
		t.Fatalf("visit state %s after entry", got.State)
	}
	if a := w.present(t, gate.QR, tok, false); !a.Open {
		t.Fatalf("exit: %+v", a)
	}
	if got, _ := w.visits.Get(v.ID); got.State != visit.Out {
		t.Fatalf("visit state %s after exit", got.State)
	}
	if err := w.visits.Move(ctx, "h", v.ID, visit.EvClose, ""); err != nil {
		t.Fatal(err)
	}
	if a := w.present(t, gate.QR, tok, true); a.Reason != "revoked" {
		t.Fatalf("closed visit: %+v", a)
	}
	if a := w.present(t, gate.QR, tok[:len(tok)-3]+"AAA", true); a.Reason != "pass_invalid" {
		t.Fatalf("altered pass: %+v", a)
	}
	// A rejected visitor at the gate.
	b, _, _ := w.visits.Book(ctx, visit.Request{Name: "Nope", Mobile: "13700137001", IDLast6: "123456", HostID: w.host.ID, Reason: "x",
		From: now.Add(time.Minute), Until: now.Add(time.Hour)})
	b, _ = w.visits.Decide(ctx, "h", b.ID, "", true, "")
	btok, _ := w.visits.Token(b)
	_ = w.visits.Move(ctx, "h", b.ID, visit.EvCancel, "")
	w.clk.Advance(2 * time.Minute)
	if a := w.present(t, gate.QR, btok, true); a.Reason != "revoked" {
		t.Fatalf("cancelled visitor: %+v", a)
	}
}

func TestQuickPassRotates(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	keys, _ := secret.FromMaster(bytes.Repeat([]byte{3}, 32))
	w.acc.WithSecrets(keys)
	card, err := w.acc.Enrol(ctx, "t", Credential{Kind: Card, Number: "AABBCCDD", HolderKind: HolderEmployee, HolderID: w.host.ID,
		HolderName: "Host", GroupIDs: []string{w.group.ID}, ProfileID: w.prof.ID})
	if err != nil {
		t.Fatal(err)
	}
	q, err := w.acc.IssueQuickPass(ctx, "t", keys, card)
	if err != nil || q.Kind != Quick || q.Secret == "" || q.Number != "" {
		t.Fatalf("quick pass = %+v %v", q, err)
	}
	if got, err := w.acc.QuickPassOf(w.host.ID); err != nil || got.ID != q.ID {
		t.Fatalf("QuickPassOf = %+v %v", got, err)
	}
	raw, err := QuickSecret(keys, q)
	if err != nil {
		t.Fatal(err)
	}
	shown := QuickText(q.ID, raw, w.clk.Now())
	if a := w.present(t, gate.QR, shown, true); !a.Open {
		t.Fatalf("current code: %+v", a)
	}
	w.clk.Advance(40 * time.Second) // the previous step is still accepted
	if a := w.present(t, gate.QR, shown, false); !a.Open {
		t.Fatalf("code from the previous step: %+v", a)
	}
	w.clk.Advance(60 * time.Second) // a screenshot a minute and a half old
	if a := w.present(t, gate.QR, shown, true); a.Open || a.Reason != "unknown" {
		t.Fatalf("stale code: %+v", a)
	}
	if a := w.present(t, gate.QR, "GQ1."+q.ID+".12345678", true); a.Open {
		t.Fatalf("guessed code: %+v", a)
	}
	// The quick pass has the card's rights: outside working hours, no.
	w.clk.Set(time.Date(2026, 11, 23, 20, 0, 0, 0, shanghai))
	if a := w.present(t, gate.QR, QuickText(q.ID, raw, w.clk.Now()), true); a.Reason != "outside_time_profile" {
		t.Fatalf("evening: %+v", a)
	}
}

func TestTOTPKnownAnswer(t *testing.T) {
	// RFC 6238 appendix B, SHA-1, 8 digits: T = 59 s -> 94287082.
	if got := totp([]byte("12345678901234567890"), 59/30); got != "94287082" {
		t.Fatalf("TOTP = %s", got)
	}
	if got := totp([]byte("12345678901234567890"), 1111111109/30); got != "07081804" {
		t.Fatalf("TOTP = %s", got)
	}
}

// applyRecorder tells which way each command was applied.
type applyRecorder struct {
	*store.Store
	mu          sync.Mutex
	sync, async []string
}

func (r *applyRecorder) Apply(ctx context.Context, cmd store.Command) (store.Result, error) {
	r.mu.Lock()
	r.sync = append(r.sync, cmd.Type)
	r.mu.Unlock()
	return r.Store.Apply(ctx, cmd)
}

func (r *applyRecorder) ApplyAsync(ctx context.Context, cmd store.Command) (store.Result, error) {
	r.mu.Lock()
	r.async = append(r.async, cmd.Type)
	r.mu.Unlock()
	return r.Store.ApplyAsync(ctx, cmd)
}

// TestGateDecisionIsOneCommandThatDoesNotWait: a visitor's granted pass is
// one command (the event, the passage and the visit's move, one audit
// entry), applied without waiting for the disk, and an employee's card
// too; the next decision sees the passage at once (anti-passback), and
// the host still hears of the arrival.
func TestGateDecisionIsOneCommandThatDoesNotWait(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	arrived := make(chan string, 4)
	w.visits.WithHook(func(_ context.Context, kind string, v visit.Visit) {
		if kind != visit.HookInvited {
			arrived <- kind + " " + v.ID
		}
	})
	rec := &applyRecorder{Store: w.st}
	keys, _ := secret.FromMaster(bytes.Repeat([]byte{3}, 32))
	acc := New(rec, w.clk, shanghai, keys.Verifier(), w.visits)
	now := w.clk.Now()
	v, _, err := w.visits.Invite(ctx, "h", visit.Request{Name: "Guest", Mobile: "13700137000", HostID: w.host.ID, Reason: "x",
		From: now.Add(-time.Minute), Until: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := w.visits.Token(v)
	entries := func() uint64 {
		var n uint64
		if err := w.st.View(func(r *store.Reader) error { n, err = store.VerifyAudit(r); return err }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	present := func(kind gate.CredentialKind, value string, dir gate.Direction) gate.Action {
		a, err := acc.Decide(ctx, gate.Presentation{Lane: w.lane.ID, Direction: dir, Kind: kind, Value: value, Device: "lane-1"})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	before := entries()
	if a := present(gate.QR, tok, gate.In); !a.Open {
		t.Fatalf("entry: %+v", a)
	}
	if got := entries(); got != before+1 {
		t.Fatalf("a visitor's entry made %d audit entries, want 1", got-before)
	}
	_ = w.st.View(func(r *store.Reader) error {
		es, err := store.AuditPage(r, 0, 1)
		if err != nil || len(es) != 1 || es[0].Type != CmdEvent || es[0].Note != noteVisitIn {
			t.Errorf("last audit entry %+v, %v", es, err)
		}
		return nil
	})
	got, _ := w.visits.Get(v.ID)
	if last := got.History[len(got.History)-1]; got.State != visit.In || last.By != "device:lane-1" || last.Note != "Gate 1" {
		t.Fatalf("visit after entry: %s, %+v", got.State, last)
	}
	if a := present(gate.QR, tok, gate.In); a.Open || a.Reason != "anti_passback" {
		t.Fatalf("replayed entry: %+v", a)
	}
	select {
	case k := <-arrived:
		if k != visit.HookArrived+" "+v.ID {
			t.Fatalf("hook heard %q", k)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the host was not told of the arrival")
	}
	if a := present(gate.QR, tok, gate.Out); !a.Open {
		t.Fatalf("exit: %+v", a)
	}
	if got, _ := w.visits.Get(v.ID); got.State != visit.Out {
		t.Fatalf("visit state %s after exit", got.State)
	}
	// An employee's card.
	if _, err := acc.Enrol(ctx, "t", Credential{Kind: Card, Number: "11223344", HolderKind: HolderEmployee, HolderID: w.host.ID,
		HolderName: "Host", GroupIDs: []string{w.group.ID}}); err != nil {
		t.Fatal(err)
	}
	if a := present(gate.Card, "11223344", gate.In); !a.Open {
		t.Fatalf("card entry: %+v", a)
	}
	if a := present(gate.Card, "11223344", gate.In); a.Open || a.Reason != "anti_passback" {
		t.Fatalf("card re-entry: %+v", a)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.async) != 5 || slices.Contains(rec.sync, CmdEvent) || slices.ContainsFunc(rec.sync, func(s string) bool { return strings.HasPrefix(s, "visit.") }) {
		t.Fatalf("applied without waiting: %v; waiting: %v", rec.async, rec.sync)
	}
}
