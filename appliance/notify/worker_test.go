package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/appliance/store"
)

// counter is a webhook receiver (and an SMS channel) that counts what it
// is given per message ID.
type counter struct {
	mu    sync.Mutex
	posts map[string]int
	total int
}

func (c *counter) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.posts == nil {
		c.posts = map[string]int{}
	}
	c.posts[id]++
	c.total++
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p GenericPayload
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &p); err != nil || p.ID == "" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	c.add(p.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (c *counter) Send(_ context.Context, m Message) error {
	c.add(m.ID)
	return nil
}

// errorCount counts the records logged at error level.
type errorCount struct{ n atomic.Int32 }

func (e *errorCount) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (e *errorCount) Handle(context.Context, slog.Record) error    { e.n.Add(1); return nil }
func (e *errorCount) WithAttrs([]slog.Attr) slog.Handler           { return e }
func (e *errorCount) WithGroup(string) slog.Handler                { return e }

// TestEachMessageIsAttemptedOnce: messages queued from several goroutines
// while the worker runs, on several lanes at once, reach their receivers
// once each. A worker that read the outbox before it looked at what was
// under way sent a message that had just been delivered a second time.
func TestEachMessageIsAttemptedOnce(t *testing.T) {
	const hooks, perHook, sms, queuers = 6, 50, 100, 6
	f := newFixture(t, Backoff{})
	errs := &errorCount{}
	f.svc.log = slog.New(errs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	recv := &counter{}
	ts := httptest.NewServer(recv)
	defer ts.Close()
	var set Settings
	for i := range hooks {
		set.Webhooks = append(set.Webhooks, Hook{Name: fmt.Sprint("hook", i), Kind: Generic, URL: ts.URL})
	}
	if err := f.svc.SaveSettings(ctx, "test", set); err != nil {
		t.Fatal(err)
	}
	phone := &counter{}
	w := NewWorker(f.svc, WorkerOptions{Parallel: 16, Channels: map[ChannelName]Channel{SMS: phone}})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	group := store.NewID(f.clk.Now())
	var ms []Message
	for i := range hooks * perHook {
		ms = append(ms, Message{Channel: Webhook, To: fmt.Sprint("hook", i%hooks), Kind: KindVisitArrived, Subject: "arrived", Group: group})
	}
	for range sms {
		ms = append(ms, Message{Channel: SMS, To: "13800138000", Kind: KindVisitApproved, Subject: "approved", Group: group})
	}
	var (
		mu  sync.Mutex
		ids = map[string]ChannelName{}
		wg  sync.WaitGroup
	)
	for q := range queuers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := q; i < len(ms); i += queuers {
				got, err := f.svc.Enqueue(ctx, "test", ms[i])
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids[got[0]] = ms[i].Channel
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	waitFor(t, "every message to be delivered", func() bool {
		var tot Totals
		_ = f.st.View(func(r *store.Reader) error { var err error; tot, _, err = GroupTotals(r, group); return err })
		return tot.Delivered == len(ms)
	})
	cancel() // Run returns once the attempts under way have ended
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	for name, c := range map[ChannelName]*counter{Webhook: recv, SMS: phone} {
		want := 0
		for id, ch := range ids {
			if ch != name {
				continue
			}
			want++
			if n := c.posts[id]; n != 1 {
				t.Errorf("%s message %s sent %d times", name, id, n)
			}
		}
		if c.total != want || len(c.posts) != want {
			t.Errorf("%s: %d sends of %d messages, want %d of %d", name, c.total, len(c.posts), want, want)
		}
	}
	if n := errs.n.Load(); n != 0 {
		t.Errorf("%d errors logged (an attempt on a delivered message?)", n)
	}
}

// slowReader is the store with a way to hold one reader back after its
// snapshot is open: the worker reading the outbox at the worst moment.
type slowReader struct {
	*store.Store
	pause     atomic.Pointer[func()] // run once, inside the next View, before its callback
	paused    chan struct{}          // closed when the held View has returned
	delivered chan struct{}          // closed once a notify.delivered command is applied
	once      sync.Once
}

func (d *slowReader) View(fn func(*store.Reader) error) error {
	p := d.pause.Swap(nil)
	if p != nil {
		defer close(d.paused)
	}
	return d.Store.View(func(r *store.Reader) error {
		if p != nil {
			(*p)()
		}
		return fn(r)
	})
}

func (d *slowReader) Apply(ctx context.Context, cmd store.Command) (store.Result, error) {
	res, err := d.Store.Apply(ctx, cmd)
	if err == nil && cmd.Type == CmdDelivered {
		d.once.Do(func() { close(d.delivered) })
	}
	return res, err
}

// TestDeliveredMessageIsNotSentAgainFromAnOlderSnapshot: the worker reads
// the outbox while an attempt is under way, and the attempt is recorded
// and ends before the reader gets to look at what is under way. The
// message is delivered in the store but due in the reader's snapshot: it
// must not be sent again.
func TestDeliveredMessageIsNotSentAgainFromAnOlderSnapshot(t *testing.T) {
	f := newFixture(t, Backoff{})
	db := &slowReader{Store: f.st, paused: make(chan struct{}), delivered: make(chan struct{})}
	svc := New(db, f.clk, f.svc.keys, Options{Log: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	opened := make(chan struct{})
	var sends atomic.Int32
	phone := channelFunc(func(ctx context.Context, m Message) error {
		if sends.Add(1) > 1 {
			return nil
		}
		// The first attempt: have the worker open a snapshot now, and hold
		// it until this attempt has been recorded and has had time to end.
		pause := func() {
			close(opened)
			<-db.delivered
			time.Sleep(50 * time.Millisecond)
		}
		db.pause.Store(&pause)
		svc.ring()
		select {
		case <-opened:
		case <-ctx.Done():
		}
		return nil
	})
	w := NewWorker(svc, WorkerOptions{Retention: -1, Channels: map[ChannelName]Channel{SMS: phone}})
	ids, err := svc.Enqueue(ctx, "test", Message{Channel: SMS, To: "13800138000", Kind: KindVisitApproved, Subject: "approved"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case <-db.paused:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker never read the outbox during the attempt")
	}
	// Run finishes the dispatch it is in, and waits for what it started.
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := sends.Load(); n != 1 {
		t.Errorf("message sent %d times, want once", n)
	}
	if rec, err := svc.Get(ids[0]); err != nil || rec.State != Delivered || rec.Attempts != 1 {
		t.Errorf("record %+v %v, want delivered on the first attempt", rec, err)
	}
}

// TestWebhooksAndEmailCarryTheMessageID: every webhook request, robots
// included, and every email names its message, the same on every attempt,
// so that a receiver can drop a repeat.
func TestWebhooksAndEmailCarryTheMessageID(t *testing.T) {
	f := newFixture(t, Backoff{Base: time.Minute, Cap: time.Minute, MaxAttempts: 3})
	ctx := context.Background()
	var down atomic.Bool
	down.Store(true)
	var mu sync.Mutex
	var got []seen
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{path: r.URL.Path, header: r.Header.Clone(), body: b})
		mu.Unlock()
		if down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		io.WriteString(w, `{"errcode":0,"code":0}`)
	}))
	defer ts.Close()
	box := &mailbox{}
	startMailbox(t, box, nil)
	set := Settings{SMTP: smtpSettings(t, box.addr)}
	for _, k := range HookKinds {
		set.Webhooks = append(set.Webhooks, Hook{Name: string(k), Kind: k, URL: ts.URL + "/" + string(k), Secret: "s3cret"})
	}
	if err := f.svc.SaveSettings(ctx, "admin", set); err != nil {
		t.Fatal(err)
	}
	n := Note{Kind: KindVisitArrived, Subject: "arrived"}
	if err := f.svc.Broadcast(ctx, "test", n); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Tell(ctx, "test", Recipient{Email: "host@example.com"}, n); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{} // recipient: message ID
	ob, err := f.svc.Outbox(20)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range ob.Recent {
		ids[rec.Recipient()] = rec.ID
	}
	w := NewWorker(f.svc, WorkerOptions{})
	if _, err := w.RunOnce(ctx); err != nil { // the webhooks fail
		t.Fatal(err)
	}
	down.Store(false)
	f.clk.Advance(time.Minute)
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2*len(HookKinds) {
		t.Fatalf("%d webhook requests, want two for each of %d webhooks", len(got), len(HookKinds))
	}
	for _, r := range got {
		name := r.path[1:]
		id := ids[name]
		if key := r.header.Get("Idempotency-Key"); id == "" || key != `"`+id+`"` {
			t.Errorf("%s: Idempotency-Key %q, want the message ID %q quoted", name, key, id)
		}
		if HookKind(name) != Generic {
			continue
		}
		var p GenericPayload
		if err := json.Unmarshal(r.body, &p); err != nil || p.ID != id {
			t.Errorf("generic body %s: id %q, want %q (%v)", r.body, p.ID, id, err)
		}
		if r.header.Get(DeliveryHeader) != id || r.header.Get(SignatureHeader) != Sign("s3cret", r.body) {
			t.Errorf("generic headers %v", r.header)
		}
	}
	mail := box.received()
	if len(mail) != 1 {
		t.Fatalf("%d emails", len(mail))
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(mail[0].data))
	if err != nil {
		t.Fatal(err)
	}
	if id, want := msg.Header.Get("Message-ID"), "<"+ids["h***@example.com"]+".notify@lobby.example.com>"; id != want {
		t.Errorf("Message-ID %q, want %q", id, want)
	}
}
