package notify

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
)

// sentSMS keeps what the SMS channel was handed.
type sentSMS struct {
	mu sync.Mutex
	ms []Message
}

func (s *sentSMS) Send(_ context.Context, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ms = append(s.ms, m)
	return nil
}

// TestOneLanguagePerReader: a note with its words in each language reaches
// a phone in the recipient's language alone (its SMS wording), reaches the
// page with both so that the page shows its reader's, and keeps them
// sealed. With no base URL set, the SMS link stays a path, and the log
// says so once, naming no one.
func TestOneLanguagePerReader(t *testing.T) {
	f := newFixture(t, Backoff{})
	var logs bytes.Buffer
	f.svc.log = slog.New(slog.NewTextHandler(&logs, nil))
	f.svc.EnableSMS(true)
	ctx := context.Background()
	n := Note{Kind: KindVisitApproved, Subject: "访问已确认 Visit confirmed", Body: "王芳 Maria",
		Langs: map[string]Text{"zh": {Subject: "访问已确认", Body: "王芳，您的访问已确认。", SMS: "王芳，通行码："},
			"en": {Subject: "Visit confirmed", Body: "Maria, your visit is confirmed.", SMS: "Maria, your pass:"}}}
	for _, lang := range []string{"en", "zh"} {
		if err := f.svc.Tell(ctx, "test", Recipient{Phone: "13800138000", Lang: lang, Link: "/v/secret-token"}, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.Tell(ctx, "test", Recipient{AccountID: "0000000000000000", Lang: "en"}, n); err != nil {
		t.Fatal(err)
	}
	if raw := f.raw(t); strings.Contains(raw, "Maria") || strings.Contains(raw, "王芳") {
		t.Fatal("a message's words are in the store in clear")
	}
	phone := &sentSMS{}
	w := NewWorker(f.svc, WorkerOptions{Channels: map[ChannelName]Channel{SMS: phone, InPage: &sentSMS{}}})
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(phone.ms) != 2 {
		t.Fatalf("%d SMS sent, want 2", len(phone.ms))
	}
	// The two go out at once (two SMS lanes), in either order.
	slices.SortFunc(phone.ms, func(a, b Message) int { return strings.Compare(a.Subject, b.Subject) })
	for i, want := range []string{"Maria, your pass:", "王芳，通行码："} {
		if m := phone.ms[i]; m.Subject != want || m.Body != "" || m.Langs != nil || m.Link != "/v/secret-token" {
			t.Errorf("SMS %d = %q / %q / %q (langs %v), want %q alone with its path", i, m.Subject, m.Body, m.Link, m.Langs, want)
		}
	}
	if c := strings.Count(logs.String(), "no base URL set"); c != 1 {
		t.Errorf("the missing base URL was logged %d times, want once:\n%s", c, logs.String())
	}
	if strings.Contains(logs.String(), "13800138000") || strings.Contains(logs.String(), "secret-token") {
		t.Errorf("the log names a recipient or a link:\n%s", logs.String())
	}
	ms, err := f.svc.Missed("0000000000000000", "", 10)
	if err != nil || len(ms) != 1 {
		t.Fatalf("in-page messages: %d, %v", len(ms), err)
	}
	if s, b := ms[0].In("en"); s != "Visit confirmed" || strings.Contains(b, "王芳") {
		t.Errorf("the page reads %q / %q in English", s, b)
	}
	if s, _ := ms[0].In("zh"); s != "访问已确认" {
		t.Errorf("the page reads %q in Chinese", s)
	}
}
