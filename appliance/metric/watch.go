package metric

import (
	"github.com/prometheus/client_golang/prometheus"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
)

// Sources are what a scrape reads at the moment it runs, rather than
// counters kept on the way: the store's size, the outbox's depth, the
// devices' health and the lanes' names. Any may be nil.
type Sources struct {
	Store   Sizer   // *store.Store
	Outbox  Queue   // *notify.Service
	Devices Devices // *device.Service
	Lanes   Lanes   // *access.Service
}

// Sizer reports Badger's bytes on disk.
type Sizer interface{ Size() (lsm, vlog int64) }

// Queue reports the notification outbox's depth.
type Queue interface {
	Depth() (pending, due int, err error)
}

// Devices lists the configured devices and the runtime's view of them
// (nil when no runtime is attached: the shell, tests).
type Devices interface {
	Devices() ([]device.Device, error)
	Live() device.Monitor
}

// Lanes lists the gate's lanes.
type Lanes interface {
	Lanes() ([]access.Lane, error)
}

// Watch registers the scrape-time collector over src. Call it once.
func (s *Set) Watch(src Sources) { s.reg.MustRegister(newWatcher(src)) }

type watcher struct {
	src Sources

	lsm, vlog           *prometheus.Desc
	pending, due        *prometheus.Desc
	online, state       *prometheus.Desc
	errs, reconnects    *prometheus.Desc
	timeouts, laneNames *prometheus.Desc
}

func newWatcher(src Sources) *watcher {
	dev := []string{"device", "protocol"}
	return &watcher{
		src:     src,
		lsm:     prometheus.NewDesc("gatehouse_store_lsm_bytes", "Bytes of Badger's LSM tree tables on disk (Badger refreshes it every minute).", nil, nil),
		vlog:    prometheus.NewDesc("gatehouse_store_vlog_bytes", "Bytes of Badger's value log on disk (Badger refreshes it every minute).", nil, nil),
		pending: prometheus.NewDesc("gatehouse_notify_queue_depth", "Notifications waiting in the outbox: queued or waiting for a retry.", nil, nil),
		due:     prometheus.NewDesc("gatehouse_notify_queue_due", "Notifications in the outbox whose attempt is due now: the backlog.", nil, nil),
		online: prometheus.NewDesc("gatehouse_device_online",
			"1 when an enabled device's driver runs and the device is there and working (port open and, for devices that answer, answering other than with refusals).", dev, nil),
		state: prometheus.NewDesc("gatehouse_device_state",
			"An enabled device's state, 1 for the current one: online, failing (it answers, but refuses every request: a Modbus exception at each poll), offline, or stopped (no driver runs: disabled in effect, unsupported, failed to start).",
			[]string{"device", "protocol", "state"}, nil),
		errs: prometheus.NewDesc("gatehouse_device_errors_total",
			"Garbled frames, refusals (Modbus exceptions), bad lines and overflows since the device's driver started (an OSDP or USB relay bus's devices share the bus's count; a Modbus board's relays and contacts count their own).", dev, nil),
		reconnects: prometheus.NewDesc("gatehouse_device_reconnects_total",
			"Times the device's port was opened again after a lost connection since its driver started.", dev, nil),
		timeouts: prometheus.NewDesc("gatehouse_device_timeouts_total",
			"Requests the device did not answer since its driver started.", dev, nil),
		laneNames: prometheus.NewDesc("gatehouse_gate_lane_info", "A lane's name by its ID, to label the decision counters; always 1.",
			[]string{"lane", "name"}, nil),
	}
}

func (w *watcher) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{w.lsm, w.vlog, w.pending, w.due, w.online, w.state, w.errs, w.reconnects, w.timeouts, w.laneNames} {
		ch <- d
	}
}

func (w *watcher) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	if w.src.Store != nil {
		lsm, vlog := w.src.Store.Size()
		gauge(w.lsm, float64(lsm))
		gauge(w.vlog, float64(vlog))
	}
	if w.src.Outbox != nil {
		if pending, due, err := w.src.Outbox.Depth(); err != nil {
			ch <- prometheus.NewInvalidMetric(w.pending, err)
		} else {
			gauge(w.pending, float64(pending))
			gauge(w.due, float64(due))
		}
	}
	if w.src.Lanes != nil {
		if lanes, err := w.src.Lanes.Lanes(); err != nil {
			ch <- prometheus.NewInvalidMetric(w.laneNames, err)
		} else {
			for _, l := range lanes {
				gauge(w.laneNames, 1, l.ID, l.Name)
			}
		}
	}
	if w.src.Devices != nil {
		w.collectDevices(gauge, counter, ch)
	}
}

func (w *watcher) collectDevices(gauge func(*prometheus.Desc, float64, ...string), counter func(*prometheus.Desc, uint64, ...string),
	ch chan<- prometheus.Metric) {
	ds, err := w.src.Devices.Devices()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(w.online, err)
		return
	}
	live := w.src.Devices.Live()
	seen := map[string]bool{}
	for _, d := range ds {
		// Names are unique (device.Save refuses a taken one); a
		// duplicate from older data would fail the whole scrape.
		if !d.Enabled || seen[d.Name] {
			continue
		}
		seen[d.Name] = true
		var h device.Health
		if live != nil {
			h, _ = live.Health(d.ID)
		}
		online := 0.0
		if h.State() == device.StateOnline {
			online = 1
		}
		labels := []string{d.Name, string(d.Protocol)}
		gauge(w.online, online, labels...)
		now := h.State()
		if now == "" {
			now = "stopped"
		}
		for _, st := range []device.State{device.StateOnline, device.StateFailing, device.StateOffline, "stopped"} {
			v := 0.0
			if st == now {
				v = 1
			}
			gauge(w.state, v, d.Name, string(d.Protocol), string(st))
		}
		if h.Running {
			counter(w.errs, h.Errors, labels...)
			counter(w.reconnects, h.Reconnects, labels...)
			counter(w.timeouts, h.Timeouts, labels...)
		}
	}
}
