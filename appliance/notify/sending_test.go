package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/store"
)

// TestTheSendingMarkIsCommittedBeforeTheMessageLeaves: when a webhook's
// receiver (real HTTP) and the SMS channel are handed a message, the store
// already holds its sending mark, naming the attempt; once it is delivered
// the mark is gone. Without the mark the receivers see a plain pending
// message and the test fails.
func TestTheSendingMarkIsCommittedBeforeTheMessageLeaves(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string]Record{} // what the store held when the message arrived
	look := func(id string) {
		rec, err := f.svc.Get(id)
		if err != nil {
			t.Errorf("the receiver's look at %s: %v", id, err)
			return
		}
		mu.Lock()
		seen[id] = rec
		mu.Unlock()
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p GenericPayload
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &p); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		look(p.ID)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ts.Close()
	f.saveHook(t, "robot", ts.URL)
	phone := channelFunc(func(_ context.Context, m Message) error { look(m.ID); return nil })
	f.svc.EnableSMS(true)
	if err := f.svc.Broadcast(ctx, "test", Note{Kind: KindVisitArrived, Subject: "arrived"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Tell(ctx, "test", Recipient{Phone: "13800138000"}, Note{Kind: KindVisitApproved, Subject: "approved"}); err != nil {
		t.Fatal(err)
	}
	w := NewWorker(f.svc, WorkerOptions{Node: "north", Channels: map[ChannelName]Channel{SMS: phone}})
	if n, err := w.RunOnce(ctx); err != nil || n != 2 {
		t.Fatalf("RunOnce: %d attempts, %v; want 2", n, err)
	}
	if len(seen) != 2 {
		t.Fatalf("the receivers saw %d messages, want 2", len(seen))
	}
	for id, rec := range seen {
		m := rec.Sending
		if rec.Shown() != Sending || m == nil || m.Attempt != 1 || m.Node != "north" || !store.ValidID(m.Lease) ||
			m.Until != f.clk.Now().Add(30*time.Second+10*time.Second).UnixNano() || rec.Due != m.Until {
			t.Errorf("%s %s while it left: %s, mark %+v, due %d; want sending attempt 1 of north, held until timeout+grace",
				rec.Channel, id, rec.Shown(), m, rec.Due)
		}
		if after := f.get(t, id); after.State != Delivered || after.Sending != nil || after.Attempts != 1 || after.Resent != 0 {
			t.Errorf("%s %s after: %s, attempts %d, mark %+v, resent %d; want delivered once, no mark",
				rec.Channel, id, after.State, after.Attempts, after.Sending, after.Resent)
		}
	}
}

// leavesThenDies hands a message to the real channel and then hangs until
// its worker's context ends: a lobby that died after its message left and
// before it could record so.
type leavesThenDies struct {
	inner Channel
	left  chan string
}

func (c leavesThenDies) Send(ctx context.Context, m Message) error {
	if err := c.inner.Send(ctx, m); err != nil {
		return err
	}
	c.left <- m.ID
	<-ctx.Done()
	return ctx.Err()
}

// TestAMarkLeftByAnotherAttemptIsResentWithTheSameIdentity: an email (real
// SMTP), a webhook (real HTTP) and an SMS leave, and their worker dies
// before recording it, leaving their sending marks. Another worker (a new
// leader) sends none of them while the marks hold — the first attempts
// could still be under way — and then each exactly once more, with the same
// Message-ID, Idempotency-Key and message ID (the SMS reference), so a
// receiver that honours them drops the repeat. Each is then delivered,
// counted as resent once, and attempted no more.
func TestAMarkLeftByAnotherAttemptIsResentWithTheSameIdentity(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx := context.Background()
	box := &mailbox{}
	startMailbox(t, box, nil)
	var mu sync.Mutex
	var keys []string // Idempotency-Key of each webhook request
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get(IdempotencyHeader))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ts.Close()
	hook := Hook{Name: "robot", Kind: Generic, URL: ts.URL, Kinds: []string{KindVisitArrived}}
	set := Settings{SMTP: smtpSettings(t, box.addr), Webhooks: []Hook{hook}}
	if err := f.svc.SaveSettings(ctx, "admin", set); err != nil {
		t.Fatal(err)
	}
	f.svc.EnableSMS(true)
	n := Note{Kind: KindVisitArrived, Subject: "arrived"}
	if err := f.svc.Broadcast(ctx, "test", n); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Tell(ctx, "test", Recipient{Email: "host@example.com", Phone: "13800138000"}, n); err != nil {
		t.Fatal(err)
	}
	phone := &counter{}
	const timeout, grace = 5 * time.Second, 2 * time.Second

	// The first worker: each message leaves, then the worker dies.
	left := make(chan string, 3)
	first := NewWorker(f.svc, WorkerOptions{Node: "north", Timeout: timeout, Grace: grace, Channels: map[ChannelName]Channel{
		Email:   leavesThenDies{&SMTPChannel{SMTP: set.SMTP, Clock: f.clk}, left},
		Webhook: leavesThenDies{&HookChannel{Hook: hook, Client: NewHTTPClient(), Clock: f.clk}, left},
		SMS:     leavesThenDies{phone, left},
	}})
	rctx, die := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- first.Run(rctx) }()
	ids := map[string]bool{}
	for range 3 {
		select {
		case id := <-left:
			ids[id] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of 3 messages left", len(ids))
		}
	}
	die()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	var lease string
	for id := range ids {
		rec := f.get(t, id)
		if rec.Shown() != Sending || rec.Sending.Node != "north" || (lease != "" && rec.Sending.Lease != lease) {
			t.Fatalf("%s after the first worker died: %s, mark %+v; want its sending mark", rec.Channel, rec.Shown(), rec.Sending)
		}
		lease = rec.Sending.Lease
	}

	// The next worker, while the marks hold: nothing goes.
	next := NewWorker(f.svc, WorkerOptions{Node: "south", Timeout: timeout, Grace: grace,
		Channels: map[ChannelName]Channel{SMS: phone}})
	f.clk.Advance(timeout + grace - time.Millisecond)
	if n, err := next.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("the next worker made %d attempts (%v) while the first one's marks held; want none", n, err)
	}
	// Once they have passed: each once more.
	f.clk.Advance(time.Millisecond)
	if n, err := next.RunOnce(ctx); err != nil || n != 3 {
		t.Fatalf("the next worker made %d attempts (%v) after the marks passed; want 3", n, err)
	}
	if n, err := next.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("%d attempts more (%v); want none", n, err)
	}
	for id := range ids {
		if rec := f.get(t, id); rec.State != Delivered || rec.Attempts != 1 || rec.Resent != 1 || rec.Sending != nil {
			t.Errorf("%s: %s, attempts %d, resent %d, mark %+v; want delivered, resent once", rec.Channel, rec.State, rec.Attempts, rec.Resent, rec.Sending)
		}
	}

	mail := box.received()
	if len(mail) != 2 {
		t.Fatalf("%d emails, want 2 (the first and the resend)", len(mail))
	}
	var mids []string
	for _, m := range mail {
		msg, err := netmail.ReadMessage(bytes.NewReader(m.data))
		if err != nil {
			t.Fatal(err)
		}
		mids = append(mids, msg.Header.Get("Message-ID"))
	}
	if mids[0] == "" || mids[0] != mids[1] {
		t.Errorf("Message-IDs %q: want the same on both", mids)
	}
	mu.Lock()
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Errorf("Idempotency-Keys %q: want the same on both of 2 requests", keys)
	}
	mu.Unlock()
	phone.mu.Lock()
	if phone.total != 2 || len(phone.posts) != 1 {
		t.Errorf("SMS references %v: want one message ID handed twice", phone.posts)
	}
	phone.mu.Unlock()
}

// TestSendingMarkRules: the handler's rules, command by command: a mark is
// refused while another run's holds and taken over once it has passed; a
// failure reported by a run whose mark was taken over is refused, a
// delivery from it is taken; the mark is cleared by the outcome.
func TestSendingMarkRules(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx := context.Background()
	ids, err := f.svc.Enqueue(ctx, "test", Message{Channel: Webhook, To: "robot", Kind: KindVisitArrived, Subject: "arrived"})
	if err != nil {
		t.Fatal(err)
	}
	id, t0 := ids[0], f.clk.Now()
	a, b := store.NewID(t0), store.NewID(t0.Add(time.Nanosecond))
	mark := func(lease string, at time.Time) error {
		_, err := store.Issue(ctx, f.st, CmdSending, WorkerActor, at, sendingPayload{ID: id,
			Mark: Mark{Lease: lease, Attempt: 1, At: at.UnixNano(), Until: at.Add(time.Minute).UnixNano()}})
		return err
	}
	outcome := func(typ, lease string, at time.Time) error {
		p := attemptPayload{ID: id, Attempt: 1, Lease: lease, Error: "x", Next: at.Add(time.Hour).UnixNano()}
		_, err := store.Issue(ctx, f.st, typ, WorkerActor, at, p)
		return err
	}
	steps := []struct {
		what string
		err  error
	}{
		{"a marks", mark(a, t0)},
		{"b marks while a's holds", mark(b, t0.Add(59*time.Second))},
		{"a renews its own", mark(a, t0.Add(time.Second))},
		{"b marks once a's passed", mark(b, t0.Add(61*time.Second))},
		{"a reports a failure", outcome(CmdFailed, a, t0.Add(62*time.Second))},
		{"a reports a delivery", outcome(CmdDelivered, a, t0.Add(63*time.Second))},
		{"b reports a delivery", outcome(CmdDelivered, b, t0.Add(64*time.Second))},
	}
	want := []error{nil, ErrState, nil, nil, ErrState, nil, ErrState}
	for i, s := range steps {
		if !errors.Is(s.err, want[i]) || (want[i] == nil) != (s.err == nil) {
			t.Errorf("%s: %v, want %v", s.what, s.err, want[i])
		}
	}
	if rec := f.get(t, id); rec.State != Delivered || rec.Sending != nil || rec.Resent != 1 {
		t.Errorf("at the end: %s, mark %+v, resent %d", rec.State, rec.Sending, rec.Resent)
	}
}
