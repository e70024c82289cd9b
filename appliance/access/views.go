package access

import (
	"encoding/binary"
	"slices"
	"time"

	"gatehouse/appliance/store"
)

// Events lists events in [from, to), newest first, at most limit.
func Events(r *store.Reader, from, to time.Time, limit int) ([]Event, error) {
	var out []Event
	prefix := []byte{byte(store.KindEvent)}
	start := append(append([]byte(nil), prefix...), store.U64(uint64(to.UnixNano()))...)
	lo := uint64(from.UnixNano())
	err := r.Scan(prefix, store.ScanOptions{Reverse: true, Start: start}, func(k, v []byte) (bool, error) {
		if len(k) < 9 || binary.BigEndian.Uint64(k[1:9]) < lo {
			return false, nil
		}
		if binary.BigEndian.Uint64(k[1:9]) >= uint64(to.UnixNano()) {
			return true, nil
		}
		e, err := decodeEvent(v)
		if err != nil {
			return true, nil // a damaged record is skipped, not fatal
		}
		out = append(out, e)
		return len(out) < limit, nil
	})
	return out, err
}

// EventsForHolder lists a holder's events, newest first.
func EventsForHolder(r *store.Reader, holder string, limit int) ([]Event, error) {
	hk, hb := holderRaw(holder)
	prefix := append([]byte{byte(store.KindEventByHold), hk}, hb...)
	return eventsByIndex(r, prefix, limit)
}

// EventsForLane lists a lane's events, newest first.
func EventsForLane(r *store.Reader, lane string, limit int) ([]Event, error) {
	prefix := append([]byte{byte(store.KindEventByLane)}, idRaw(lane)...)
	return eventsByIndex(r, prefix, limit)
}

func eventsByIndex(r *store.Reader, prefix []byte, limit int) ([]Event, error) {
	var out []Event
	err := r.Scan(prefix, store.ScanOptions{Reverse: true, KeysOnly: true}, func(k, _ []byte) (bool, error) {
		tr := k[len(prefix):]
		v, err := r.Get(append([]byte{byte(store.KindEvent)}, tr...))
		if err != nil {
			return true, nil
		}
		e, err := decodeEvent(v)
		if err == nil {
			out = append(out, e)
		}
		return len(out) < limit, nil
	})
	return out, err
}

// Presence is someone inside a zone.
type Presence struct {
	Holder string
	ZoneID string
	Since  time.Time
}

// Inside lists everyone inside, per zone ("" for all zones).
func Inside(r *store.Reader, zoneID string) ([]Presence, error) {
	prefix := store.Prefix(store.KindPresenceZone)
	if zoneID != "" {
		prefix = store.Prefix(store.KindPresenceZone, zoneID)
	}
	var out []Presence
	err := r.Scan(prefix, store.ScanOptions{}, func(k, v []byte) (bool, error) {
		rest := string(k[1:])
		for i := 0; i < len(rest); i++ {
			if rest[i] == store.Sep {
				p := Presence{ZoneID: rest[:i], Holder: rest[i+1:]}
				if len(v) == 8 {
					p.Since = time.Unix(0, int64(binary.BigEndian.Uint64(v)))
				}
				out = append(out, p)
				break
			}
		}
		return true, nil
	})
	return out, err
}

// Recent lists the latest events, newest first: the store's and this
// lobby's not shipped yet (a lobby cut off from its site still sees its
// own gates).
func (s *Service) Recent(limit int) (es []Event, err error) {
	now := s.clock.Now()
	pending := s.out.pending() // before the store's snapshot: nothing falls between
	err = s.db.View(func(r *store.Reader) error {
		es, err = Events(r, now.AddDate(-1, 0, 0), now.Add(time.Second), limit)
		if err != nil {
			return err
		}
		for _, ev := range pending {
			if in, err := stored(r, ev); err != nil {
				return err
			} else if !in {
				e := ev.event()
				e.Lobby = noLobby
				es = append(es, e)
			}
		}
		return nil
	})
	if len(pending) > 0 {
		slices.SortStableFunc(es, func(a, b Event) int { return b.Time.Compare(a.Time) })
		es = es[:min(limit, len(es))]
	}
	return es, err
}

// Inside lists everyone inside a zone ("" for every zone), with this
// lobby's passages not shipped yet: a cut-off lobby's muster list holds
// whoever its own gates let in.
func (s *Service) Inside(zoneID string) (ps []Presence, err error) {
	pending := s.out.pending() // before the store's snapshot (see Recent)
	err = s.db.View(func(r *store.Reader) error {
		if ps, err = Inside(r, zoneID); err != nil || len(pending) == 0 {
			return err
		}
		type hz struct{ holder, zone string }
		at := make(map[hz]int, len(ps))
		for i, p := range ps {
			at[hz{p.Holder, p.ZoneID}] = i
		}
		gone := map[int]bool{}
		for _, ev := range pending {
			if !isPassage(ev) || (zoneID != "" && ev.ZoneID != zoneID) {
				continue
			}
			if in, err := stored(r, ev); err != nil {
				return err
			} else if in {
				continue
			}
			t := time.Unix(0, ev.Time)
			i, ok := at[hz{ev.Holder, ev.ZoneID}]
			switch {
			case ok && !gone[i] && ps[i].Since.After(t):
				// a later passage stands
			case ev.Entry && ok:
				ps[i].Since, gone[i] = t, false
			case ev.Entry:
				at[hz{ev.Holder, ev.ZoneID}] = len(ps)
				ps = append(ps, Presence{Holder: ev.Holder, ZoneID: ev.ZoneID, Since: t})
			case ok:
				gone[i] = true
			}
		}
		if len(gone) > 0 {
			kept := ps[:0]
			for i, p := range ps {
				if !gone[i] {
					kept = append(kept, p)
				}
			}
			ps = kept
		}
		return nil
	})
	return ps, err
}

// HolderEvents lists a holder's events, newest first.
func (s *Service) HolderEvents(holder string, limit int) (es []Event, err error) {
	err = s.db.View(func(r *store.Reader) error { es, err = EventsForHolder(r, holder, limit); return err })
	return es, err
}
