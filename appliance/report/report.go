// Package report is the people-flow dashboard and the periodic reports:
// who is inside now (building, floor, company), entries and exits per hour
// against the same weekday's average, visitors against employees, the
// busiest lanes; and, for any date range over the whole history, visits by
// company, floor, mode and outcome, gate passages by lane and result, peak
// hours, the average visit length and no-shows.
//
// Gate figures come from the hourly counters (appliance/report/hourly) that
// every gate event adds to, so a year costs about 9,000 hours × lanes small
// reads instead of millions of events. Visit figures walk the visits'
// time index: a year of a large building is around a hundred thousand.
package report

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/report/hourly"
	"gatehouse/appliance/store"
)

// Command types.
const (
	CmdBegin   = "report.flow.begin"   // the counters start: older events are to be rebuilt
	CmdRebuild = "report.flow.rebuild" // one day of older events counted
)

// rebuildState is the one-time rebuild of the hourly counters from the
// events an earlier release wrote without them.
type rebuildState struct {
	Cutoff int64 `json:"cutoff"` // events before it have no counters yet
	Next   int64 `json:"next"`   // the oldest event not yet counted
	Done   bool  `json:"done"`
}

var metaKey = store.Key(store.KindFlowMeta, "rebuild")

// Register installs the report commands.
func Register(reg store.Registrar) {
	reg.Register(CmdBegin, applyBegin)
	reg.Register(CmdRebuild, applyRebuild)
}

func getState(r *store.Reader) (rebuildState, bool, error) {
	var st rebuildState
	err := r.GetJSON(metaKey, &st)
	if errors.Is(err, store.ErrNotFound) {
		return st, false, nil
	}
	return st, err == nil, err
}

// applyBegin records that counters exist from now on. Events already
// stored were written without counters: the rebuild counts them, from the
// oldest up to this command's time. It does nothing the second time.
func applyBegin(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	_, ok, err := getState(&tx.Reader)
	if err != nil || ok {
		return store.Effect{Note: "already started"}, err
	}
	st := rebuildState{Cutoff: cmd.Time, Done: true}
	err = tx.Scan([]byte{byte(store.KindEvent)}, store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		if len(k) >= 9 {
			st.Next = int64(binary.BigEndian.Uint64(k[1:9]))
			st.Done = st.Next >= st.Cutoff
		}
		return false, nil
	})
	if err != nil {
		return store.Effect{}, err
	}
	if err := tx.SetJSON(metaKey, st); err != nil {
		return store.Effect{}, err
	}
	if st.Done {
		return store.Effect{Note: "nothing to rebuild"}, nil
	}
	return store.Effect{Note: "rebuild from " + time.Unix(0, st.Next).UTC().Format(time.RFC3339)}, nil
}

// One rebuild command counts at most a day, and at most rebuildMax events
// (it stops between two event times): the gate waits behind each command,
// so each stays short however busy the building was.
const rebuildStep = int64(24 * time.Hour)

var rebuildMax = 5000 // a variable for the tests

var errChunkFull = errors.New("report: rebuild chunk full")

// applyRebuild counts the next chunk of older events. The counters are
// summed in memory and written once per hour and lane, so the transaction
// stays small.
func applyRebuild(tx *store.Tx, _ store.Command) (store.Effect, error) {
	st, ok, err := getState(&tx.Reader)
	if err != nil || !ok || st.Done {
		return store.Effect{Note: "nothing to do"}, err
	}
	to := min(st.Next+rebuildStep, st.Cutoff)
	type hl struct {
		hour int64
		lane string
	}
	sums := map[hl]*hourly.Counts{}
	n := 0
	last := int64(-1)
	err = access.ScanEvents(&tx.Reader, time.Unix(0, st.Next), time.Unix(0, to), func(e access.Event) error {
		ns := e.Time.UnixNano()
		if n >= rebuildMax && ns != last {
			to = ns // the rest from here on, next time
			return errChunkFull
		}
		last = ns
		k := hl{e.Time.Unix() / 3600, e.Lane}
		c := sums[k]
		if c == nil {
			c = new(hourly.Counts)
			sums[k] = c
		}
		c[hourly.Cell(e.Entry, e.Grant, access.EventHolderKind(e.Holder))]++
		n++
		return nil
	})
	if err != nil && !errors.Is(err, errChunkFull) {
		return store.Effect{}, err
	}
	for k, c := range sums {
		for cell, v := range c {
			if v == 0 {
				continue
			}
			if err := hourly.Add(tx, time.Unix(k.hour*3600, 0), k.lane, cell, int(v)); err != nil {
				return store.Effect{}, err
			}
		}
	}
	st.Next, st.Done = to, to >= st.Cutoff
	if err := tx.SetJSON(metaKey, st); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Note: fmt.Sprintf("%d events before %s", n, time.Unix(0, to).UTC().Format(time.RFC3339Nano))}, nil
}

// Service computes the dashboard and the reports.
type Service struct {
	db    store.DB
	clock clock.Clock
	loc   *time.Location
	acc   *access.Service
	log   *slog.Logger
}

// New returns the report service; loc is the building's zone.
func New(db store.DB, c clock.Clock, loc *time.Location, acc *access.Service, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{db: db, clock: c, loc: loc, acc: acc, log: log}
}

// Start begins the counters on a data directory that has none. The
// appliance calls it once at open, before any gate runs, so that every
// event stored before it is older than the cutoff.
func (s *Service) Start(ctx context.Context) error {
	var ok bool
	err := s.db.View(func(r *store.Reader) (err error) { _, ok, err = getState(r); return err })
	if err != nil || ok {
		return err
	}
	_, err = store.Issue(ctx, s.db, CmdBegin, "system", s.clock.Now(), struct{}{})
	return err
}

// Rebuilding reports whether older events are still being counted.
func (s *Service) Rebuilding() bool {
	var st rebuildState
	var ok bool
	_ = s.db.View(func(r *store.Reader) (err error) { st, ok, err = getState(r); return err })
	return ok && !st.Done
}

// Rebuild counts the events an earlier release stored without counters, a
// day per command, until done or ctx ends. The appliance runs it in the
// background; reports say that older figures are incomplete meanwhile.
func (s *Service) Rebuild(ctx context.Context) error {
	for ctx.Err() == nil {
		if !s.Rebuilding() {
			return nil
		}
		if _, err := store.Issue(ctx, s.db, CmdRebuild, "system", s.clock.Now(), struct{}{}); err != nil {
			return err
		}
	}
	return ctx.Err()
}
