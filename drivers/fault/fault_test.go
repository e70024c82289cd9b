package fault

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/clock"
)

// lines is a slog handler keeping each record as "LEVEL msg k=v …",
// without the time (the fake clock's is in the attributes that matter).
type lines struct {
	mu  sync.Mutex
	out []string
}

func (h *lines) Enabled(context.Context, slog.Level) bool { return true }
func (h *lines) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *lines) WithGroup(string) slog.Handler            { return h }
func (h *lines) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		v := a.Value.String()
		if a.Value.Kind() == slog.KindTime {
			v = a.Value.Time().Format("15:04")
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, v)
		return true
	})
	h.mu.Lock()
	h.out = append(h.out, b.String())
	h.mu.Unlock()
	return nil
}

func TestLogByState(t *testing.T) {
	const K, K2 = "reader holds another key", "no reply"
	type step struct {
		fail  string // "" = OK
		times int
		every time.Duration // clock step after each
	}
	for _, c := range []struct {
		name  string
		steps []step
		want  []string
	}{
		{"working: nothing", []step{{"", 100, time.Second}}, nil},
		{"a failure that goes on: once, then every 15 minutes, then the recovery",
			[]step{{K, 3600, time.Second}, {"", 10, time.Second}},
			[]string{
				"WARN failed err=" + K,
				"WARN failed err=" + K + " failures=901 since=09:00",
				"WARN failed err=" + K + " failures=1801 since=09:00",
				"WARN failed err=" + K + " failures=2701 since=09:00",
				"INFO works failures=3600 since=09:00",
			}},
		{"a different failure at once, known ones counted",
			[]step{{K, 5, time.Second}, {K2, 5, time.Second}, {K, 5, time.Second}, {"", 1, time.Second}},
			[]string{"WARN failed err=" + K, "WARN failed err=" + K2, "INFO works failures=15 since=09:00"}},
		{"on and off: first recovery and relapse, then summaries",
			[]step{{K, 1, time.Second}, {"", 1, time.Second}, {K, 1, time.Second}, {"", 1, time.Second},
				{K, 1000, time.Second}, {"", 1, time.Second}, {K, 1, time.Second}},
			[]string{
				"WARN failed err=" + K,
				"INFO works failures=1 since=09:00",
				"WARN failed err=" + K,
				"WARN failed err=" + K + " failures=901 since=09:00 recoveries=2",
			}},
		{"on and off stopping: the recovery is logged when the summary is due",
			[]step{{K, 1, time.Second}, {"", 1, time.Second}, {K, 1, time.Second}, {"", 1000, time.Second}},
			[]string{"WARN failed err=" + K, "INFO works failures=1 since=09:00", "WARN failed err=" + K, "INFO works failures=2 since=09:00"}},
		{"working for 15 minutes ends the episode: the same failure is news again",
			[]step{{K, 1, time.Second}, {"", 1, 15 * time.Minute}, {K, 1, time.Second}},
			[]string{"WARN failed err=" + K, "INFO works failures=1 since=09:00", "WARN failed err=" + K}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &lines{}
			clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
			l := New(slog.New(h), clk)
			for _, s := range c.steps {
				for range s.times {
					if s.fail != "" {
						l.Fail("failed", s.fail)
					} else {
						l.OK("works")
					}
					clk.Advance(s.every)
				}
			}
			if strings.Join(h.out, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("logged\n%s\nwant\n%s", strings.Join(h.out, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// An episode logs at most eight different failures as they come; more
// wait for the summary.
func TestLogBoundsDifferentFailures(t *testing.T) {
	h := &lines{}
	clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	l := New(slog.New(h), clk)
	for i := range 20 {
		l.Fail("failed", fmt.Sprintf("error %d", i))
		clk.Advance(time.Second)
	}
	if len(h.out) != maxKinds {
		t.Fatalf("logged %d lines:\n%s", len(h.out), strings.Join(h.out, "\n"))
	}
	clk.Advance(SummaryEvery)
	l.Fail("failed", "error 19")
	if want := "WARN failed err=error 19 failures=21 since=09:00"; h.out[len(h.out)-1] != want {
		t.Errorf("summary %q, want %q", h.out[len(h.out)-1], want)
	}
}

// NewAt logs failures at its level; recoveries stay Info.
func TestLogAtLevel(t *testing.T) {
	h := &lines{}
	l := NewAt(slog.New(h), clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)), slog.LevelError)
	l.Fail("failed", "port busy")
	l.OK("works")
	if got, want := strings.Join(h.out, "\n"), "ERROR failed err=port busy\nINFO works failures=1 since=09:00"; got != want {
		t.Errorf("logged\n%s\nwant\n%s", got, want)
	}
}
