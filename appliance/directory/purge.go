package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Retention of deactivated people's personal data (docs/decisions.md,
// "Retention of people deactivated in the directory").
//
// Deactivating a person stamps the time (Person.Deactivated). Retention
// after that, the purge replaces the name, mobile (sealed number and its
// blind index value), employee number and position with a marker
// (Person.Purged), and removes the person from the name, company, floor
// and employee-number indexes: the person is no longer found or listed.
// The record itself stays, with its kind, company and floor, so visits,
// gate events, credentials and reports that point at it still resolve and
// the people-flow figures (which count by company and floor) do not
// change. A purged person cannot be reactivated or edited.
//
// People deactivated before the time was recorded have no stamp; the first
// purge run that sees them stamps them (CmdPersonStamp) and they are purged
// Retention after that run: the clock starts when the appliance first
// knows it is running, never earlier than the site could have expected.
//
// Both are commands in batches of purgeChunk, issued by the purge and
// checked again by the handler, as the visitors' purge (appliance/visit).

const purgeChunk = 500 // people per command: a bounded transaction

type purgePayload struct {
	IDs    []string `json:"ids"`
	Before int64    `json:"before,omitempty"` // purge: only people deactivated before this
}

// PurgeCount is what a purge of the directory removed, or would remove.
type PurgeCount struct {
	People  int // personal data of people deactivated long enough ago
	Stamped int // deactivated people the run found without a time, stamped now
}

// dueWork scans every person (a building has thousands to a few hundred
// thousand; the purge runs at night) for those deactivated without a stamp
// and those deactivated before before and not yet purged.
func dueWork(r *store.Reader, before int64) (unstamped, due []string, err error) {
	err = r.Scan(store.Prefix(store.KindPerson), store.ScanOptions{}, func(_, v []byte) (bool, error) {
		var p Person
		if err := json.Unmarshal(v, &p); err != nil {
			return false, err
		}
		switch {
		case p.Active || p.Purged != 0:
		case p.Deactivated == 0:
			unstamped = append(unstamped, p.ID)
		case p.Deactivated < before:
			due = append(due, p.ID)
		}
		return true, nil
	})
	return unstamped, due, err
}

// Purge stamps deactivated people who have no deactivation time and purges
// the personal data of those deactivated longer than keep ago.
func (s *Service) Purge(ctx context.Context, actor string, keep time.Duration) (PurgeCount, error) {
	var c PurgeCount
	before := s.clock.Now().Add(-keep).UnixNano()
	var unstamped, due []string
	err := s.db.View(func(r *store.Reader) (err error) { unstamped, due, err = dueWork(r, before); return err })
	if err != nil {
		return c, err
	}
	for len(unstamped) > 0 {
		n := min(len(unstamped), purgeChunk)
		if _, err := s.apply(ctx, CmdPersonStamp, actor, purgePayload{IDs: unstamped[:n]}); err != nil {
			return c, err
		}
		c.Stamped += n
		unstamped = unstamped[n:]
	}
	for len(due) > 0 {
		n := min(len(due), purgeChunk)
		if _, err := s.apply(ctx, CmdPersonPurge, actor, purgePayload{IDs: due[:n], Before: before}); err != nil {
			return c, err
		}
		c.People += n
		due = due[n:]
	}
	return c, nil
}

// PurgePreview counts the people whose personal data Purge would remove
// now, without removing it. Those without a deactivation time are not
// counted: the next purge only stamps them.
func (s *Service) PurgePreview(keep time.Duration) (int, error) {
	var due []string
	err := s.db.View(func(r *store.Reader) (err error) {
		_, due, err = dueWork(r, s.clock.Now().Add(-keep).UnixNano())
		return err
	})
	return len(due), err
}

func applyPersonStamp(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var pl purgePayload
	if err := cmd.Decode(&pl); err != nil {
		return store.Effect{}, err
	}
	if len(pl.IDs) > purgeChunk {
		return store.Effect{}, fmt.Errorf("%w: %d people in one command", field.ErrInvalid, len(pl.IDs))
	}
	n := 0
	for _, id := range pl.IDs {
		p, err := getPerson(&tx.Reader, id)
		if err != nil {
			return store.Effect{}, err
		}
		if p.Active || p.Deactivated != 0 || p.Purged != 0 {
			continue // reactivated or stamped since the issuer looked
		}
		p.Deactivated = cmd.Time
		if err := tx.SetJSON(store.Key(store.KindPerson, p.ID), p); err != nil {
			return store.Effect{}, err
		}
		n++
	}
	return store.Effect{Subject: "people", Note: fmt.Sprintf("deactivation time of %d people recorded", n)}, nil
}

func applyPersonPurge(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var pl purgePayload
	if err := cmd.Decode(&pl); err != nil {
		return store.Effect{}, err
	}
	if len(pl.IDs) > purgeChunk {
		return store.Effect{}, fmt.Errorf("%w: %d people in one purge", field.ErrInvalid, len(pl.IDs))
	}
	n := 0
	for _, id := range pl.IDs {
		p, err := getPerson(&tx.Reader, id)
		if err != nil {
			return store.Effect{}, err
		}
		if p.Purged != 0 {
			continue
		}
		if p.Active || p.Deactivated == 0 || p.Deactivated >= pl.Before {
			return store.Effect{}, fmt.Errorf("%w: person %s is not due for purging", field.ErrInvalid, id)
		}
		if err := deletePersonIndexes(tx, p); err != nil {
			return store.Effect{}, err
		}
		kept := Person{ID: p.ID, Kind: p.Kind, CompanyID: p.CompanyID, FloorID: p.FloorID,
			Deactivated: p.Deactivated, Purged: cmd.Time}
		if err := tx.SetJSON(store.Key(store.KindPerson, p.ID), kept); err != nil {
			return store.Effect{}, err
		}
		n++
	}
	return store.Effect{Subject: "people", Note: fmt.Sprintf("personal data of %d deactivated people purged", n)}, nil
}
