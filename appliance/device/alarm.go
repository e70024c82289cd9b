package device

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/clock"
)

// DefaultAlarmAfter is how long a device may be offline or failing before
// the guard station hears of it, unless the site sets device_alarm_seconds:
// long enough for a replug or a reboot of the board, short enough that a
// dead door contact is known before anyone relies on it.
const DefaultAlarmAfter = 60 * time.Second

// Recovered is the note a device alarm is closed with when its device
// works again; the guard station's history shows it beside the alarm.
const Recovered = "设备恢复正常 device working again"

// Alarms is where device alarms go (*access.Service): raised as alarms of
// kind access.AlarmDevice naming the device and its lane, and closed with
// the note Recovered by the actor "devices" when the device recovers.
type Alarms interface {
	Raise(ctx context.Context, actor string, kind access.Alarm, lane, name string) error
	Alarms(unacked bool, limit int) ([]access.AlarmRecord, error)
	Acknowledge(ctx context.Context, actor, id, note string) error
}

// Watch raises the guard station's alarm for a device that stays offline
// or failing longer than its set time, and clears it when the device works
// again. It judges what the attached runtime reports (Health.State and
// Changed, the start of the state); without a runtime it does nothing. An
// alarm a guard has acknowledged stays closed: the device raises another
// only after it has worked again and failed anew.
//
// The device's own state changes are logged by its driver; the Watch logs
// each alarm it raises or clears, once.
type Watch struct {
	svc    *Service
	alarms Alarms
	clock  clock.Clock
	log    *slog.Logger
	after  time.Duration

	mu     sync.Mutex // Check runs one at a time
	loaded bool
	raised map[string]string // device ID → the device name its open alarm carries
}

// NewWatch returns the watch over s's devices; after ≤ 0 is DefaultAlarmAfter.
func NewWatch(s *Service, a Alarms, c clock.Clock, log *slog.Logger, after time.Duration) *Watch {
	if after <= 0 {
		after = DefaultAlarmAfter
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watch{svc: s, alarms: a, clock: c, log: log, after: after, raised: map[string]string{}}
}

// After is how long a device may be down before its alarm.
func (w *Watch) After() time.Duration { return w.after }

// openLimit bounds the open alarms read to find the devices' own.
const openLimit = 1000

// Check looks at every device once: the appliance's timed loop calls it
// every few seconds.
func (w *Watch) Check(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	live := w.svc.Live()
	if _, none := live.(stopped); none {
		return nil // the shell, or serve before the runtime: nothing is known
	}
	devs, err := w.svc.Devices()
	if err != nil {
		return err
	}
	if !w.loaded {
		// Alarms raised before a restart are still this watch's to clear.
		open, err := w.open()
		if err != nil {
			return err
		}
		for _, d := range devs {
			if len(open[d.Name]) > 0 {
				w.raised[d.ID] = d.Name
			}
		}
		w.loaded = true
	}
	now := w.clock.Now()
	known := map[string]bool{}
	var errs []error
	for _, d := range devs {
		known[d.ID] = true
		h, ok := live.Health(d.ID)
		st := h.State()
		_, raised := w.raised[d.ID]
		switch {
		case !d.Enabled && raised:
			errs = append(errs, w.clear(ctx, d.ID, "disabled"))
		case !ok || st == "":
			// No driver runs for it (starting, unsupported, failed to
			// start): nothing to judge.
		case (st == StateOffline || st == StateFailing) && !raised && now.Sub(h.Changed) >= w.after:
			if err := w.alarms.Raise(ctx, "devices", access.AlarmDevice, d.LaneID, d.Name); err != nil {
				errs = append(errs, err)
				continue
			}
			w.raised[d.ID] = d.Name
			w.log.Warn("device alarm raised", "device", d.Name, "state", string(st), "since", h.Changed)
		case st == StateOnline && raised:
			errs = append(errs, w.clear(ctx, d.ID, string(st)))
		}
	}
	for id := range w.raised {
		if !known[id] { // deleted
			errs = append(errs, w.clear(ctx, id, "deleted"))
		}
	}
	return errors.Join(errs...)
}

// open lists the open device alarms by the device name they carry.
func (w *Watch) open() (map[string][]string, error) {
	as, err := w.alarms.Alarms(true, openLimit)
	if err != nil {
		return nil, err
	}
	m := map[string][]string{}
	for _, a := range as {
		if a.Kind == access.AlarmDevice {
			m[a.Name] = append(m[a.Name], a.Key)
		}
	}
	return m, nil
}

// clear closes the device's open alarms (a guard may have closed them
// already) and forgets it.
func (w *Watch) clear(ctx context.Context, id, why string) error {
	name := w.raised[id]
	open, err := w.open()
	if err != nil {
		return err
	}
	for _, key := range open[name] {
		if err := w.alarms.Acknowledge(ctx, "devices", key, Recovered); err != nil {
			return err
		}
	}
	delete(w.raised, id)
	w.log.Info("device alarm cleared", "device", name, "state", why)
	return nil
}
