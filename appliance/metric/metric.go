// Package metric holds the appliance's Prometheus metrics: one registry per
// appliance (never the library's global one), fed by the layers through the
// small observer interfaces they declare (store.Observer, access.Observer,
// notify.Observer, runner.Observer) and, for gauges, read at scrape time
// from the services themselves (Watch). The web server serves the registry
// at /metrics.
//
// The gate's decision path reports here on every presentation, so a
// decision's counters are looked up once per lane and reason and kept: an
// observation is a map read under a read lock and atomic adds, with no
// allocation.
package metric

import (
	"gatehouse/appliance/cpu"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"gatehouse/appliance/gate"
	"gatehouse/appliance/notify"
)

// Set is one appliance's metrics. Its methods implement the layers'
// observers; they are safe for concurrent use.
type Set struct {
	reg *prometheus.Registry

	decisions   *prometheus.CounterVec // lane, result
	reasons     *prometheus.CounterVec // reason
	decideTime  prometheus.Histogram
	wireToRelay prometheus.Histogram
	applyTime   *prometheus.HistogramVec // command type
	commitTime  prometheus.Histogram
	fsyncTime   prometheus.Histogram
	sent        *prometheus.CounterVec // channel
	failures    *prometheus.CounterVec // channel

	lanes   children[laneCounters]
	reasonC children[prometheus.Counter]
	types   children[prometheus.Observer]
}

// laneCounters are one lane's decision counters by result.
type laneCounters struct{ granted, denied, failed prometheus.Counter }

// Results of a decision, the "result" label.
const (
	ResultGranted = "granted"
	ResultDenied  = "denied"
	ResultError   = "error"
)

// latencyBuckets span what the lobby's latencies span: a decision is a
// fraction of a millisecond of reading plus one fsync (about a millisecond
// on an SSD, tens on an SD card); more than a second is a lane that stalls.
func latencyBuckets() []float64 {
	return []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
}

// New makes the registry with the Go runtime's and the process's metrics
// and the appliance's own; version labels gatehouse_build_info.
func New(version string) *Set {
	s := &Set{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_gate_decisions_total",
			Help: "Gate decisions by lane ID and result (granted, denied, error).",
		}, []string{"lane", "result"}),
		reasons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_gate_decision_reasons_total",
			Help: "Gate decisions by reason code (granted, unknown, expired, anti_passback, ...).",
		}, []string{"reason"}),
		decideTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_gate_decision_seconds",
			Help:    "Time to decide a presentation: gather the facts, decide, and record the event durably (one fsync).",
			Buckets: latencyBuckets(),
		}),
		wireToRelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_gate_wire_to_relay_seconds",
			Help:    "Time from a granted read's last byte on the wire to its lane's relay being driven, waiting for the lane's turn included.",
			Buckets: latencyBuckets(),
		}),
		applyTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_store_apply_seconds",
			Help:    "Time to apply a command, waiting for the store's write lock and the commit included, by command type.",
			Buckets: latencyBuckets(),
		}, []string{"type"}),
		commitTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_store_commit_fsync_seconds",
			Help:    "Time from a command's handler to its durability: Badger's commit and the wait for the fsync it shares with concurrent commands (the commit alone for a gate decision, which does not wait).",
			Buckets: latencyBuckets(),
		}),
		fsyncTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_store_fsync_seconds",
			Help:    "Time of one fsync of the store's write-ahead files, shared by every command committed before it began (group commit).",
			Buckets: latencyBuckets(),
		}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_notify_sent_total",
			Help: "Notifications delivered, by channel.",
		}, []string{"channel"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_notify_failures_total",
			Help: "Failed notification delivery attempts (retried or dead), by channel.",
		}, []string{"channel"}),
	}
	s.lanes.newChild = func(lane string) laneCounters {
		return laneCounters{
			granted: s.decisions.WithLabelValues(lane, ResultGranted),
			denied:  s.decisions.WithLabelValues(lane, ResultDenied),
			failed:  s.decisions.WithLabelValues(lane, ResultError),
		}
	}
	s.reasonC.newChild = func(r string) prometheus.Counter { return s.reasons.WithLabelValues(r) }
	s.types.newChild = func(t string) prometheus.Observer { return s.applyTime.WithLabelValues(t) }
	// Every channel shows from the start, at zero: a dashboard tells "no
	// failures" from "no data".
	for _, ch := range notify.Channels {
		s.sent.WithLabelValues(string(ch))
		s.failures.WithLabelValues(string(ch))
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "gatehouse_build_info",
		Help:        "The running release; always 1.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	build.Set(1)
	heavy := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_heavy_jobs_running",
			Help: "Heavy jobs (exports, imports, reports, backups) running, at most one processor fewer than the machine's."},
			func() float64 { return float64(cpu.Now().Busy) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_heavy_jobs_waiting",
			Help: "Heavy jobs waiting for their turn."},
			func() float64 { return float64(cpu.Now().Waiting) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_heavy_jobs_overrun_total",
			Help: "Heavy jobs that ran beside the others after waiting the longest wait."},
			func() float64 { return float64(cpu.Now().Overruns) }),
	}
	s.reg.MustRegister(heavy...)
	s.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build, s.decisions, s.reasons, s.decideTime, s.wireToRelay, s.applyTime, s.commitTime, s.fsyncTime, s.sent, s.failures,
	)
	return s
}

// Gatherer is what /metrics serves.
func (s *Set) Gatherer() prometheus.Gatherer { return s.reg }

// Decided implements access.Observer.
func (s *Set) Decided(lane string, a gate.Action, err error, took time.Duration) {
	s.decideTime.Observe(took.Seconds())
	l := s.lanes.get(lane)
	reason := a.Reason
	switch {
	case err != nil:
		l.failed.Inc()
		reason = ResultError
	case a.Open:
		l.granted.Inc()
	default:
		l.denied.Inc()
	}
	s.reasonC.get(reason).Inc()
}

// Pulsed implements runner.Observer.
func (s *Set) Pulsed(_ string, wire time.Duration) { s.wireToRelay.Observe(wire.Seconds()) }

// Applied implements store.Observer.
func (s *Set) Applied(typ string, took, commit time.Duration) {
	s.types.get(typ).Observe(took.Seconds())
	s.commitTime.Observe(commit.Seconds())
}

// Synced implements store.SyncObserver.
func (s *Set) Synced(_ int, took time.Duration) { s.fsyncTime.Observe(took.Seconds()) }

// Attempted implements notify.Observer.
func (s *Set) Attempted(ch notify.ChannelName, err error) {
	if err != nil {
		s.failures.WithLabelValues(string(ch)).Inc()
		return
	}
	s.sent.WithLabelValues(string(ch)).Inc()
}

// children keeps the label children of a vector by label value, so the
// hot paths look them up in a map instead of hashing labels each time.
// Label values come from configuration (lanes) or fixed lists (reasons,
// command types), so the map stays small.
type children[T any] struct {
	mu       sync.RWMutex
	m        map[string]T
	newChild func(string) T
}

func (c *children[T]) get(key string) T {
	c.mu.RLock()
	v, ok := c.m[key]
	c.mu.RUnlock()
	if ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[key]; ok {
		return v
	}
	if c.m == nil {
		c.m = map[string]T{}
	}
	v = c.newChild(key)
	c.m[key] = v
	return v
}
