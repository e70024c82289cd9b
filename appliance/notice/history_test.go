package notice

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"gatehouse/appliance/notify"
	"gatehouse/appliance/store"
)

// crowd is an audience of n accounts (an urgent message to Everyone
// reaches them all).
func crowd(n int) people {
	p := people{}
	for i := range n {
		p[Employees] = append(p[Employees], notify.Recipient{AccountID: fmt.Sprintf("%016x", i+1)})
	}
	return p
}

// withPeople is f's service with another audience.
func (f *fixture) withPeople(p People) *Service {
	o := f.svc.o
	o.People, o.PerMonth = p, 1000
	return New(f.st, o)
}

// BenchmarkHistory is the history page's read: 50 rows, ten of them
// broadcasts to 2,000 people each, the others messages to one person.
func BenchmarkHistory(b *testing.B) {
	f := newFixture(b)
	svc := f.withPeople(crowd(2000))
	for i := range historyBenchRows {
		in := Send{Urgent: true, Audience: Everyone, Text: "Fire drill at 10:00"}
		if i%5 != 0 {
			in = Send{To: []notify.Recipient{{AccountID: "0000000000000003"}}, ToLabel: "Wang", Text: "Parcel"}
		}
		if _, err := svc.Send(ctx, "m", in); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		h, err := svc.History(historyBenchRows)
		if err != nil || len(h) != historyBenchRows {
			b.Fatal(len(h), err)
		}
	}
}

const historyBenchRows = 50

// outcome records an attempt's outcome as the worker would.
func (f *fixture) outcome(t *testing.T, typ, id string, attempt int) {
	t.Helper()
	p := map[string]any{"id": id, "attempt": attempt, "error": "smtp RCPT: 550"}
	if typ == notify.CmdFailed {
		p["next"] = f.clk.Now().Add(time.Hour).UnixNano()
	}
	if _, err := store.Issue(ctx, f.st, typ, "worker", f.clk.Now(), p); err != nil {
		t.Fatal(err)
	}
}

// counted is what each outbox record says, read one by one.
func (f *fixture) counted(t *testing.T, ids []string) (d, p, x, purged int) {
	t.Helper()
	for _, id := range ids {
		rec, err := f.outbox.Get(id)
		switch {
		case errors.Is(err, notify.ErrNotFound):
			purged++
		case err != nil:
			t.Fatal(err)
		case rec.State == notify.Delivered:
			d++
		case rec.State == notify.Dead:
			x++
		default:
			p++
		}
	}
	return
}

// TestBroadcastDeliveryTotals follows a broadcast to 2,000 people through
// deliveries, failures, retries and the retention's purge: the history's
// counts, read from the outbox's totals, are what the records say.
func TestBroadcastDeliveryTotals(t *testing.T) {
	f := newFixture(t)
	svc := f.withPeople(crowd(2000))
	m, err := svc.Send(ctx, "m", Send{Urgent: true, Audience: Everyone, Text: "Fire drill at 10:00"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Outbox) != 2000 {
		t.Fatalf("queued %d", len(m.Outbox))
	}
	check := func(wantState string) {
		t.Helper()
		h, err := svc.History(10)
		if err != nil || len(h) != 1 {
			t.Fatalf("history %v %v", len(h), err)
		}
		d, p, x, purged := f.counted(t, m.Outbox)
		if s := h[0]; s.Delivered != d || s.Pending != p || s.Dead != x || s.Purged != purged || s.State() != wantState {
			t.Fatalf("history says %d delivered, %d pending, %d dead, %d purged (%s); records %d, %d, %d, %d (want %s)",
				s.Delivered, s.Pending, s.Dead, s.Purged, s.State(), d, p, x, purged, wantState)
		}
	}
	check("pending")
	for i, id := range m.Outbox {
		switch {
		case i < 1500:
			f.outcome(t, notify.CmdDelivered, id, 1)
		case i < 1800:
			f.outcome(t, notify.CmdDead, id, 1)
		case i < 1850:
			f.outcome(t, notify.CmdFailed, id, 1) // still pending
		}
	}
	check("pending")
	if d, p, x, _ := f.counted(t, m.Outbox); d != 1500 || p != 200 || x != 300 {
		t.Fatalf("records %d %d %d", d, p, x)
	}
	// An administrator retries ten dead ones; the rest of the pending
	// ones are delivered, a retried one dies again.
	for _, id := range m.Outbox[1500:1510] {
		if err := f.outbox.Retry(ctx, "admin", id); err != nil {
			t.Fatal(err)
		}
	}
	f.outcome(t, notify.CmdDead, m.Outbox[1500], 1)
	for _, id := range m.Outbox[1501:1510] {
		f.outcome(t, notify.CmdDelivered, id, 1)
	}
	for _, id := range m.Outbox[1800:1850] {
		f.outcome(t, notify.CmdDelivered, id, 2)
	}
	for _, id := range m.Outbox[1850:] {
		f.outcome(t, notify.CmdDelivered, id, 1)
	}
	check("partial")
	// The retention purges finished messages, oldest first.
	f.clk.Advance(31 * 24 * time.Hour)
	if err := f.outbox.Purge(ctx, "system", f.clk.Now(), 700); err != nil {
		t.Fatal(err)
	}
	check("partial")
	if h, _ := svc.History(1); h[0].Purged != 700 {
		t.Fatalf("purged %d", h[0].Purged)
	}
	// An interrupted send (recorded, never queued) still shows so.
	subj, _ := f.svc.o.Keys.Seal("x")
	cut := Message{ID: store.NewID(f.clk.Now()), Subject: subj, ToSealed: subj}
	if _, err := store.Issue(ctx, f.st, CmdSend, "m", f.clk.Now(), sendPayload{Message: cut}); err != nil {
		t.Fatal(err)
	}
	if h, _ := svc.History(1); h[0].ID != cut.ID || h[0].State() != "unconfirmed" || h[0].Pending+h[0].Delivered+h[0].Dead != 0 {
		t.Fatalf("interrupted send: %+v", h[0])
	}
}

// TestHistoryOfMessagesFromBeforeTotals: a message whose outbox messages
// carry no group (queued by an older version) is counted record by record.
func TestHistoryOfMessagesFromBeforeTotals(t *testing.T) {
	f := newFixture(t)
	subj, _ := f.svc.o.Keys.Seal("x")
	old := Message{ID: store.NewID(f.clk.Now()), Subject: subj, ToSealed: subj}
	if _, err := store.Issue(ctx, f.st, CmdSend, "m", f.clk.Now(), sendPayload{Message: old}); err != nil {
		t.Fatal(err)
	}
	var ms []notify.Message
	for _, a := range []string{"0000000000000001", "0000000000000002", "0000000000000003"} {
		ms = append(ms, notify.Message{Channel: notify.InPage, To: a, Kind: notify.KindMessage, Subject: "s", Body: "b"})
	}
	ids, err := f.outbox.Enqueue(ctx, "m", ms...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Issue(ctx, f.st, CmdQueued, "m", f.clk.Now(), queuedPayload{ID: old.ID, Outbox: ids}); err != nil {
		t.Fatal(err)
	}
	f.outcome(t, notify.CmdDelivered, ids[0], 1)
	f.outcome(t, notify.CmdDead, ids[1], 1)
	h, err := f.svc.History(10)
	if err != nil || len(h) != 1 || h[0].Delivered != 1 || h[0].Dead != 1 || h[0].Pending != 1 || h[0].State() != "pending" {
		t.Fatalf("history %+v %v", h, err)
	}
}
