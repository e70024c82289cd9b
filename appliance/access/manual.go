package access

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Opener pulses a lane's relay; the device runtime implements it.
type Opener interface {
	OpenLane(ctx context.Context, laneID string, pulse time.Duration) error
}

// SetOpener connects manual opens to the lanes' relays.
func (s *Service) SetOpener(o Opener) { s.opener = o }

// ErrNoRelay means the lane has no relay the appliance can pulse.
var ErrNoRelay = errors.New("access: no relay configured for this lane")

// ManualOpen opens a lane from the guard station. The reason is required;
// the opening is an event (kind 'm') and on the audit trail, done or not.
func (s *Service) ManualOpen(ctx context.Context, actor, laneID, reason string) error {
	var es field.Errors
	reason = es.Text("reason", reason, true, 200)
	if len(es) > 0 {
		return es
	}
	var lane Lane
	err := s.db.View(func(r *store.Reader) error {
		var err error
		lane, err = getJSON[Lane](r, store.Key(store.KindLane, laneID))
		return err
	})
	if err != nil {
		return err
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	now := s.clock.Now()
	ev := eventPayload{Time: now.UnixNano(), Lane: lane.ID, Entry: true, Kind: 'm', Grant: true, Reason: "manual_open",
		Holder: "", Rand: binary.BigEndian.Uint32(b[:]), Name: reason}
	if _, err := store.Issue(ctx, s.db, CmdEvent, actor, now, ev); err != nil {
		return err
	}
	if s.onEvent != nil {
		s.onEvent(Outcome{Decision: Decision{Grant: true, Reason: "manual_open"}, Lane: lane, Name: reason}, ev.event())
	}
	s.doors.granted(lane.ID, now)
	if s.opener == nil {
		return ErrNoRelay
	}
	return s.opener.OpenLane(ctx, lane.ID, time.Duration(lane.PulseMs)*time.Millisecond)
}
