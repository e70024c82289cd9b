package notify

import (
	"context"
	"testing"
	"time"

	"gatehouse/appliance/store"
)

// TestGroupTotalsFollowEveryChange: a group's totals move with enqueue,
// delivery, failure, death, retry and purge; ungrouped messages are not
// counted; a refused duplicate outcome changes nothing.
func TestGroupTotalsFollowEveryChange(t *testing.T) {
	f := newFixture(t, DefaultBackoff())
	ctx := context.Background()
	group := store.NewID(f.clk.Now())
	var ms []Message
	for _, a := range []string{"0000000000000001", "0000000000000002", "0000000000000003", "0000000000000004"} {
		ms = append(ms, Message{Channel: InPage, To: a, Kind: KindMessage, Subject: "s", Group: group})
	}
	ids, err := f.svc.Enqueue(ctx, "test", append(ms, Message{Channel: InPage, To: "0000000000000005", Kind: KindMessage, Subject: "s"})...)
	if err != nil {
		t.Fatal(err)
	}
	want := func(p, d, x int) {
		t.Helper()
		var got Totals
		var found bool
		err := f.st.View(func(r *store.Reader) error { got, found, err = GroupTotals(r, group); return err })
		if err != nil || !found || got != (Totals{Pending: p, Delivered: d, Dead: x}) {
			t.Fatalf("totals %+v (found %v, %v), want %d pending, %d delivered, %d dead", got, found, err, p, d, x)
		}
	}
	want(4, 0, 0)
	issue := func(typ, id string, attempt int) error {
		_, err := store.Issue(ctx, f.st, typ, "worker", f.clk.Now(), attemptPayload{ID: id, Attempt: attempt, Error: "timeout", Next: f.clk.Now().Add(time.Minute).UnixNano()})
		return err
	}
	for _, s := range []struct {
		typ     string
		id      string
		attempt int
	}{{CmdDelivered, ids[0], 1}, {CmdFailed, ids[1], 1}, {CmdDead, ids[2], 1}, {CmdDelivered, ids[4], 1}} {
		if err := issue(s.typ, s.id, s.attempt); err != nil {
			t.Fatal(err)
		}
	}
	want(2, 1, 1)
	if err := issue(CmdDelivered, ids[0], 1); err == nil {
		t.Fatal("an outcome recorded twice was accepted")
	}
	want(2, 1, 1)
	if err := f.svc.Retry(ctx, "admin", ids[2]); err != nil {
		t.Fatal(err)
	}
	want(3, 1, 0)
	if err := issue(CmdDead, ids[2], 1); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Hour)
	if err := f.svc.Purge(ctx, "system", f.clk.Now(), 100); err != nil {
		t.Fatal(err)
	}
	want(2, 0, 0) // the delivered and the dead one are gone
	var found bool
	err = f.st.View(func(r *store.Reader) error { _, found, err = GroupTotals(r, store.NewID(f.clk.Now())); return err })
	if found || err != nil {
		t.Fatalf("a group never queued has totals (%v)", err)
	}
	// A group that is not a store ID is refused.
	if _, err := f.svc.Enqueue(ctx, "test", Message{Channel: InPage, To: "0000000000000001", Kind: KindMessage, Subject: "s", Group: "x\x00y"}); err == nil {
		t.Fatal("a malformed group was accepted")
	}
}
