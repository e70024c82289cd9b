package access

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/gate"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/visit"
)

// relay is a lane's relay as the device runtime drives it: it switches on
// (telling the caller, as the Modbus and USB relays do), holds for the
// pulse and switches off; or it fails.
type relay struct {
	mu     sync.Mutex
	pulses []string
	fail   error
	done   chan struct{}
}

func (r *relay) OpenLane(ctx context.Context, lane string, pulse time.Duration) error {
	if r.fail != nil {
		gate.Switched(ctx, r.fail)
		return r.fail
	}
	r.mu.Lock()
	r.pulses = append(r.pulses, lane)
	r.mu.Unlock()
	gate.Switched(ctx, nil)
	select {
	case <-time.After(pulse):
	case <-ctx.Done():
	}
	if r.done != nil {
		r.done <- struct{}{}
	}
	return nil
}

func lastEvent(t *testing.T, w *world) Event {
	t.Helper()
	es, err := w.acc.Recent(1)
	if err != nil || len(es) != 1 {
		t.Fatalf("recent: %v, %v", es, err)
	}
	return es[0]
}

// TestManualOpenWithoutRelayIsNotAPassage: with no relay, a manual open
// is recorded as refused ("manual_open_failed") and the guard hears that
// nothing opened; a relay that fails is the same; a relay that switches on
// is a granted opening, answered without waiting out the pulse.
func TestManualOpenWithoutRelayIsNotAPassage(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.acc.ManualOpen(ctx, "guard1", w.lane.ID, "delivery"); !errors.Is(err, ErrNoRelay) {
		t.Fatalf("no relay: %v, want ErrNoRelay", err)
	}
	if e := lastEvent(t, w); e.Grant || e.Reason != ManualOpenFailed || e.Kind != 'm' {
		t.Fatalf("no relay recorded %+v, want a refused manual open", e)
	}

	w.acc.SetOpener(&relay{fail: errors.New("modbus: no reply")})
	w.clk.Advance(time.Second)
	if err := w.acc.ManualOpen(ctx, "guard1", w.lane.ID, "delivery"); !errors.Is(err, ErrNotOpened) {
		t.Fatalf("failing relay: %v, want ErrNotOpened", err)
	}
	if e := lastEvent(t, w); e.Grant || e.Reason != ManualOpenFailed {
		t.Fatalf("failing relay recorded %+v", e)
	}

	r := &relay{done: make(chan struct{}, 1)}
	w.acc.SetOpener(r)
	if _, err := w.acc.SaveLane(ctx, "t", Lane{ID: w.lane.ID, Name: w.lane.Name, ZoneID: w.zone.ID, Visitors: true, PulseMs: 1500}); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(time.Second)
	start := time.Now()
	if err := w.acc.ManualOpen(ctx, "guard1", w.lane.ID, "delivery"); err != nil {
		t.Fatalf("relay: %v", err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("manual open took %v: it waited out the 1.5 s pulse", took)
	}
	if e := lastEvent(t, w); !e.Grant || e.Reason != ManualOpened {
		t.Fatalf("relay recorded %+v, want a granted manual open", e)
	}
	select {
	case <-r.done: // the pulse ran its length after the answer
	case <-time.After(5 * time.Second):
		t.Fatal("the pulse never finished")
	}
}

// TestGraceAndAdmitVisit: a visitor 45 minutes early is refused under a
// 30-minute grace; the guard lets them in tied to the visit — the visit is
// in, by the guard, the visitor is inside the zone (a second entry is
// anti-passback), and a visit already in cannot be let in again.
func TestGraceAndAdmitVisit(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.acc.SetVisitorGrace(pass.Grace{Early: 30 * time.Minute})
	now := w.clk.Now()
	v, _, err := w.visits.Invite(ctx, "h", visit.Request{Name: "Early Guest", Mobile: "13700137000", HostID: w.host.ID, Reason: "x",
		From: now.Add(45 * time.Minute), Until: now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := w.visits.Token(v)
	if a := w.present(t, gate.QR, tok, true); a.Open || a.Reason != string(NotYetValid) {
		t.Fatalf("45 min early: %+v, want not_yet_valid", a)
	}
	// Without a relay nothing opens and the visit does not move.
	w.clk.Advance(time.Second) // the feed orders by time: one event a second
	if err := w.acc.AdmitVisit(ctx, "guard1", w.lane.ID, v.ID, "early for interview"); !errors.Is(err, ErrNoRelay) {
		t.Fatalf("admit without relay: %v", err)
	}
	if got, _ := w.visits.Get(v.ID); got.State != visit.Approved {
		t.Fatalf("visit %s after a failed admission", got.State)
	}
	if e := lastEvent(t, w); e.Grant || e.Reason != ManualOpenFailed || e.Holder != "visit:"+v.ID {
		t.Fatalf("failed admission recorded %+v", e)
	}
	w.acc.SetOpener(&relay{})
	w.clk.Advance(time.Second)
	if err := w.acc.AdmitVisit(ctx, "guard1", w.lane.ID, v.ID, ""); err == nil {
		t.Fatal("admitted without a reason")
	}
	if err := w.acc.AdmitVisit(ctx, "guard1", w.lane.ID, v.ID, "early for interview"); err != nil {
		t.Fatalf("admit: %v", err)
	}
	got, _ := w.visits.Get(v.ID)
	if got.State != visit.In {
		t.Fatalf("visit %s after admission, want in", got.State)
	}
	if last := got.History[len(got.History)-1]; last.By != "guard1" || last.State != visit.In {
		t.Fatalf("visit's last move %+v, want in by guard1", last)
	}
	if e := lastEvent(t, w); !e.Grant || e.Reason != AdmittedByGuard || e.Holder != "visit:"+v.ID || e.Kind != 'g' || EventHolderKind(e.Holder) != holderVisit {
		t.Fatalf("admission recorded %+v", e)
	}
	inside, err := w.acc.Inside(w.zone.ID)
	if err != nil || len(inside) != 1 || inside[0].Holder != "visit:"+v.ID {
		t.Fatalf("inside after admission: %+v, %v", inside, err)
	}
	if err := w.acc.AdmitVisit(ctx, "guard1", w.lane.ID, v.ID, "again"); !errors.Is(err, visit.ErrTransition) {
		t.Fatalf("admitting a visit already in: %v", err)
	}
	if err := w.acc.AdmitVisit(ctx, "guard1", w.lane.ID, "0000000000000000", "x"); !errors.Is(err, visit.ErrNotFound) {
		t.Fatalf("admitting no visit: %v", err)
	}
}

// TestVisitorGraceThroughTheStore: with the real signed pass, 31 minutes
// early is refused and 29 minutes early goes in under a 30-minute grace.
func TestVisitorGraceThroughTheStore(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.acc.SetVisitorGrace(pass.Grace{Early: 30 * time.Minute})
	now := w.clk.Now()
	v, _, err := w.visits.Invite(ctx, "h", visit.Request{Name: "Guest", Mobile: "13700137000", HostID: w.host.ID, Reason: "x",
		From: now.Add(31 * time.Minute), Until: now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := w.visits.Token(v)
	if a := w.present(t, gate.QR, tok, true); a.Open || a.Reason != string(NotYetValid) {
		t.Fatalf("31 min early: %+v", a)
	}
	w.clk.Advance(2 * time.Minute)
	if a := w.present(t, gate.QR, tok, true); !a.Open {
		t.Fatalf("29 min early: %+v", a)
	}
	if got, _ := w.visits.Get(v.ID); got.State != visit.In {
		t.Fatalf("visit %s", got.State)
	}
}
