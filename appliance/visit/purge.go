package visit

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Retention of visitors' personal data (docs/decisions.md, "Retention").
//
// Once a visit is over (a final state) and its window ended Retention.
// Personal ago, the purge replaces the visitor's name, title, mobile, ID
// digits and company, the invitation text and the sealed status link with a
// marker (Visitor.Purged), and drops the mobile's index entry and the
// photo. Everything the reports and the people flow count — mode, state,
// times, host, company and floor visited, party size, gate events — stays,
// so figures for a purged period do not change. Photos go sooner, after
// Retention.Photos. The purge is commands (audited, replicated like any
// other); the issuer picks the visits, the handler checks each is due.
//
// Each kind of purge keeps a mark: the window start below which nothing is
// left to purge, so a nightly run reads only what is new.

// Purge commands.
const (
	CmdPurge       = "visit.purge"        // personal data of old visits
	CmdPurgePhotos = "visit.purge_photos" // photos of old visits
	purgeChunk     = 500                  // visits per command: a bounded transaction
)

// Retention is how long after a visit's window visitors' data is kept.
type Retention struct {
	Personal time.Duration // names, mobiles, ID numbers (default 180 days)
	Photos   time.Duration // photos taken at the desk (default 30 days)
}

// DefaultRetention is what a site keeps unless its administrator says
// otherwise: half a year of names and numbers answers "who was here" for
// incidents, insurance and disputes; a photo only helps the guard on the day
// and in the weeks after.
func DefaultRetention() Retention {
	return Retention{Personal: 180 * 24 * time.Hour, Photos: 30 * 24 * time.Hour}
}

type purgePayload struct {
	IDs    []string `json:"ids"`
	Before int64    `json:"before"` // only visits whose window ended before this
	Mark   int64    `json:"mark"`   // the new mark: nothing left to purge below this window start
}

func purgeMarkKey(photos bool) []byte {
	if photos {
		return store.Key(store.KindVisitPurge, "photos")
	}
	return store.Key(store.KindVisitPurge, "personal")
}

func purgeMark(r *store.Reader, photos bool) (int64, error) {
	b, err := r.Get(purgeMarkKey(photos))
	if err != nil || len(b) != 8 {
		return 0, nil // no mark yet: from the beginning
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// due returns up to max visits whose data (or photo) is due before before,
// from the mark on, and the mark after them.
func due(r *store.Reader, photos bool, before int64, max int) (ids []string, mark int64, err error) {
	mark, err = purgeMark(r, photos)
	if err != nil {
		return nil, 0, err
	}
	blocked := false
	start := store.Key(store.KindVisitByTime, u64s(mark))
	prefix := []byte{byte(store.KindVisitByTime)}
	err = r.Scan(prefix, store.ScanOptions{KeysOnly: true, Start: start}, func(k, _ []byte) (bool, error) {
		n := len(k)
		if n < 26 {
			return true, nil
		}
		from := int64(binary.BigEndian.Uint64(k[n-25 : n-17]))
		if from >= before || len(ids) >= max {
			if !blocked {
				mark = from
			}
			return false, nil
		}
		v, err := get(r, string(k[n-16:]))
		if err != nil {
			return false, err
		}
		switch {
		case v.Until >= before || !v.State.Final():
			blocked = true // not yet: the mark stays below it
		case photos && v.Photo, !photos && v.Visitor.Purged == 0:
			ids = append(ids, v.ID)
		}
		if !blocked {
			mark = from
		}
		return true, nil
	})
	return ids, mark, err
}

// PurgeCount is what a purge removed, or would remove.
type PurgeCount struct {
	Visits int // visitors' personal data
	Photos int
}

// Purge removes what rules say is due now, in bounded commands.
func (s *Service) Purge(ctx context.Context, actor string, rules Retention) (PurgeCount, error) {
	var c PurgeCount
	now := s.clock.Now()
	for _, photos := range []bool{true, false} {
		keep := rules.Personal
		if photos {
			keep = rules.Photos
		}
		before := now.Add(-keep).UnixNano()
		for {
			var ids []string
			var mark, old int64
			err := s.db.View(func(r *store.Reader) error {
				var err error
				if old, err = purgeMark(r, photos); err != nil {
					return err
				}
				ids, mark, err = due(r, photos, before, purgeChunk)
				return err
			})
			if err != nil {
				return c, err
			}
			if len(ids) == 0 && mark <= old {
				break
			}
			typ := CmdPurge
			if photos {
				typ = CmdPurgePhotos
			}
			if err := s.apply(ctx, typ, actor, purgePayload{IDs: ids, Before: before, Mark: mark}); err != nil {
				return c, err
			}
			if photos {
				c.Photos += len(ids)
			} else {
				c.Visits += len(ids)
			}
			if len(ids) < purgeChunk {
				break // the scan ended before the chunk filled: nothing more is due
			}
		}
	}
	return c, nil
}

// PurgePreview counts what Purge would remove now, without removing it.
func (s *Service) PurgePreview(rules Retention) (PurgeCount, error) {
	var c PurgeCount
	now := s.clock.Now()
	err := s.db.View(func(r *store.Reader) error {
		ids, _, err := due(r, true, now.Add(-rules.Photos).UnixNano(), 1<<30)
		if err != nil {
			return err
		}
		c.Photos = len(ids)
		ids, _, err = due(r, false, now.Add(-rules.Personal).UnixNano(), 1<<30)
		c.Visits = len(ids)
		return err
	})
	return c, err
}

func applyPurge(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p purgePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	photos := cmd.Type == CmdPurgePhotos
	if len(p.IDs) > purgeChunk {
		return store.Effect{}, fmt.Errorf("%w: %d visits in one purge", field.ErrInvalid, len(p.IDs))
	}
	n := 0
	for _, id := range p.IDs {
		v, err := get(&tx.Reader, id)
		if err != nil {
			return store.Effect{}, err
		}
		if v.Until >= p.Before || !v.State.Final() {
			return store.Effect{}, fmt.Errorf("%w: visit %s is not due for purging", field.ErrInvalid, id)
		}
		if v.Photo {
			if err := tx.Delete(store.Key(store.KindVisitPhoto, v.ID)); err != nil {
				return store.Effect{}, err
			}
			v.Photo, v.PhotoPurged = false, cmd.Time
		}
		if !photos && v.Visitor.Purged == 0 {
			if v.Visitor.MobileBlind != "" {
				if err := tx.Delete(store.Key(store.KindVisitByVisitor, v.Visitor.MobileBlind, u64s(v.From), v.ID)); err != nil {
					return store.Effect{}, err
				}
			}
			v.Visitor = Visitor{Purged: cmd.Time}
			v.Message, v.LinkSealed = "", ""
		}
		if err := tx.SetJSON(visitKey(v.ID), v); err != nil {
			return store.Effect{}, err
		}
		n++
	}
	if err := tx.Set(purgeMarkKey(photos), store.U64(uint64(p.Mark))); err != nil {
		return store.Effect{}, err
	}
	what := "visitors' personal data"
	if photos {
		what = "visitor photos"
	}
	return store.Effect{Subject: "visits", Note: fmt.Sprintf("%s of %d visits purged", what, n)}, nil
}
