package backup

import (
	"context"
	"math"
	"time"
)

// Due reports whether the daily backup should run now: backups are set
// up, today's time has passed (site time) and today has no scheduled
// attempt yet. A backup missed while the appliance was off runs when it
// comes back.
func (s *Service) Due(now time.Time) bool {
	set, err := s.Settings()
	if err != nil || set.Target == "" {
		return false
	}
	at, err := time.Parse("15:04", set.At)
	if err != nil {
		return false
	}
	local := now.In(s.loc)
	y, m, d := local.Date()
	when := time.Date(y, m, d, at.Hour(), at.Minute(), 0, 0, s.loc)
	if local.Before(when) {
		return false
	}
	day := local.Format("2006-01-02")
	s.mu.Lock()
	tried := s.lastTry == day
	s.mu.Unlock()
	if tried {
		return false
	}
	// After a restart: a run recorded since today's time counts.
	runs, err := s.Runs(1)
	if err == nil && len(runs) > 0 && runs[0].Started >= when.UnixNano() && runs[0].OK() {
		s.markTried(day)
		return false
	}
	return true
}

func (s *Service) markTried(day string) {
	s.mu.Lock()
	s.lastTry = day
	s.mu.Unlock()
}

// Tick runs the daily backup if it is due. The appliance calls it every
// minute and raises an alarm on the error it returns. With backups off it
// empties the store's graveyard once a day instead: the first backup will
// be a full one, which needs none of it.
func (s *Service) Tick(ctx context.Context) (Run, bool, error) {
	now := s.clk.Now()
	if set, err := s.Settings(); err == nil && set.Target == "" {
		day := now.In(s.loc).Format("2006-01-02")
		s.mu.Lock()
		done := s.lastPrune == day
		s.lastPrune = day
		s.mu.Unlock()
		if p, ok := s.src.(pruner); ok && !done {
			if _, err := p.PruneGraveyard(ctx, math.MaxUint64); err != nil {
				s.log.Warn("emptying the deletion log", "err", err)
			}
		}
		return Run{}, false, nil
	}
	if !s.Due(now) {
		return Run{}, false, nil
	}
	s.markTried(now.In(s.loc).Format("2006-01-02"))
	run, err := s.Now(ctx, "system", "schedule", nil)
	return run, true, err
}

// Health is what /healthz says about backups.
type Health struct {
	State string // "off" (no target), "pending" (none run yet), "ok", "failed", "missed"
	Last  Run    // the newest run, if any
}

// Health tells whether the newest backup run succeeded and is recent:
// with backups set up, none in the last 26 hours is "missed".
func (s *Service) Health() Health {
	set, err := s.Settings()
	if err != nil {
		return Health{State: "failed"}
	}
	if set.Target == "" {
		return Health{State: "off"}
	}
	runs, err := s.Runs(1)
	if err != nil {
		return Health{State: "failed"}
	}
	if len(runs) == 0 {
		return Health{State: "pending"}
	}
	h := Health{Last: runs[0]}
	switch {
	case !runs[0].OK():
		h.State = "failed"
	case s.clk.Now().Sub(time.Unix(0, runs[0].Started)) > 26*time.Hour:
		h.State = "missed"
	default:
		h.State = "ok"
	}
	return h
}
