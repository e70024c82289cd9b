package notify

import (
	"encoding/binary"
	"errors"
	"fmt"

	"gatehouse/appliance/store"
)

// Totals counts a group's messages still in the outbox by state. The
// handlers that change a state (enqueue, an attempt's outcome, retry,
// purge) update them in the same transaction, so they are exact and a
// page reads one key instead of every message of a broadcast. Messages
// purged by the retention are in none of the counts.
type Totals struct {
	Pending, Delivered, Dead int
}

// GroupTotals returns a group's totals; found is false when no message
// of the group was ever queued (or it was queued before the outbox kept
// totals).
func GroupTotals(r *store.Reader, group string) (t Totals, found bool, err error) {
	if !store.ValidID(group) {
		return t, false, nil
	}
	b, err := r.Get(groupKey(group))
	if errors.Is(err, store.ErrNotFound) {
		return t, false, nil
	}
	if err != nil {
		return t, false, err
	}
	if len(b) != 12 {
		return t, false, fmt.Errorf("notify: group totals of %s: %d bytes", group, len(b))
	}
	return Totals{Pending: int(binary.BigEndian.Uint32(b)), Delivered: int(binary.BigEndian.Uint32(b[4:])),
		Dead: int(binary.BigEndian.Uint32(b[8:]))}, true, nil
}

// tally gathers one command's changes to group totals, written once per
// group.
type tally struct {
	order []string
	delta map[string]*[3]int
}

func stateIndex(s State) int {
	switch s {
	case Pending:
		return 0
	case Delivered:
		return 1
	case Dead:
		return 2
	}
	return -1
}

// add moves one message of group from state from to state to ("" for
// none: queued, purged).
func (t *tally) add(group string, from, to State) {
	if group == "" || from == to {
		return
	}
	if t.delta == nil {
		t.delta = map[string]*[3]int{}
	}
	d := t.delta[group]
	if d == nil {
		d = new([3]int)
		t.delta[group] = d
		t.order = append(t.order, group)
	}
	if i := stateIndex(from); i >= 0 {
		d[i]--
	}
	if i := stateIndex(to); i >= 0 {
		d[i]++
	}
}

func (t *tally) write(tx *store.Tx) error {
	for _, g := range t.order {
		cur, _, err := GroupTotals(&tx.Reader, g)
		if err != nil {
			return err
		}
		d := t.delta[g]
		n := [3]int{cur.Pending + d[0], cur.Delivered + d[1], cur.Dead + d[2]}
		b := make([]byte, 12)
		for i, v := range n {
			// Never below zero, whatever an older record held.
			binary.BigEndian.PutUint32(b[4*i:], uint32(max(v, 0)))
		}
		if err := tx.Set(groupKey(g), b); err != nil {
			return err
		}
	}
	return nil
}
