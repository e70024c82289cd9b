package visit

import (
	"context"
	"errors"
	"time"

	"gatehouse/appliance/store"
)

// SweepRules are the time limits a sweep applies.
type SweepRules struct {
	Location *time.Location
	// DayEnd is when, after local midnight, the visiting day ends: visits
	// still open then are closed, those still inside as "no exit recorded".
	DayEnd time.Duration
	// EscalateAfter: an application unanswered this long reminds the host;
	// twice this long, the reception desk is told.
	EscalateAfter time.Duration
}

// Alerter tells people about visits that need them: the guard desk about
// overstays and escalated applications, hosts about reminders. It must not
// block (the notification outbox queues).
type Alerter interface {
	VisitAlert(ctx context.Context, kind string, v Visit)
}

// Alert kinds.
const (
	AlertOverstay      = "visit.overstay"       // to the guard desk
	AlertRemindHost    = "visit.remind_host"    // to the host
	AlertEscalatedDesk = "visit.escalated_desk" // to the reception desk
	AlertNoExit        = "visit.no_exit"        // closed at day end while inside
)

// SweepResult counts what a sweep did.
type SweepResult struct {
	NoShows, Expired, Overstays, Closed, Reminders, Escalations int
}

// lastDayEnd is the most recent day-end boundary at or before now.
func (r SweepRules) lastDayEnd(now time.Time) time.Time {
	l := now.In(r.Location)
	y, m, d := l.Date()
	end := time.Date(y, m, d, 0, 0, 0, 0, r.Location).Add(r.DayEnd)
	if end.After(now) {
		end = time.Date(y, m, d-1, 0, 0, 0, 0, r.Location).Add(r.DayEnd)
	}
	return end
}

// Sweep applies the time rules: unused approved visits whose window ended
// become no-shows; applications nobody answered before their window ended
// are cancelled; visitors inside past their window are reported once;
// visits still open at the day's end close; unanswered applications
// escalate. It is safe to run often: every step is idempotent.
func (s *Service) Sweep(ctx context.Context, rules SweepRules, alert Alerter) (SweepResult, error) {
	var res SweepResult
	now := s.clock.Now()
	list := func(st State, until time.Time) ([]Visit, error) {
		var vs []Visit
		err := s.db.View(func(r *store.Reader) error {
			var err error
			vs, err = InState(r, st, until, 1000)
			return err
		})
		return vs, err
	}
	do := func(err error) error {
		if err == nil || isTransition(err) { // raced with a person: fine
			return nil
		}
		return err
	}
	approved, err := list(Approved, now)
	if err != nil {
		return res, err
	}
	for _, v := range approved {
		if err := do(s.Move(ctx, "system", v.ID, EvNoShow, "window over, never used")); err != nil {
			return res, err
		}
		res.NoShows++
	}
	requested, err := list(Requested, now)
	if err != nil {
		return res, err
	}
	for _, v := range requested {
		if err := do(s.Move(ctx, "system", v.ID, EvCancel, "not answered in time")); err != nil {
			return res, err
		}
		res.Expired++
	}
	inside, err := list(In, now)
	if err != nil {
		return res, err
	}
	for _, v := range inside {
		if v.Overstay != 0 {
			continue
		}
		err := s.apply(ctx, CmdOverstay, "system", markPayload{ID: v.ID})
		if isTransition(err) {
			continue // another sweep marked it: its alert went with it
		}
		if err != nil {
			return res, err
		}
		res.Overstays++
		if alert != nil {
			alert.VisitAlert(ctx, AlertOverstay, v)
		}
	}
	dayEnd := rules.lastDayEnd(now)
	for _, st := range []State{In, Out} {
		open, err := list(st, dayEnd)
		if err != nil {
			return res, err
		}
		for _, v := range open {
			note := "day ended"
			if st == In {
				note = "no exit recorded"
			}
			err := s.Move(ctx, "system", v.ID, EvClose, note)
			if isTransition(err) {
				continue // closed by a person, or by another sweep
			}
			if err != nil {
				return res, err
			}
			res.Closed++
			if st == In && alert != nil {
				alert.VisitAlert(ctx, AlertNoExit, v)
			}
		}
	}
	if rules.EscalateAfter > 0 {
		pending, err := list(Requested, now.Add(MaxAhead+MaxWindow))
		if err != nil {
			return res, err
		}
		for _, v := range pending {
			waited := now.Sub(time.Unix(0, v.Created))
			stage := 0
			switch {
			case waited >= 2*rules.EscalateAfter:
				stage = 2
			case waited >= rules.EscalateAfter:
				stage = 1
			}
			if stage <= v.Escalated {
				continue
			}
			err := s.apply(ctx, CmdEscalate, "system", markPayload{ID: v.ID, Stage: stage})
			if isTransition(err) {
				continue // answered meanwhile, or escalated by another sweep
			}
			if err != nil {
				return res, err
			}
			if stage == 1 {
				res.Reminders++
			} else {
				res.Escalations++
			}
			if alert != nil {
				kind := AlertRemindHost
				if stage == 2 {
					kind = AlertEscalatedDesk
				}
				alert.VisitAlert(ctx, kind, v)
			}
		}
	}
	return res, nil
}

func isTransition(err error) bool { return errors.Is(err, ErrTransition) }
