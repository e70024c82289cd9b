// Package hourly keeps the gate's hourly counters: for every UTC hour and
// lane, how many entries and exits were granted or refused, per kind of
// holder. The access command that records a gate event adds to them in
// the same transaction (access.PutEvent), so they are exact and durable
// with the event itself; a dashboard or a yearly report then reads about
// 24 × lanes small records a day instead of every event.
//
// Hours are UTC hours: a building whose zone is offset by a fraction of an
// hour (India, +5:30) would see its local hours shifted by the fraction.
// Every zone the appliance ships for is a whole number of hours off UTC.
package hourly

import (
	"encoding/binary"
	"errors"
	"time"

	"gatehouse/appliance/store"
)

// Holder kinds, as the compact event record stores them.
const (
	HolderNone   = 0 // unknown card, manual opening
	HolderPerson = 1 // a directory person: employee or property staff
	HolderVisit  = 2 // a visitor's pass
	HolderCred   = 3 // a credential without a directory person (contractor, customer)
)

// Cells is the number of counters per hour and lane.
const Cells = 16

// Cell is the counter of one combination.
func Cell(entry, grant bool, holderKind byte) int {
	c := int(holderKind & 3)
	if grant {
		c |= 4
	}
	if entry {
		c |= 8
	}
	return c
}

// CellParts is the inverse of Cell.
func CellParts(c int) (entry, grant bool, holderKind byte) {
	return c&8 != 0, c&4 != 0, byte(c & 3)
}

// Counts are one hour's counters on one lane, indexed by Cell.
type Counts [Cells]uint32

const valueLen = Cells * 4

// laneKey keeps only well-formed lane IDs in keys.
func laneKey(lane string) string {
	if len(lane) != 16 {
		return ""
	}
	for i := 0; i < len(lane); i++ {
		if lane[i] == store.Sep {
			return ""
		}
	}
	return lane
}

// Key is the counter record of the UTC hour holding t, on lane.
func Key(t time.Time, lane string) []byte {
	k := make([]byte, 0, 5+16)
	k = append(k, byte(store.KindFlowHour))
	k = binary.BigEndian.AppendUint32(k, uint32(t.Unix()/3600))
	return append(k, laneKey(lane)...)
}

func decode(b []byte) (c Counts) {
	if len(b) != valueLen {
		return c
	}
	for i := range c {
		c[i] = binary.BigEndian.Uint32(b[i*4:])
	}
	return c
}

func encode(c *Counts) []byte {
	b := make([]byte, valueLen)
	for i, n := range c {
		binary.BigEndian.PutUint32(b[i*4:], n)
	}
	return b
}

// Add counts n events of cell at t on lane, inside the caller's command.
func Add(tx *store.Tx, t time.Time, lane string, cell, n int) error {
	k := Key(t, lane)
	var c Counts
	b, err := tx.Get(k)
	switch {
	case err == nil:
		c = decode(b)
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	c[cell&(Cells-1)] += uint32(n)
	return tx.Set(k, encode(&c))
}

// Scan calls fn for every counter record of the hours in [from, to), in
// time order (lanes in ID order within an hour). hour is the hour's start.
func Scan(r *store.Reader, from, to time.Time, fn func(hour time.Time, lane string, c *Counts)) error {
	prefix := []byte{byte(store.KindFlowHour)}
	lo, hi := hourOf(from), hourOf(to)
	if to.Unix()%3600 != 0 {
		hi++ // a partial last hour is included
	}
	start := binary.BigEndian.AppendUint32(append([]byte(nil), prefix...), lo)
	var c Counts
	return r.Scan(prefix, store.ScanOptions{Start: start}, func(k, v []byte) (bool, error) {
		if len(k) < 5 {
			return true, nil
		}
		h := binary.BigEndian.Uint32(k[1:5])
		if h >= hi {
			return false, nil
		}
		c = decode(v)
		fn(time.Unix(int64(h)*3600, 0), string(k[5:]), &c)
		return true, nil
	})
}

func hourOf(t time.Time) uint32 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	return uint32(s / 3600)
}
