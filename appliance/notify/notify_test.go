package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

type fixture struct {
	st  *store.Store
	svc *Service
	clk *clock.Fake
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newFixture(t *testing.T, b Backoff) *fixture {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	Register(st)
	keys, err := secret.FromMaster(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	return &fixture{st: st, clk: clk, svc: New(st, clk, keys, Options{Backoff: b, Log: quiet})}
}

func (f *fixture) get(t *testing.T, id string) Record {
	t.Helper()
	rec, err := f.svc.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// raw returns every key and value of the store, for checks that personal
// data is not in it in clear.
func (f *fixture) raw(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	err := f.st.View(func(r *store.Reader) error {
		for k := 0; k < 256; k++ {
			err := r.Scan([]byte{byte(k)}, store.ScanOptions{}, func(key, val []byte) (bool, error) {
				b.Write(key)
				b.Write(val)
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestEnqueueSealsWhatMayBePersonal(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx := context.Background()
	account := store.NewID(f.clk.Now())
	ids, err := f.svc.Enqueue(ctx, "account:x",
		Message{Channel: InPage, To: account, Kind: KindVisitRequested, Subject: "访客张伟申请来访", Body: "手机 13912345678", Link: "/v/secret-link-token"},
		Message{Channel: Email, To: "王先生 <wang.host@example.com>", Kind: KindVisitRequested, Subject: "Visitor Zhang Wei", Body: "Please sign off."},
		Message{Channel: SMS, To: "13912345678", Kind: KindVisitApproved, Subject: "Your visit is approved"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Fatalf("ids = %v", ids)
	}
	raw := f.raw(t)
	for _, clear := range []string{"张伟", "13912345678", "wang.host", "secret-link-token", "Zhang Wei", "sign off"} {
		if strings.Contains(raw, clear) {
			t.Errorf("store holds %q in clear", clear)
		}
	}
	tests := []struct {
		id                  string
		channel             ChannelName
		recipient, toOpened string
	}{
		{ids[0], InPage, account, account},
		{ids[1], Email, "w***@example.com", "王先生 <wang.host@example.com>"},
		{ids[2], SMS, "139****5678", "13912345678"},
	}
	for _, tc := range tests {
		rec := f.get(t, tc.id)
		if rec.State != Pending || rec.Attempts != 0 || rec.Due != f.clk.Now().UnixNano() || rec.By != "account:x" {
			t.Errorf("%s: record %+v", tc.channel, rec)
		}
		if rec.Recipient() != tc.recipient {
			t.Errorf("%s: recipient shown as %q, want %q", tc.channel, rec.Recipient(), tc.recipient)
		}
		m, err := f.svc.Open(rec)
		if err != nil {
			t.Fatal(err)
		}
		if m.To != tc.toOpened {
			t.Errorf("%s: opened To = %q, want %q", tc.channel, m.To, tc.toOpened)
		}
	}
	m, _ := f.svc.Open(f.get(t, ids[0]))
	if m.Subject != "访客张伟申请来访" || m.Body != "手机 13912345678" || m.Link != "/v/secret-link-token" {
		t.Errorf("opened message %+v", m)
	}
	// The audit trail names kinds and channels only.
	err = f.st.View(func(r *store.Reader) error {
		es, err := store.AuditPage(r, 0, 100)
		for _, e := range es {
			if strings.Contains(e.Note+e.Subject, "1391") || strings.Contains(e.Note+e.Subject, "@") {
				t.Errorf("audit entry %+v names the recipient", e)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEnqueueRefusesBadMessages(t *testing.T) {
	f := newFixture(t, Backoff{})
	account := store.NewID(f.clk.Now())
	ok := Message{Channel: InPage, To: account, Kind: "visit.requested", Subject: "s"}
	with := func(change func(*Message)) Message { m := ok; change(&m); return m }
	tests := []struct {
		name  string
		m     Message
		field string
		code  string
	}{
		{"unknown channel", with(func(m *Message) { m.Channel = "pigeon" }), "channel", "invalid"},
		{"in-page to a non-account", with(func(m *Message) { m.To = "bob" }), "to", "invalid"},
		{"email to a non-address", with(func(m *Message) { m.Channel, m.To = Email, "not an address" }), "to", "invalid_email"},
		{"email header injection", with(func(m *Message) { m.Channel, m.To = Email, "a@b.c\r\nBcc: x@y.z" }), "to", "invalid_email"},
		{"sms to letters", with(func(m *Message) { m.Channel, m.To = SMS, "call me" }), "to", "invalid_phone"},
		{"webhook without a name", with(func(m *Message) { m.Channel, m.To = Webhook, "" }), "to", "required"},
		{"kind with spaces", with(func(m *Message) { m.Kind = "visit requested" }), "kind", "invalid"},
		{"no subject", with(func(m *Message) { m.Subject = " " }), "subject", "required"},
		{"subject with a newline", with(func(m *Message) { m.Subject = "a\r\nBcc: x@y.z" }), "subject", "bad_characters"},
		{"body too long", with(func(m *Message) { m.Body = strings.Repeat("长", MaxBody+1) }), "body", "too_long"},
		{"link to another scheme", with(func(m *Message) { m.Link = "javascript:alert(1)" }), "link", "invalid_url"},
		{"link protocol-relative", with(func(m *Message) { m.Link = "//evil.example/x" }), "link", "invalid_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Enqueue(context.Background(), "test", ok, tc.m)
			es, isField := field.As(err)
			if !isField {
				t.Fatalf("err = %v, want field errors", err)
			}
			e := es.For(tc.field)
			if e.Code != tc.code || e.Line != 2 {
				t.Errorf("errors %v, want %s: %s on line 2", es, tc.field, tc.code)
			}
		})
	}
	var n int
	_ = f.st.View(func(r *store.Reader) error {
		recs, err := Recent(r, 10)
		n = len(recs)
		return err
	})
	if n != 0 {
		t.Errorf("%d messages queued from refused batches, want 0", n)
	}
}

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	b := Backoff{Base: 30 * time.Second, Cap: 5 * time.Minute, MaxAttempts: 8}
	tests := []struct {
		attempt int
		want    time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {4, 4 * time.Minute}, {5, 5 * time.Minute}, {60, 5 * time.Minute}}
	for _, tc := range tests {
		if got := b.Delay(tc.attempt); got != tc.want {
			t.Errorf("Delay(%d) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
}

// flaky is a webhook endpoint that fails a given number of times first.
type flaky struct {
	fails int32
	hits  atomic.Int32
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.hits.Add(1) <= f.fails {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fixture) saveHook(t *testing.T, name, url string) {
	t.Helper()
	err := f.svc.SaveSettings(context.Background(), "test", Settings{Webhooks: []Hook{{Name: name, Kind: Generic, URL: url}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWebhookFailingTwiceIsDeliveredOnTheThirdAttempt(t *testing.T) {
	f := newFixture(t, Backoff{Base: 30 * time.Second, Cap: 10 * time.Minute, MaxAttempts: 5})
	ctx := context.Background()
	ep := &flaky{fails: 2}
	ts := httptest.NewServer(ep)
	defer ts.Close()
	f.saveHook(t, "desk", ts.URL)
	ids, err := f.svc.Enqueue(ctx, "test", Message{Channel: Webhook, To: "desk", Kind: KindVisitArrived, Subject: "arrived"})
	if err != nil {
		t.Fatal(err)
	}
	w := NewWorker(f.svc, WorkerOptions{})
	// Each step: move the clock, run the worker once, and look at the record.
	steps := []struct {
		advance      time.Duration
		wantAttempts int // attempts the worker makes now
		wantState    State
		wantTries    int
		wantNextIn   time.Duration // from now, while pending
	}{
		{0, 1, Pending, 1, 30 * time.Second},
		{29 * time.Second, 0, Pending, 1, time.Second}, // not due yet
		{time.Second, 1, Pending, 2, time.Minute},
		{59 * time.Second, 0, Pending, 2, time.Second},
		{time.Second, 1, Delivered, 3, 0},
		{time.Hour, 0, Delivered, 3, 0},
	}
	for i, s := range steps {
		f.clk.Advance(s.advance)
		n, err := w.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rec := f.get(t, ids[0])
		if n != s.wantAttempts || rec.State != s.wantState || rec.Attempts != s.wantTries {
			t.Fatalf("step %d: %d attempts, record %s after %d; want %d, %s after %d", i, n, rec.State, rec.Attempts, s.wantAttempts, s.wantState, s.wantTries)
		}
		if s.wantState == Pending {
			if got := time.Unix(0, rec.Due).Sub(f.clk.Now()); got != s.wantNextIn {
				t.Errorf("step %d: next attempt in %v, want %v", i, got, s.wantNextIn)
			}
			if rec.LastError != "webhook: HTTP 500" {
				t.Errorf("step %d: last error %q", i, rec.LastError)
			}
		}
	}
	if got := ep.hits.Load(); got != 3 {
		t.Errorf("endpoint hit %d times, want 3", got)
	}
}

func TestMessageDiesAfterMaxAttemptsAndCanBeRetried(t *testing.T) {
	f := newFixture(t, Backoff{Base: time.Minute, Cap: time.Minute, MaxAttempts: 3})
	ctx := context.Background()
	ep := &flaky{fails: 1000}
	ts := httptest.NewServer(ep)
	defer ts.Close()
	f.saveHook(t, "desk", ts.URL)
	ids, err := f.svc.Enqueue(ctx, "test", Message{Channel: Webhook, To: "desk", Kind: KindVisitArrived, Subject: "arrived"})
	if err != nil {
		t.Fatal(err)
	}
	w := NewWorker(f.svc, WorkerOptions{})
	for range 5 {
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Minute)
	}
	rec := f.get(t, ids[0])
	if rec.State != Dead || rec.Attempts != 3 || rec.LastError != "webhook: HTTP 500" {
		t.Fatalf("record %+v, want dead after 3 attempts", rec)
	}
	if ep.hits.Load() != 3 {
		t.Errorf("endpoint hit %d times, want 3", ep.hits.Load())
	}
	ob, err := f.svc.Outbox(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ob.Dead) != 1 || ob.Dead[0].ID != ids[0] || len(ob.Retrying) != 0 {
		t.Errorf("outbox %+v", ob)
	}
	// The administrator fixes the endpoint and retries.
	ep.fails = 0
	if err := f.svc.Retry(ctx, "admin", ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Retry(ctx, "admin", ids[0]); !errors.Is(err, ErrState) {
		t.Errorf("second retry of a pending message: %v, want ErrState", err)
	}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if rec := f.get(t, ids[0]); rec.State != Delivered {
		t.Errorf("after retry: %+v", rec)
	}
	if err := f.svc.Retry(ctx, "admin", store.NewID(f.clk.Now())); !errors.Is(err, ErrNotFound) {
		t.Errorf("retry of an unknown message: %v", err)
	}
}

func TestPermanentFailureAndMissingChannel(t *testing.T) {
	f := newFixture(t, Backoff{Base: time.Minute, Cap: time.Minute, MaxAttempts: 5})
	ctx := context.Background()
	ids, err := f.svc.Enqueue(ctx, "test",
		Message{Channel: Webhook, To: "nobody", Kind: KindTest, Subject: "x"},
		Message{Channel: SMS, To: "13800138000", Kind: KindTest, Subject: "x"},
		Message{Channel: Email, To: "a@example.com", Kind: KindTest, Subject: "x"},
	)
	if err != nil {
		t.Fatal(err)
	}
	perm := channelFunc(func(context.Context, Message) error { return &SendError{Reason: "smtp RCPT: 550", Permanent: true} })
	w := NewWorker(f.svc, WorkerOptions{Channels: map[ChannelName]Channel{Email: perm}})
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id    string
		state State
		err   string
	}{
		{ids[0], Pending, "no webhook of this name"}, // the administrator may add it: retried
		{ids[1], Pending, "no SMS modem"},
		{ids[2], Dead, "smtp RCPT: 550"}, // retrying cannot help
	}
	for _, tc := range tests {
		if rec := f.get(t, tc.id); rec.State != tc.state || rec.LastError != tc.err {
			t.Errorf("record %s %s %q, want %s %q", rec.Channel, rec.State, rec.LastError, tc.state, tc.err)
		}
	}
}

type channelFunc func(context.Context, Message) error

func (f channelFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// TestFailingChannelBlocksNeitherEnqueueNorOtherChannels: a webhook that
// hangs holds its own attempt, not the caller of Enqueue, and not the
// in-page message queued after it.
func TestFailingChannelBlocksNeitherEnqueueNorOtherChannels(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	var started sync.Once
	hanging := make(chan struct{})
	stuck := channelFunc(func(ctx context.Context, m Message) error {
		started.Do(func() { close(hanging) })
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	w := NewWorker(f.svc, WorkerOptions{Channels: map[ChannelName]Channel{Webhook: stuck}, Timeout: time.Hour, Parallel: 2})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		close(release)
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	if _, err := f.svc.Enqueue(ctx, "test", Message{Channel: Webhook, To: "desk", Kind: KindTest, Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the webhook attempt to start", func() bool {
		select {
		case <-hanging:
			return true
		default:
			return false
		}
	})
	account := store.NewID(f.clk.Now())
	sub := f.svc.Hub().Subscribe(account)
	defer sub.Close()
	enq := make(chan error, 1)
	go func() {
		var err error
		for range 20 {
			if _, err = f.svc.Enqueue(ctx, "test", Message{Channel: Webhook, To: "desk", Kind: KindTest, Subject: "more"}); err != nil {
				break
			}
		}
		if err == nil {
			_, err = f.svc.Enqueue(ctx, "test", Message{Channel: InPage, To: account, Kind: KindVisitArrived, Subject: "访客已到达"})
		}
		enq <- err
	}()
	select {
	case err := <-enq:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Enqueue blocked behind a hanging channel")
	}
	select {
	case m := <-sub.C:
		if m.Subject != "访客已到达" {
			t.Errorf("in-page message %+v", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("in-page message held up behind a hanging webhook")
	}
}

func TestAttemptIsCutAtTheTimeout(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx := context.Background()
	hang := channelFunc(func(ctx context.Context, m Message) error { <-ctx.Done(); return ctx.Err() })
	w := NewWorker(f.svc, WorkerOptions{Channels: map[ChannelName]Channel{Webhook: hang}, Timeout: 10 * time.Millisecond})
	ids, err := f.svc.Enqueue(ctx, "test", Message{Channel: Webhook, To: "desk", Kind: KindTest, Subject: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if rec := f.get(t, ids[0]); rec.State != Pending || rec.Attempts != 1 || rec.LastError != "timeout" {
		t.Errorf("record %+v, want a failed attempt for timeout", rec)
	}
}

func TestSettingsAreSealedAndSecretsKept(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx := context.Background()
	in := Settings{
		BaseURL: "https://lobby.example.com/",
		SMTP:    SMTP{Host: "smtp.example.com", Port: 587, Username: "desk", Password: "smtp-pass-123", From: "desk@example.com", FromName: "大堂前台"},
		Webhooks: []Hook{
			{Name: "保安群", Kind: DingTalk, URL: "https://oapi.dingtalk.com/robot/send?access_token=tok-abc", Secret: "SECdingsecret"},
			{Name: "crm", Kind: Generic, URL: "https://crm.example.com/hook", Secret: "crm-secret", Kinds: []string{KindVisitArrived}},
		},
	}
	if err := f.svc.SaveSettings(ctx, "admin", in); err != nil {
		t.Fatal(err)
	}
	raw := f.raw(t)
	for _, s := range []string{"smtp-pass-123", "tok-abc", "SECdingsecret", "crm-secret"} {
		if strings.Contains(raw, s) {
			t.Errorf("store holds %q in clear", s)
		}
	}
	got, err := f.svc.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if got.BaseURL != "https://lobby.example.com" || got.SMTP.Password != "smtp-pass-123" || got.Webhooks[0].Secret != "SECdingsecret" ||
		got.Webhooks[0].URL != in.Webhooks[0].URL || !got.Webhooks[1].Wants(KindVisitArrived) || got.Webhooks[1].Wants(KindVisitRequested) {
		t.Fatalf("settings read back %+v", got)
	}
	// The page sends blanks for secrets: they are kept, also across a rename.
	edit := got
	edit.SMTP.Password = ""
	edit.Webhooks = []Hook{
		{Name: "guards", Was: "保安群", Kind: DingTalk, URL: in.Webhooks[0].URL},
		{Name: "crm", Was: "crm", Kind: Generic, URL: in.Webhooks[1].URL, ClearSecret: true},
	}
	if err := f.svc.SaveSettings(ctx, "admin", edit); err != nil {
		t.Fatal(err)
	}
	got, _ = f.svc.Settings()
	if got.SMTP.Password != "smtp-pass-123" || got.Webhooks[0].Secret != "SECdingsecret" || got.Webhooks[1].Secret != "" {
		t.Errorf("after a blank edit: %+v", got)
	}
	edit.SMTP.ClearPassword = true
	if err := f.svc.SaveSettings(ctx, "admin", edit); err != nil {
		t.Fatal(err)
	}
	if got, _ = f.svc.Settings(); got.SMTP.Password != "" {
		t.Errorf("password not cleared")
	}
}

func TestSettingsCheck(t *testing.T) {
	good := func() Settings {
		return Settings{SMTP: SMTP{Host: "smtp.example.com", Port: 25, From: "desk@example.com"},
			Webhooks: []Hook{{Name: "a", Kind: WeCom, URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}}}
	}
	tests := []struct {
		name   string
		change func(*Settings)
		field  string
		code   string
	}{
		{"fine", func(*Settings) {}, "", ""},
		{"email off", func(s *Settings) { s.SMTP = SMTP{} }, "", ""},
		{"base url not http", func(s *Settings) { s.BaseURL = "ftp://x" }, "base_url", "invalid_url"},
		{"bad host", func(s *Settings) { s.SMTP.Host = "smtp example" }, "smtp_host", "invalid"},
		{"no port", func(s *Settings) { s.SMTP.Port = 0 }, "smtp_port", "required"},
		{"port too big", func(s *Settings) { s.SMTP.Port = 70000 }, "smtp_port", "out_of_range"},
		{"no from", func(s *Settings) { s.SMTP.From = "" }, "smtp_from", "required"},
		{"from with a name", func(s *Settings) { s.SMTP.From = "Desk <desk@example.com>" }, "smtp_from", "invalid_email"},
		{"password with a newline", func(s *Settings) { s.SMTP.Password = "a\nb" }, "smtp_password", "bad_characters"},
		{"webhook without name", func(s *Settings) { s.Webhooks[0].Name = "" }, "wh_name_0", "required"},
		{"webhook names twice", func(s *Settings) { s.Webhooks = append(s.Webhooks, s.Webhooks[0]) }, "wh_name_1", "duplicate"},
		{"webhook kind", func(s *Settings) { s.Webhooks[0].Kind = "slack" }, "wh_kind_0", "invalid"},
		{"webhook url", func(s *Settings) { s.Webhooks[0].URL = "file:///etc/passwd" }, "wh_url_0", "invalid_url"},
		{"webhook without url", func(s *Settings) { s.Webhooks[0].URL = "" }, "wh_url_0", "required"},
		{"webhook kinds", func(s *Settings) { s.Webhooks[0].Kinds = []string{"visit.exploded"} }, "wh_kinds_0", "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.change(&s)
			es := s.Check()
			if tc.field == "" {
				if len(es) > 0 {
					t.Fatalf("errors %v", es)
				}
				return
			}
			if es.For(tc.field).Code != tc.code {
				t.Errorf("errors %v, want %s: %s", es, tc.field, tc.code)
			}
		})
	}
}

func TestTellAndBroadcastPickChannels(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx := context.Background()
	account := store.NewID(f.clk.Now())
	to := Recipient{AccountID: account, Email: "host@example.com", Phone: "13800138000"}
	n := Note{Kind: KindVisitRequested, Subject: "访客申请", Body: "b", Link: "/host/visits"}
	f.svc.EnableSMS(true) // a modem is attached
	count := func() map[ChannelName]int {
		out := map[ChannelName]int{}
		_ = f.st.View(func(r *store.Reader) error {
			recs, err := Recent(r, 100)
			for _, rec := range recs {
				out[rec.Channel]++
			}
			return err
		})
		return out
	}
	// Without email settings, no email is queued.
	if err := f.svc.Tell(ctx, "test", to, n); err != nil {
		t.Fatal(err)
	}
	if c := count(); c[InPage] != 1 || c[Email] != 0 || c[SMS] != 1 {
		t.Errorf("queued %v", c)
	}
	err := f.svc.SaveSettings(ctx, "admin", Settings{SMTP: SMTP{Host: "smtp.example.com", Port: 25, From: "desk@example.com"},
		Webhooks: []Hook{
			{Name: "all", Kind: WeCom, URL: "https://example.com/a"},
			{Name: "arrivals", Kind: Feishu, URL: "https://example.com/b", Kinds: []string{KindVisitArrived}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Tell(ctx, "test", to, n); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Broadcast(ctx, "test", n); err != nil {
		t.Fatal(err)
	}
	if c := count(); c[InPage] != 2 || c[Email] != 1 || c[SMS] != 2 || c[Webhook] != 1 {
		t.Errorf("queued %v", c)
	}
	if err := f.svc.Tell(ctx, "test", Recipient{}, n); err != nil {
		t.Errorf("telling nobody: %v", err)
	}
	f.svc.EnableSMS(false) // no modem: no SMS queued
	if err := f.svc.Tell(ctx, "test", to, n); err != nil {
		t.Fatal(err)
	}
	if c := count(); c[SMS] != 2 || c[InPage] != 3 {
		t.Errorf("queued %v without a modem", c)
	}
}

// TestOwnLinkGoesOnlyToThePersonsOwnChannels: a recipient's own link (a
// visitor's status page) replaces the note's link on their email and
// SMS; their page, and the webhooks, get the note's link.
func TestOwnLinkGoesOnlyToThePersonsOwnChannels(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx := context.Background()
	f.svc.EnableSMS(true)
	err := f.svc.SaveSettings(ctx, "admin", Settings{SMTP: SMTP{Host: "smtp.example.com", Port: 25, From: "desk@example.com"},
		Webhooks: []Hook{{Name: "desk", Kind: WeCom, URL: "https://example.com/a"}}})
	if err != nil {
		t.Fatal(err)
	}
	account := store.NewID(f.clk.Now())
	n := Note{Kind: KindVisitApproved, Subject: "访问已确认", Link: "/host/visits"}
	if err := f.svc.Tell(ctx, "test", Recipient{AccountID: account, Email: "v@example.com", Phone: "13800138000", Link: "/v/own-token"}, n); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Broadcast(ctx, "test", n); err != nil {
		t.Fatal(err)
	}
	want := map[ChannelName]string{InPage: "/host/visits", Email: "/v/own-token", SMS: "/v/own-token", Webhook: "/host/visits"}
	ob, err := f.svc.Outbox(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ob.Recent) != len(want) {
		t.Fatalf("%d messages queued, want %d", len(ob.Recent), len(want))
	}
	for _, rec := range ob.Recent {
		m, err := f.svc.Open(rec)
		if err != nil {
			t.Fatal(err)
		}
		if m.Link != want[m.Channel] {
			t.Errorf("%s message links to %q, want %q", m.Channel, m.Link, want[m.Channel])
		}
	}
	// Without an own link, every channel gets the note's.
	ms, err := f.svc.Address(Recipient{Email: "v@example.com", Phone: "13800138000"}, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Link != n.Link {
			t.Errorf("%s message links to %q, want the note's %q", m.Channel, m.Link, n.Link)
		}
	}
}

// TestPrivateLinksAreRefusedWhereOthersRead: a link under a private path
// may go by email or SMS, to one person, but never into a page or to a
// webhook, whoever queues it and however it is spelt.
func TestPrivateLinksAreRefusedWhereOthersRead(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx := context.Background()
	svc := New(f.st, f.clk, f.svc.keys, Options{Log: quiet, PrivatePaths: []string{"/v"}})
	if err := svc.SaveSettings(ctx, "admin", Settings{Webhooks: []Hook{{Name: "desk", Kind: Generic, URL: "https://example.com/a"}}}); err != nil {
		t.Fatal(err)
	}
	account := store.NewID(f.clk.Now())
	tests := []struct {
		ch      ChannelName
		to      string
		link    string
		refused bool
	}{
		{Webhook, "desk", "/v/token", true},
		{Webhook, "desk", "https://lobby.example.com/v/token", true},
		{Webhook, "desk", "/host/../v/token", true},
		{Webhook, "desk", "/%76/token", true},
		{Webhook, "desk", "/v/token/pass.png?x=1", true},
		{InPage, account, "/v/token", true},
		{Webhook, "desk", "/visits", false},
		{Webhook, "desk", "/vx/token", false},
		{Webhook, "desk", "/host/v/token", false},
		{InPage, account, "/host/visits", false},
		{Email, "v@example.com", "/v/token", false},
		{SMS, "13800138000", "https://lobby.example.com/v/token", false},
	}
	for _, tc := range tests {
		_, err := svc.Enqueue(ctx, "test", Message{Channel: tc.ch, To: tc.to, Kind: KindVisitApproved, Subject: "s", Link: tc.link})
		if got := errors.Is(err, ErrPrivateLink); got != tc.refused || (!tc.refused && err != nil) {
			t.Errorf("%s with %q: %v, want refused %t", tc.ch, tc.link, err, tc.refused)
		}
	}
	if err := svc.Broadcast(ctx, "test", Note{Kind: KindVisitApproved, Subject: "s", Link: "/v/token"}); !errors.Is(err, ErrPrivateLink) {
		t.Errorf("Broadcast of a private link: %v, want ErrPrivateLink", err)
	}
	if err := svc.Tell(ctx, "test", Recipient{AccountID: account}, Note{Kind: KindVisitApproved, Subject: "s", Link: "/v/token"}); !errors.Is(err, ErrPrivateLink) {
		t.Errorf("Tell to a page with a private link: %v, want ErrPrivateLink", err)
	}
}

func TestMissedAndPurge(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx := context.Background()
	account, other := store.NewID(f.clk.Now()), store.NewID(f.clk.Now().Add(time.Millisecond))
	var ids []string
	for i := range 3 {
		f.clk.Advance(time.Second)
		got, err := f.svc.Enqueue(ctx, "test", Message{Channel: InPage, To: account, Kind: KindTest, Subject: string(rune('a' + i))},
			Message{Channel: InPage, To: other, Kind: KindTest, Subject: "other"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got[0])
	}
	tests := []struct {
		after string
		want  string
	}{{"", "abc"}, {ids[0], "bc"}, {ids[2], ""}, {"not-an-id", ""}}
	for _, tc := range tests {
		ms, err := f.svc.Missed(account, tc.after, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, m := range ms {
			got += m.Subject
		}
		if got != tc.want {
			t.Errorf("Missed(after %q) = %q, want %q", tc.after, got, tc.want)
		}
	}
	w := NewWorker(f.svc, WorkerOptions{})
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(48 * time.Hour)
	if _, err := f.svc.Enqueue(ctx, "test", Message{Channel: InPage, To: account, Kind: KindTest, Subject: "new"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Purge(ctx, "test", f.clk.Now().Add(-24*time.Hour), 100); err != nil {
		t.Fatal(err)
	}
	ms, err := f.svc.Missed(account, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Subject != "new" {
		t.Errorf("after purge: %+v", ms)
	}
	// Nothing left to purge: no command, no audit entry.
	audit := func() (n uint64) {
		_ = f.st.View(func(r *store.Reader) error { var err error; n, err = store.VerifyAudit(r); return err })
		return n
	}
	before := audit()
	if err := f.svc.Purge(ctx, "test", f.clk.Now().Add(-24*time.Hour), 100); err != nil {
		t.Fatal(err)
	}
	if after := audit(); after != before {
		t.Errorf("an empty purge wrote %d audit entries", after-before)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestIDsKeepTheOrderOfQueueingWithinAMillisecond(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx := context.Background()
	account := store.NewID(f.clk.Now())
	var want []string
	for i := range 30 {
		ids, err := f.svc.Enqueue(ctx, "test", Message{Channel: InPage, To: account, Kind: KindTest, Subject: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		if !store.ValidID(ids[0]) {
			t.Fatalf("ID %q is not a store ID", ids[0])
		}
		want = append(want, ids[0])
	}
	ms, err := f.svc.Missed(account, want[9], 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 20 {
		t.Fatalf("%d messages after the tenth, want 20", len(ms))
	}
	for i, m := range ms {
		if m.ID != want[10+i] {
			t.Fatalf("message %d is %s, want %s", i, m.ID, want[10+i])
		}
	}
}
