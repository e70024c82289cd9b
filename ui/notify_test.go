package ui

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/notify"
)

// wireNotify gives the harness's server a notification service the way the
// shell does, and a worker to run when a test wants one. (Once
// appliance.Open opens the service itself, take it from h.app instead.)
func wireNotify(t *testing.T, h *harness, b notify.Backoff) (*notify.Service, *notify.Worker) {
	t.Helper()
	// The handlers are registered by appliance.Open; a second service over
	// the same store lets a test choose its backoff.
	svc := notify.New(h.app.Store, h.clock, h.app.Keys, notify.Options{Backoff: b, Log: h.app.Log})
	svc.SetBaseURL(func() string { return h.app.Settings().BaseURL }) // as appliance.Open does
	ts := httptest.NewServer(WithNotify(h.srv.Handler(), svc))
	t.Cleanup(ts.Close)
	h.ts = ts
	return svc, notify.NewWorker(svc, notify.WorkerOptions{})
}

// runWorker runs w until the test ends.
func runWorker(t *testing.T, w *notify.Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

type sseEvent struct{ id, event, data string }

// readEvents parses a server-sent event stream until it ends.
func readEvents(r *bufio.Reader) <-chan sseEvent {
	out := make(chan sseEvent, 16)
	go func() {
		defer close(out)
		var ev sseEvent
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.event != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"): // a comment: heartbeat
			default:
				k, v, _ := strings.Cut(line, ": ")
				switch k {
				case "id":
					ev.id = v
				case "event":
					ev.event = v
				case "data":
					ev.data = v
				}
			}
		}
	}()
	return out
}

func nextEvent(t *testing.T, evs <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-evs:
		if !ok {
			t.Fatal("event stream ended")
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30 s")
	}
	return sseEvent{}
}

func TestEventsStreamsInPageNotifications(t *testing.T) {
	h := newHarness(t)
	// The harness's own booking told the host in the same (fake)
	// millisecond; move on so this test's messages sort after it.
	h.clock.Advance(time.Second)
	svc, w := wireNotify(t, h, notify.Backoff{})
	runWorker(t, w)
	ctx := context.Background()
	host := h.accounts[auth.Host]
	sess := h.session(auth.Host)

	resp := h.do(req{method: "GET", path: "/events", session: sess})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /events = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	evs := readEvents(bufio.NewReader(resp.Body))
	// Another account's message does not reach this page.
	if _, err := svc.Enqueue(ctx, "test", notify.Message{Channel: notify.InPage, To: h.accounts[auth.Reception].ID, Kind: notify.KindTest, Subject: "not for the host"}); err != nil {
		t.Fatal(err)
	}
	ids, err := svc.Enqueue(ctx, "test", notify.Message{Channel: notify.InPage, To: host.ID, Kind: notify.KindVisitRequested,
		Subject: "访客张伟申请来访", Body: "今天 10:00", Link: "/host/visits"})
	if err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, evs)
	var data struct{ Kind, Subject, Body, Link string }
	if err := json.Unmarshal([]byte(ev.data), &data); err != nil {
		t.Fatalf("data %q: %v", ev.data, err)
	}
	if ev.event != "notify" || ev.id != ids[0] || data.Kind != notify.KindVisitRequested || data.Subject != "访客张伟申请来访" ||
		data.Body != "今天 10:00" || data.Link != "/host/visits" {
		t.Errorf("event %+v, data %+v", ev, data)
	}
	waitUntil(t, "the message recorded as delivered", func() bool {
		rec, err := svc.Get(ids[0])
		return err == nil && rec.State == notify.Delivered
	})

	// The page goes: its subscription ends.
	resp.Body.Close()
	waitUntil(t, "the subscription to end", func() bool { return svc.Hub().Subscribers(host.ID) == 0 })

	// Messages queued meanwhile reach the page when it reconnects.
	var missed []string
	for _, s := range []string{"first missed", "second missed"} {
		got, err := svc.Enqueue(ctx, "test", notify.Message{Channel: notify.InPage, To: host.ID, Kind: notify.KindVisitArrived, Subject: s})
		if err != nil {
			t.Fatal(err)
		}
		missed = append(missed, got[0])
	}
	resp = h.do(req{method: "GET", path: "/events", session: sess, header: map[string]string{"Last-Event-ID": ids[0]}})
	evs = readEvents(bufio.NewReader(resp.Body))
	for _, want := range missed {
		if ev := nextEvent(t, evs); ev.id != want {
			t.Errorf("after reconnecting got event %s, want %s", ev.id, want)
		}
	}
}

func TestEventsEndWhenTheServerCloses(t *testing.T) {
	h := newHarness(t)
	wireNotify(t, h, notify.Backoff{})
	resp := h.do(req{method: "GET", path: "/events", session: h.session(auth.Admin)})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /events = %d", resp.StatusCode)
	}
	evs := readEvents(bufio.NewReader(resp.Body))
	h.srv.Close()
	select {
	case _, open := <-evs:
		if open {
			t.Error("an event after the server closed")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("stream still open 30 s after the server closed")
	}
}

func TestEventsNeedsSignIn(t *testing.T) {
	h := newHarness(t)
	wireNotify(t, h, notify.Backoff{})
	if resp := h.do(req{method: "GET", path: "/events"}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous GET /events = %d, want a redirect to sign in", resp.StatusCode)
	}
	resp := h.do(req{method: "GET", path: "/events.js"})
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "EventSource('/events')") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("GET /events.js = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestNotifySettingsForm(t *testing.T) {
	h := newHarness(t)
	svc, _ := wireNotify(t, h, notify.Backoff{})
	admin := h.session(auth.Admin)
	good := url.Values{
		"base_url": {"https://lobby.example.com"}, "smtp_host": {"smtp.example.com"}, "smtp_port": {"587"},
		"smtp_from": {"desk@example.com"}, "smtp_from_name": {"大堂前台"}, "smtp_username": {"desk"}, "smtp_password": {"mail-pass-1"},
		"wh_name_0": {"保安群"}, "wh_kind_0": {"dingtalk"}, "wh_url_0": {"https://oapi.dingtalk.com/robot/send?access_token=t"},
		"wh_secret_0": {"SECsign"}, "wh_kinds_0": {notify.KindVisitArrived, notify.KindVisitRequested},
	}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		f.Set(k, v)
		return f
	}
	tests := []struct {
		name    string
		form    url.Values
		status  int
		errorOn string // the field marked in the page
	}{
		{"bad port", with("smtp_port", "smtp"), 422, "smtp_port"},
		{"bad sender", with("smtp_from", "desk at example"), 422, "smtp_from"},
		{"webhook without address", with("wh_url_0", ""), 422, "wh_url_0"},
		{"webhook of an unknown type", with("wh_kind_0", "slack"), 422, "wh_kind_0"},
		{"fine", good, 303, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(req{method: "POST", path: "/admin/notify", session: admin, form: tc.form})
			body := readBody(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.errorOn != "" && !strings.Contains(body, `id="e-`+tc.errorOn+`"`) {
				t.Errorf("no error shown at %s", tc.errorOn)
			}
			if strings.Contains(body, "mail-pass-1") || strings.Contains(body, "SECsign") {
				t.Error("the page shows a password or secret")
			}
		})
	}
	set, err := svc.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if set.SMTP.Port != 587 || set.SMTP.Password != "mail-pass-1" || len(set.Webhooks) != 1 || set.Webhooks[0].Secret != "SECsign" ||
		len(set.Webhooks[0].Kinds) != 2 {
		t.Fatalf("saved %+v", set)
	}
	// The base URL is a site setting now: a base_url sent here changes nothing.
	if set.BaseURL != "" || h.app.Settings().BaseURL != "" {
		t.Fatalf("the notification form set the base URL: %q", set.BaseURL)
	}
	// The page shows the settings without the secrets; saving it as shown
	// keeps them.
	resp := h.do(req{method: "GET", path: "/admin/notify", session: admin})
	body := readBody(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, "smtp.example.com") || !strings.Contains(body, `value="保安群"`) {
		t.Fatalf("page %d", resp.StatusCode)
	}
	if strings.Contains(body, "mail-pass-1") || strings.Contains(body, "SECsign") {
		t.Error("the page shows a password or secret")
	}
	again := with("smtp_password", "")
	again.Set("wh_secret_0", "")
	again.Set("wh_was_0", "保安群")
	again.Set("wh_name_0", "guards")
	again.Set("wh_name_1", "crm")
	again.Set("wh_kind_1", "generic")
	again.Set("wh_url_1", "https://crm.example.com/hook")
	if resp := h.do(req{method: "POST", path: "/admin/notify", session: admin, form: again}); resp.StatusCode != 303 {
		t.Fatalf("save as shown: %d %s", resp.StatusCode, readBody(t, resp))
	}
	set, _ = svc.Settings()
	if set.SMTP.Password != "mail-pass-1" || len(set.Webhooks) != 2 || set.Webhooks[0].Name != "guards" || set.Webhooks[0].Secret != "SECsign" {
		t.Errorf("after saving as shown: %+v", set)
	}
}

func TestNotifyDeadMessageShownAndRetried(t *testing.T) {
	h := newHarness(t)
	svc, w := wireNotify(t, h, notify.Backoff{Base: time.Minute, Cap: time.Minute, MaxAttempts: 2})
	ctx := context.Background()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusBadGateway) }))
	defer down.Close()
	if err := svc.SaveSettings(ctx, "test", notify.Settings{Webhooks: []notify.Hook{{Name: "desk", Kind: notify.Generic, URL: down.URL}}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Broadcast(ctx, "test", notify.Note{Kind: notify.KindVisitArrived, Subject: "张伟已到达"}); err != nil {
		t.Fatal(err)
	}
	admin := h.session(auth.Admin)
	for i := range 2 {
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Minute)
		page := readBody(t, h.do(req{method: "GET", path: "/admin/notify", session: admin}))
		if !strings.Contains(page, `id="outbox-attention"`) || !strings.Contains(page, "webhook: HTTP 502") {
			t.Fatalf("after attempt %d the failure is not shown", i+1)
		}
	}
	ob, _ := svc.Outbox(10)
	if len(ob.Dead) != 1 {
		t.Fatalf("outbox %+v", ob)
	}
	id := ob.Dead[0].ID
	page := readBody(t, h.do(req{method: "GET", path: "/admin/notify", session: admin}))
	if !strings.Contains(page, `id="retry-`+id+`"`) || strings.Contains(page, "张伟") {
		t.Errorf("dead message without a retry button, or its text shown")
	}
	resp := h.do(req{method: "POST", path: "/admin/notify/" + id + "/retry", session: admin})
	if resp.StatusCode != 303 {
		t.Fatalf("retry = %d", resp.StatusCode)
	}
	if rec, _ := svc.Get(id); rec.State != notify.Pending {
		t.Errorf("after retry: %s", rec.State)
	}
	if resp := h.do(req{method: "POST", path: "/admin/notify/" + id + "/retry", session: admin}); resp.StatusCode != 303 {
		t.Errorf("second retry = %d, want a redirect with a notice", resp.StatusCode)
	}
	if resp := h.do(req{method: "POST", path: "/admin/notify/0000000000000000/retry", session: admin}); resp.StatusCode != 404 {
		t.Errorf("retry of an unknown message = %d", resp.StatusCode)
	}
}

// TestNotifyOutboxShowsSending: while a webhook's receiver holds the
// request, the outbox page shows the message as being sent (its sending
// mark), then as delivered.
func TestNotifyOutboxShowsSending(t *testing.T) {
	h := newHarness(t)
	svc, w := wireNotify(t, h, notify.Backoff{})
	ctx := context.Background()
	arrived, release := make(chan struct{}), make(chan struct{})
	hold := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(arrived)
		<-release
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hold.Close()
	if err := svc.SaveSettings(ctx, "test", notify.Settings{Webhooks: []notify.Hook{{Name: "desk", Kind: notify.Generic, URL: hold.URL}}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Broadcast(ctx, "test", notify.Note{Kind: notify.KindVisitArrived, Subject: "arrived"}); err != nil {
		t.Fatal(err)
	}
	ob, _ := svc.Outbox(10)
	var id string
	for _, rec := range ob.Recent {
		if rec.Channel == notify.Webhook {
			id = rec.ID
		}
	}
	row := func(lang string) string {
		page := readBody(t, h.do(req{method: "GET", path: "/admin/notify", session: h.session(auth.Admin),
			header: map[string]string{"Accept-Language": lang}}))
		_, after, ok := strings.Cut(page, "-"+id+`"`)
		if !ok {
			t.Fatalf("no row for %s", id)
		}
		r, _, _ := strings.Cut(after, "</tr>")
		return r
	}
	done := make(chan error, 1)
	go func() { _, err := w.RunOnce(ctx); done <- err }()
	<-arrived
	for lang, want := range map[string]string{"en": ">Sending<", "zh-CN": ">正在发送<"} {
		if r := row(lang); !strings.Contains(r, want) {
			t.Errorf("while it leaves, the row (%s) says:\n%s", lang, r)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r := row("en"); !strings.Contains(r, ">Delivered<") {
		t.Errorf("once delivered, the row says:\n%s", r)
	}
}

func TestNotifyTestMessage(t *testing.T) {
	h := newHarness(t)
	svc, _ := wireNotify(t, h, notify.Backoff{})
	admin := h.session(auth.Admin)
	tests := []struct {
		name    string
		form    url.Values
		status  int
		errorOn string
	}{
		{"to my page", url.Values{"test_target": {"inpage"}}, 303, ""},
		{"email without address", url.Values{"test_target": {"email"}, "test_to": {"nobody"}}, 422, "test_to"},
		{"no target", url.Values{}, 422, "test_target"},
		{"email", url.Values{"test_target": {"email"}, "test_to": {"it@example.com"}}, 303, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(req{method: "POST", path: "/admin/notify/test", session: admin, form: tc.form})
			body := readBody(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.errorOn != "" && !strings.Contains(body, `id="e-`+tc.errorOn+`"`) {
				t.Errorf("no error shown at %s", tc.errorOn)
			}
		})
	}
	ob, _ := svc.Outbox(10)
	var tests2 []notify.Record // the harness's own booking told its host too
	for _, r := range ob.Recent {
		if r.Kind == notify.KindTest {
			tests2 = append(tests2, r)
		}
	}
	if len(tests2) != 2 || tests2[1].Channel != notify.InPage || tests2[1].To != h.accounts[auth.Admin].ID || tests2[0].Channel != notify.Email {
		t.Errorf("outbox %+v", tests2)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
