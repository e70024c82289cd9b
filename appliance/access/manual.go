package access

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// Openings from the guard station: a lane opened by hand, and a visitor let
// in by the guard. Both pulse the lane's relay first and record what
// happened after: an event granted when the relay switched on, and one
// refused (ManualOpenFailed) when there is no relay or it did not answer, so
// the gate's record never shows a passage that did not happen. They are
// written as a decision is (the lobby's journal, or the store), with the
// guard's account on the event (eventPayload.Who) for the visit's history.

// Opener pulses a lane's relay; the device runtime implements it.
type Opener interface {
	OpenLane(ctx context.Context, laneID string, pulse time.Duration) error
}

// SetOpener connects manual opens to the lanes' relays.
func (s *Service) SetOpener(o Opener) { s.opener = o }

// ErrNoRelay means the lane has no relay the appliance can pulse.
var ErrNoRelay = errors.New("access: no relay configured for this lane")

// ErrNotOpened wraps the relay's error when a pulse from the guard station
// failed: nothing opened, and the event says so.
var ErrNotOpened = errors.New("access: the lane's relay did not open")

// switchWait bounds how long the guard station waits for a relay to
// switch on (a lane busy with another pulse, a bus retrying).
const switchWait = 5 * time.Second

// open pulses lane's relay and returns as soon as the relay has switched on
// (gate.WithSwitched) or failed to: the guard's page does not wait out the
// pulse, which is about a second of nothing. The pulse itself goes on
// under a context of its own, so the relay is switched off on time even
// though the request has been answered; the goroutine ends with the pulse.
func (s *Service) open(ctx context.Context, lane Lane) error {
	if s.opener == nil {
		return ErrNoRelay
	}
	on := make(chan error, 1)
	tell := func(err error) {
		select {
		case on <- err:
		default:
		}
	}
	pctx, cancel := context.WithCancel(gate.WithSwitched(context.WithoutCancel(ctx), tell))
	go func() {
		defer cancel()
		tell(s.opener.OpenLane(pctx, lane.ID, time.Duration(lane.PulseMs)*time.Millisecond))
	}()
	t := time.NewTimer(switchWait)
	defer t.Stop()
	var err error
	select {
	case err = <-on:
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = context.DeadlineExceeded
	}
	if err != nil {
		cancel() // a pulse still waiting for its turn must not open later
		if errors.Is(err, ErrNoRelay) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrNotOpened, err)
	}
	return nil
}

// record writes a guard station's event as Decide writes a decision: to
// the lobby's journal when there is one, else to the store.
func (s *Service) record(ctx context.Context, actor string, now time.Time, ev eventPayload) (visitIn bool, err error) {
	if s.out != nil {
		return false, s.out.add(ev)
	}
	res, err := store.IssueAsync(ctx, s.db, CmdEvent, actor, now, ev)
	return err == nil && res.Note == noteVisitIn, err
}

func (s *Service) lane(id string) (lane Lane, err error) {
	err = s.db.View(func(r *store.Reader) error {
		lane, err = getJSON[Lane](r, store.Key(store.KindLane, id))
		return err
	})
	return lane, err
}

func randU32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

// ManualOpen opens a lane from the guard station. The reason is required.
// The opening is an event (kind 'm') either way: granted when the relay
// switched on, refused as ManualOpenFailed when the lane has no relay
// (ErrNoRelay) or the pulse failed (ErrNotOpened).
func (s *Service) ManualOpen(ctx context.Context, actor, laneID, reason string) error {
	var es field.Errors
	reason = es.Text("reason", reason, true, 200)
	if len(es) > 0 {
		return es
	}
	lane, err := s.lane(laneID)
	if err != nil {
		return err
	}
	// The door watch hears of the opening before the relay moves, as for
	// a decision: the door opening under it is not forced.
	s.doors.granted(lane.ID, s.clock.Now())
	opened := s.open(ctx, lane)
	now := s.clock.Now()
	ev := eventPayload{Time: now.UnixNano(), Lane: lane.ID, Entry: true, Kind: 'm', Grant: opened == nil, Reason: ManualOpened,
		Rand: randU32(), Name: reason, Who: actor}
	if opened != nil {
		ev.Reason = ManualOpenFailed
	}
	if _, err := s.record(ctx, actor, now, ev); err != nil {
		return err
	}
	if s.onEvent != nil {
		o := Outcome{Decision: Decision{Grant: ev.Grant, Reason: ev.Reason}, Lane: lane, Name: reason}
		if s.out != nil {
			o.Lobby = s.out.name()
		}
		s.onEvent(o, ev.event())
	}
	return opened
}

// AdmitVisit lets a visitor in at a lane from the guard station, tied to
// the visit: the lane opens, and the event — kind 'g', reason
// AdmittedByGuard, holder "visit:<id>" — moves the visit in with the guard
// as its actor and counts as a visitor's entry in the people flow, as a
// granted pass would. Only a visit that may enter now (approved, or out
// again) can be let in (visit.ErrTransition otherwise). Without a relay, or
// when the pulse fails, the attempt is recorded refused and the visit does
// not move (ErrNoRelay, ErrNotOpened). reason is the guard's (required).
func (s *Service) AdmitVisit(ctx context.Context, actor, laneID, visitID, reason string) error {
	var es field.Errors
	reason = es.Text("reason", reason, true, 200)
	if len(es) > 0 {
		return es
	}
	if s.visits == nil {
		return visit.ErrNotFound
	}
	lane, err := s.lane(laneID)
	if err != nil {
		return err
	}
	v, err := s.visits.Get(visitID)
	if err != nil {
		return err
	}
	if _, err := visit.Next(v.State, visit.EvEnter); err != nil {
		return err
	}
	s.doors.granted(lane.ID, s.clock.Now())
	opened := s.open(ctx, lane)
	now := s.clock.Now()
	ev := eventPayload{Time: now.UnixNano(), Lane: lane.ID, Entry: true, Kind: 'g', Grant: opened == nil, Reason: AdmittedByGuard,
		Holder: "visit:" + v.ID, Rand: randU32(), Who: actor}
	if opened == nil {
		// The passage: presence in the lane's zone (anti-passback, the
		// inside count) and the visit's move, in the event's command.
		ev.ZoneID, ev.Day = lane.ZoneID, now.In(s.loc).Format("2006-01-02")
		ev.Visit, ev.LaneName = v.ID, lane.Name+" · "+reason
	} else {
		ev.Reason = ManualOpenFailed
	}
	in, err := s.record(ctx, actor, now, ev)
	if err != nil {
		return err
	}
	if in {
		go s.visits.Entered(context.WithoutCancel(ctx), v.ID) // the host hears of the arrival
	}
	if s.onEvent != nil {
		o := Outcome{Decision: Decision{Grant: ev.Grant, Reason: ev.Reason}, Lane: lane, Holder: ev.Holder, Name: v.Visitor.Name,
			VisitID: v.ID, Presence: ev.Grant}
		if s.out != nil {
			o.Lobby = s.out.name()
		}
		s.onEvent(o, ev.event())
	}
	return opened
}

// admitNote is the acknowledgement of the alarms a visitor's refusals
// raised, once the guard has let them in: that was what was done.
const admitNote = "保安已放行 let in by the guard"

// AckVisitAlarms closes the open alarms of a visit's refusals, as actor,
// after the guard let the visitor in (AdmitVisit), and returns their keys.
// Alarms still in the lobby's journal are shipped first, for at most a
// second: one that is not in the store by then stays open for the guard.
func (s *Service) AckVisitAlarms(ctx context.Context, actor, visitID string) ([]string, error) {
	fctx, cancel := context.WithTimeout(ctx, time.Second)
	_ = s.Flush(fctx)
	cancel()
	open, err := s.Alarms(true, 200)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, a := range open {
		if a.Holder != "visit:"+visitID {
			continue
		}
		if err := s.Acknowledge(ctx, actor, a.Key, admitNote); errors.Is(err, ErrNotFound) {
			continue // not shipped yet
		} else if err != nil {
			return keys, err
		}
		keys = append(keys, a.Key)
	}
	return keys, nil
}
