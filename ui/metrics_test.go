package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/notify"
)

// scrape reads /metrics with the administrator's token and parses it.
func scrape(t *testing.T, h *harness) map[string]*dto.MetricFamily {
	t.Helper()
	resp := h.do(req{method: "GET", path: "/metrics", token: h.tokens[auth.Admin]})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics with the admin token = %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("Content-Type %q, want Prometheus text", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sample finds the family's metric whose labels include want.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		n := 0
		for _, lp := range m.Label {
			if v, ok := want[lp.GetName()]; ok && v == lp.GetValue() {
				n++
			}
		}
		if n == len(want) {
			return m
		}
	}
	return nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

// TestMetricsAfterAPresentation runs the gate through the device
// simulators as serve --demo does — a visitor's pass scanned at the entry
// scanner (granted: the relay board pulses), a forged pass (denied) — and
// the notification worker over two messages, then reads /metrics with the
// administrator's token: every family the issue names is there, with the
// counts those events make.
func TestMetricsAfterAPresentation(t *testing.T) {
	l := newLobby(t)
	ctx := context.Background()
	if resp, _ := l.admin("POST", "/admin/devices/sim/visitor", url.Values{"device": {l.dev["entry"].ID}}); resp.StatusCode != 303 {
		t.Fatalf("visitor scan %d", resp.StatusCode)
	}
	waitFor(t, "pulse", func() bool { return len(l.coils()) == 2 })
	if resp, _ := l.admin("POST", "/admin/devices/sim/present", url.Values{"device": {l.dev["entry"].ID}, "text": {"GH1.forged"}}); resp.StatusCode != 303 {
		t.Fatalf("present %d", resp.StatusCode)
	}
	denied := func() float64 {
		return value(sample(scrape(t, l.harness), "gatehouse_gate_decisions_total", map[string]string{"lane": l.lane.ID, "result": "denied"}))
	}
	waitFor(t, "the deny counted", func() bool { return denied() == 1 })
	// The gate does not wait for the host's notification of the arrival.
	waitFor(t, "the arrival queued", func() bool {
		o, err := l.app.Notify.Outbox(50)
		return err == nil && slices.ContainsFunc(o.Recent, func(r notify.Record) bool { return r.Kind == notify.KindVisitArrived })
	})

	// The outbox: the host heard of the arrival in the page; an email
	// without SMTP settings fails and waits for its retry.
	if _, err := l.app.Notify.Enqueue(ctx, "test", notify.Message{Channel: notify.Email, To: "ops@example.com", Kind: notify.KindTest, Subject: "test"}); err != nil {
		t.Fatal(err)
	}
	w := notify.NewWorker(l.app.Notify, notify.WorkerOptions{Observer: l.app.Metrics})
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}

	if err := l.app.Access.Flush(ctx); err != nil { // the lobby's journal shipped
		t.Fatal(err)
	}
	fams := scrape(t, l.harness)
	atLeast := func(name string, labels map[string]string, min float64) {
		t.Helper()
		if v := value(sample(fams, name, labels)); v < min {
			t.Errorf("%s%v = %v, want at least %v", name, labels, v, min)
		}
	}
	exactly := func(name string, labels map[string]string, want float64) {
		t.Helper()
		if v := value(sample(fams, name, labels)); v != want {
			t.Errorf("%s%v = %v, want %v", name, labels, v, want)
		}
	}
	// Gate decisions by lane and result, their reasons, and latencies.
	exactly("gatehouse_gate_decisions_total", map[string]string{"lane": l.lane.ID, "result": "granted"}, 1)
	exactly("gatehouse_gate_decisions_total", map[string]string{"lane": l.lane.ID, "result": "denied"}, 1)
	exactly("gatehouse_gate_decision_reasons_total", map[string]string{"reason": string(access.PassInvalid)}, 1)
	exactly("gatehouse_gate_lane_info", map[string]string{"lane": l.lane.ID, "name": "Gate A"}, 1)
	exactly("gatehouse_gate_decision_seconds", nil, 2)
	if s := sample(fams, "gatehouse_gate_decision_seconds", nil); s.Histogram.GetSampleSum() <= 0 {
		t.Errorf("decisions took %v s in all", s.Histogram.GetSampleSum())
	}
	// One grant, one pulse (the harness's clock stands still, so it
	// took no time on it).
	exactly("gatehouse_gate_wire_to_relay_seconds", nil, 1)
	// Commands: the two events, shipped from the lobby's journal in one
	// batch or two.
	atLeast("gatehouse_store_apply_seconds", map[string]string{"type": access.CmdEvents}, 1)
	atLeast("gatehouse_store_commit_fsync_seconds", nil, 2)
	if s := sample(fams, "gatehouse_store_commit_fsync_seconds", nil); s.Histogram.GetSampleSum() <= 0 {
		t.Errorf("commits took %v s in all", s.Histogram.GetSampleSum())
	}
	atLeast("gatehouse_store_lsm_bytes", nil, 0)
	atLeast("gatehouse_store_vlog_bytes", nil, 0)
	// Notifications: the arrival in the page sent, the email failed and
	// still pending (its retry is not due yet).
	atLeast("gatehouse_notify_sent_total", map[string]string{"channel": "inpage"}, 1)
	exactly("gatehouse_notify_failures_total", map[string]string{"channel": "email"}, 1)
	exactly("gatehouse_notify_sent_total", map[string]string{"channel": "email"}, 0)
	exactly("gatehouse_notify_queue_depth", nil, 1)
	exactly("gatehouse_notify_queue_due", nil, 0)
	// Devices: online, with their line counters.
	for _, short := range []string{"entry", "card", "relay"} {
		d := l.dev[short]
		labels := map[string]string{"device": d.Name, "protocol": string(d.Protocol)}
		exactly("gatehouse_device_online", labels, 1)
		atLeast("gatehouse_device_errors_total", labels, 0)
		atLeast("gatehouse_device_reconnects_total", labels, 0)
	}
	// The Go runtime and the process.
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "go_gc_duration_seconds", "process_resident_memory_bytes", "gatehouse_build_info"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	checkDashboard(t, fams)
}

// checkDashboard reads the Grafana dashboard in packaging/: it is valid
// JSON, every metric its queries name is one the appliance serves, and
// every gatehouse family has a panel.
func checkDashboard(t *testing.T, fams map[string]*dto.MetricFamily) {
	t.Helper()
	b, err := os.ReadFile("../packaging/grafana/gatehouse-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	used := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range metricName.FindAllString(tg.Expr, -1) {
				fam := name
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					if base, ok := strings.CutSuffix(name, suffix); ok && fams[base] != nil &&
						(fams[base].GetType() == dto.MetricType_HISTOGRAM || fams[base].GetType() == dto.MetricType_SUMMARY) {
						fam = base
					}
				}
				if fams[fam] == nil {
					t.Errorf("dashboard panel %q queries %s, which /metrics does not serve", p.Title, name)
				}
				used[fam] = true
			}
		}
	}
	for name := range fams {
		if strings.HasPrefix(name, "gatehouse_") && !used[name] {
			t.Errorf("no dashboard panel shows %s", name)
		}
	}
	scrape, err := os.ReadFile("../packaging/prometheus/gatehouse-scrape.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"metrics_path: /metrics", "type: Bearer", "credentials_file:"} {
		if !strings.Contains(string(scrape), want) {
			t.Errorf("scrape config lacks %q", want)
		}
	}
}

var metricName = regexp.MustCompile(`\b(gatehouse|go|process)_[a-z0-9_]+\b`)

// TestMetricsAccess: the metrics open to an administrator's token, or to a
// request made on the appliance itself; from anywhere else, without a
// token or with another role's, they are refused and nothing of them shows.
func TestMetricsAccess(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name   string
		remote string
		token  string
		header map[string]string
		want   int
	}{
		{"no token from the network", "192.0.2.10:40000", "", nil, http.StatusUnauthorized},
		{"no token from IPv6", "[2001:db8::1]:40000", "", nil, http.StatusUnauthorized},
		{"admin token from the network", "192.0.2.10:40000", h.tokens[auth.Admin], nil, http.StatusOK},
		{"manager token", "192.0.2.10:40000", h.tokens[auth.Manager], nil, http.StatusForbidden},
		{"reception token", "192.0.2.10:40000", h.tokens[auth.Reception], nil, http.StatusForbidden},
		{"host token", "192.0.2.10:40000", h.tokens[auth.Host], nil, http.StatusForbidden},
		{"wrong token", "192.0.2.10:40000", h.tokens[auth.Admin] + "x", nil, http.StatusUnauthorized},
		{"wrong token from loopback", "127.0.0.1:40000", "nope", nil, http.StatusUnauthorized},
		{"no token from loopback", "127.0.0.1:40000", "", nil, http.StatusOK},
		{"no token from IPv6 loopback", "[::1]:40000", "", nil, http.StatusOK},
		{"a forged X-Forwarded-For does not make a stranger local", "192.0.2.10:40000", "", map[string]string{"X-Forwarded-For": "127.0.0.1"}, http.StatusUnauthorized},
		{"loopback through a proxy is not local", "127.0.0.1:40000", "", map[string]string{"X-Forwarded-For": "192.0.2.10"}, http.StatusUnauthorized},
		{"loopback through a Forwarded proxy", "127.0.0.1:40000", "", map[string]string{"Forwarded": "for=192.0.2.10"}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.RemoteAddr = tc.remote
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.srv.Handler().ServeHTTP(rec, r)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
			shows := strings.Contains(rec.Body.String(), "gatehouse_gate_decision_seconds")
			if shows != (tc.want == http.StatusOK) {
				t.Fatalf("metrics shown: %v, status %d", shows, rec.Code)
			}
		})
	}
	// Strangers are rate-limited like every route anyone can reach.
	if h.srv.rateClass("GET", "/metrics") != h.srv.limits.public {
		t.Fatal("GET /metrics is not rate-limited")
	}
}
