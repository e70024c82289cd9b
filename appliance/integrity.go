package appliance

import (
	"context"
	"errors"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/store"
)

// ScrubRate is how fast the weekly scrub reads (bytes per second): slow
// enough that a gate decision's p99 does not move while it runs on the
// lobby computer's two cores (BENCHMARKS.md), fast enough that a few
// hundred MB are read in well under an hour.
const ScrubRate = 8 << 20

// VerifyAuditDeep walks the chain and checks every record against what
// the last command to write it wrote (store.VerifyDeep).
func (a *App) VerifyAuditDeep() (rep store.DeepReport, err error) {
	err = a.Store.View(func(r *store.Reader) error { rep, err = store.VerifyDeep(r); return err })
	return rep, err
}

// Scrub reads every table, value-log file and kept value at rate bytes a
// second (0: as fast as it can) and records when it finished.
func (a *App) Scrub(ctx context.Context, rate int64) (store.ScrubReport, error) {
	rep, err := a.Store.Scrub(ctx, store.ScrubOptions{BytesPerSecond: rate})
	if ctx.Err() == nil {
		if merr := a.Store.MarkScrubbed(a.Clock.Now()); merr != nil && err == nil {
			err = merr
		}
	}
	return rep, err
}

// scrubDue says whether the weekly scrub should start now: a week after the
// last one, in the small hours (02:00–05:00 site time) when the gates are
// quiet; and at any hour once eight days have passed (the appliance was off
// at night, or has never scrubbed).
func scrubDue(now, last time.Time, loc *time.Location) bool {
	since := now.Sub(last)
	if since >= 8*24*time.Hour {
		return true
	}
	h := now.In(loc).Hour()
	return since >= 7*24*time.Hour-3*time.Hour && h >= 2 && h < 5
}

// integrity is Run's part in keeping corruption loud: it verifies every
// table once at start, starts the weekly scrub, and raises the guard
// station's alarm once the store is corrupt.
type integrity struct {
	a       *App
	running chan struct{} // closed when the running check or scrub ends; nil: none
	started bool          // the start-up table check has been launched
	alarmed bool
	ended   chan struct{} // told (without blocking) when a check or scrub ends, so Run raises the alarm at once
}

func newIntegrity(a *App) *integrity { return &integrity{a: a, ended: make(chan struct{}, 1)} }

// tell wakes Run after a check or scrub.
func (in *integrity) tell() {
	select {
	case in.ended <- struct{}{}:
	default:
	}
}

// tick starts the start-up table check on its first call, and later a
// scrub when one is due. Both run beside Run's loop, which waits for them
// on the way out (wait).
func (in *integrity) tick(ctx context.Context) {
	a := in.a
	if !in.started {
		in.started = true
		done := make(chan struct{})
		in.running = done
		go func() {
			defer close(done)
			defer in.tell()
			start := time.Now()
			if err := a.Store.VerifyTables(ctx); err != nil && ctx.Err() == nil {
				a.Log.Error("table check at start", "err", err)
				return
			}
			a.Log.Info("tables checked", "took", time.Since(start).Round(time.Millisecond))
		}()
		return
	}
	if in.running != nil {
		select {
		case <-in.running:
			in.running = nil
		default:
			return
		}
	}
	last, err := a.Store.LastScrub()
	if err != nil || !scrubDue(a.Clock.Now(), last, a.Config.Location) {
		return
	}
	done := make(chan struct{})
	in.running = done
	go func() {
		defer close(done)
		defer in.tell()
		a.Log.Info("scrub started", "rate_bytes_per_s", ScrubRate)
		rep, err := a.Scrub(ctx, ScrubRate)
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, store.ErrCorrupt):
			a.Log.Error("scrub found corruption", "err", err, "findings", len(rep.Corrupt))
		case err != nil:
			a.Log.Error("scrub failed", "err", err)
		default:
			a.Log.Info("scrub finished", "tables", rep.Tables, "value_logs", rep.ValueLogs, "versions", rep.Versions,
				"bytes", rep.Bytes, "took", rep.Took)
		}
	}()
}

func (in *integrity) wait() {
	if in.running != nil {
		<-in.running
	}
}

// alarm raises the guard station's alarm, once, when the store has found
// corruption: the desk is staffed around the clock and has a sound, so
// someone calls the administrator, whose pages say what and what to do.
func (in *integrity) alarm(ctx context.Context) {
	err := in.a.Store.Corrupt()
	if in.alarmed || err == nil {
		return
	}
	if rerr := in.a.Access.Raise(ctx, "system", access.AlarmStoreCorrupt, "", CorruptWhere(err)); rerr != nil {
		in.a.Log.Error("store corrupt alarm", "err", rerr)
		return
	}
	in.alarmed = true
}

// CorruptWhere names where a corruption is for a person: the file, else the
// record.
func CorruptWhere(err error) string {
	var ce *store.CorruptError
	if !errors.As(err, &ce) {
		return ""
	}
	if ce.File != "" {
		return ce.File
	}
	return ce.Record
}
