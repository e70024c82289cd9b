package access

import (
	"context"
	"sync"
	"time"

	"gatehouse/appliance/gate"
)

// Door contacts: a door that opens without a grant (or a manual opening)
// on its lane shortly before was forced; a door open longer than HeldAfter
// is held open. Each raises one alarm per opening. The state is in memory:
// after a restart a door already open is taken as just opened.
const (
	forcedWindow = 15 * time.Second // a grant this recent explains an opening
	HeldAfter    = 60 * time.Second
)

type doors struct {
	mu        sync.Mutex
	lastGrant map[string]time.Time // lane -> last grant or manual open
	openSince map[string]time.Time // lane -> when its door opened
	heldRaise map[string]bool      // lane -> held-open alarm raised for this opening
}

func (d *doors) init() {
	if d.lastGrant == nil {
		d.lastGrant, d.openSince, d.heldRaise = map[string]time.Time{}, map[string]time.Time{}, map[string]bool{}
	}
}

func (d *doors) granted(lane string, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.init()
	d.lastGrant[lane] = at
}

// DoorChanged implements gate.DoorWatcher.
func (s *Service) DoorChanged(ctx context.Context, st gate.DoorState) {
	s.doors.mu.Lock()
	s.doors.init()
	now := s.clock.Now()
	forced := false
	if st.Open {
		if _, already := s.doors.openSince[st.Lane]; !already {
			s.doors.openSince[st.Lane] = now
			s.doors.heldRaise[st.Lane] = false
			last, ok := s.doors.lastGrant[st.Lane]
			forced = !ok || now.Sub(last) > forcedWindow
		}
	} else {
		delete(s.doors.openSince, st.Lane)
		delete(s.doors.heldRaise, st.Lane)
	}
	s.doors.mu.Unlock()
	if forced {
		_ = s.Raise(ctx, "device:"+st.Device, AlarmDoorForced, st.Lane, "")
	}
}

// CheckDoors raises a held-open alarm for every door open longer than
// HeldAfter, once per opening. The appliance calls it every few seconds.
func (s *Service) CheckDoors(ctx context.Context) {
	now := s.clock.Now()
	var held []string
	s.doors.mu.Lock()
	s.doors.init()
	for lane, since := range s.doors.openSince {
		if now.Sub(since) >= HeldAfter && !s.doors.heldRaise[lane] {
			s.doors.heldRaise[lane] = true
			held = append(held, lane)
		}
	}
	s.doors.mu.Unlock()
	for _, lane := range held {
		_ = s.Raise(ctx, "system", AlarmDoorHeld, lane, "")
	}
}

// FireChanged implements gate.FireWatcher: the fire-alarm input's start and
// end are each an alarm on the guard station, recorded in the audit as the
// device's. The lifts themselves are the runtime's (drivers/runner).
func (s *Service) FireChanged(ctx context.Context, st gate.FireState) {
	kind := AlarmFireReleaseEnded
	if st.Active {
		kind = AlarmFireRelease
	}
	_ = s.Raise(ctx, "device:"+st.Device, kind, "", st.Device)
}
