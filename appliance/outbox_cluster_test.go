package appliance

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/appliance/notify"
)

// stallAfterSending is a webhook transport that delivers the request and,
// while stall is set, then hangs until the attempt ends: a leader whose
// messages have reached the receiver when it dies, before it could record
// them as delivered.
type stallAfterSending struct {
	stall   atomic.Bool
	stalled atomic.Int32
}

func (s *stallAfterSending) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !s.stall.Load() {
		return resp, err
	}
	resp.Body.Close()
	s.stalled.Add(1)
	<-r.Context().Done()
	return nil, r.Context().Err()
}

// whileLeads runs w while a leads, as serve does (ui/shell's whileLeading).
func whileLeads(ctx context.Context, a *App, w *notify.Worker) {
	for ctx.Err() == nil {
		if a.Node.IsLeader() {
			jctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); _ = w.Run(jctx) }()
			for a.Node.IsLeader() && ctx.Err() == nil {
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			<-done
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTheOutboxSendsEachMessageOnceAcrossALeadersDeath: three lobbies, a
// webhook receiver that drops repeats by Idempotency-Key (real HTTP). The
// leader's worker sends two messages, which reach the receiver, and the
// leader dies before recording them; four more wait behind them. The
// survivors show the two as sending, marked by the dead lobby; the new
// leader sends the four at once and the two once their marks have passed
// (never while the dead leader's attempt could still be under way), each
// once more with the same key. Every message is delivered; the receiver
// keeps each exactly once; the raw repeats are at most the messages in
// flight at the death, and are exactly those the outbox counts as resent.
func TestTheOutboxSendsEachMessageOnceAcrossALeadersDeath(t *testing.T) {
	const msgs, timeout, grace = 6, 2 * time.Second, time.Second
	s := newFaultySite(t)
	var (
		mu    sync.Mutex
		raw   int
		first = map[string]time.Time{} // key: first delivery
		again = map[string]time.Time{} // key: a repeat
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(notify.IdempotencyHeader)
		mu.Lock()
		raw++
		if _, ok := first[key]; ok {
			again[key] = time.Now()
		} else {
			first[key] = time.Now()
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent) // a repeat is acknowledged and dropped
	}))
	defer ts.Close()

	ctx := context.Background()
	transports := map[string]*stallAfterSending{}
	stops := map[string]context.CancelFunc{}
	var workers sync.WaitGroup
	for _, name := range s.names {
		a := s.apps[name]
		tr := &stallAfterSending{}
		transports[name] = tr
		w := notify.NewWorker(a.Notify, notify.WorkerOptions{Node: name, Leading: a.Node.IsLeader,
			Timeout: timeout, Grace: grace, Poll: 100 * time.Millisecond, HTTP: &http.Client{Transport: tr}})
		wctx, stop := context.WithCancel(ctx)
		stops[name] = stop
		workers.Add(1)
		go func() { defer workers.Done(); whileLeads(wctx, a, w) }()
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
		workers.Wait()
	}()

	var leader string
	waitFor(t, 10*time.Second, "a leader", func() bool {
		for _, name := range s.names {
			if s.apps[name].Node.IsLeader() {
				leader = name
				return true
			}
		}
		return false
	})
	la := s.apps[leader]
	if err := la.Notify.SaveSettings(ctx, "t", notify.Settings{Webhooks: []notify.Hook{{Name: "desk", Kind: notify.Generic, URL: ts.URL}}}); err != nil {
		t.Fatal(err)
	}
	transports[leader].stall.Store(true)
	var ids []string
	for range msgs {
		got, err := la.Notify.Enqueue(ctx, "t", notify.Message{Channel: notify.Webhook, To: "desk", Kind: notify.KindVisitArrived, Subject: "arrived"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	// The webhook's lane is two wide: two messages reach the receiver and
	// hang; the rest wait behind them.
	waitFor(t, 10*time.Second, "two messages in flight", func() bool { return transports[leader].stalled.Load() == 2 })
	time.Sleep(200 * time.Millisecond) // nothing else starts
	inflight := int(transports[leader].stalled.Load())

	// The leader dies: its worker with it, then its node and store.
	stops[leader]()
	_ = la.Node.Close()
	_ = la.Close()
	died := time.Now()
	var survivors []*App
	for _, name := range s.names {
		if name != leader {
			survivors = append(survivors, s.apps[name])
		}
	}
	sending := 0
	for _, id := range ids {
		rec, err := survivors[0].Notify.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Shown() == notify.Sending {
			if rec.Sending.Node != leader {
				t.Errorf("message %s marked by %q, want the dead leader %q", id, rec.Sending.Node, leader)
			}
			sending++
		}
	}
	if sending != inflight {
		t.Fatalf("the survivors show %d messages sending at the leader's death, want the %d in flight", sending, inflight)
	}

	for _, a := range survivors {
		waitFor(t, 20*time.Second, "every message delivered on "+a.Node.ID(), func() bool {
			for _, id := range ids {
				if rec, err := a.Notify.Get(id); err != nil || rec.State != notify.Delivered {
					return false
				}
			}
			return true
		})
	}
	resent := 0
	for _, id := range ids {
		rec, err := survivors[1].Notify.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		resent += rec.Resent
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d messages, %d in flight at the death, %d raw deliveries, %d kept, last resend %v after the death",
		msgs, inflight, raw, len(first), latest(again).Sub(died).Round(time.Millisecond))
	if len(first) != msgs {
		t.Errorf("the receiver kept %d messages, want %d", len(first), msgs)
	}
	for _, id := range ids {
		if _, ok := first[`"`+id+`"`]; !ok {
			t.Errorf("message %s never reached the receiver", id)
		}
	}
	if dup := raw - msgs; dup > inflight || dup != resent || len(again) != dup {
		t.Errorf("%d raw repeats (%d keys) and %d counted as resent; want at most the %d in flight, all counted", dup, len(again), resent, inflight)
	}
	for key, at := range again {
		if d := at.Sub(first[key]); d < timeout+grace-100*time.Millisecond {
			t.Errorf("%s resent %v after it first arrived, while the dead leader's attempt could still be under way (%v)", key, d, timeout+grace)
		}
	}
}

func latest(ts map[string]time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}
