package visit

import (
	"encoding/binary"
	"errors"
	"time"

	"gatehouse/appliance/store"
)

// Get returns one visit.
func Get(r *store.Reader, id string) (Visit, error) { return get(r, id) }

// ByLinkHash returns the visit whose status-page token hashes to h.
func ByLinkHash(r *store.Reader, h string) (Visit, error) {
	id, err := r.Get(store.Key(store.KindVisitByLink, h))
	if errors.Is(err, store.ErrNotFound) {
		return Visit{}, ErrNotFound
	} else if err != nil {
		return Visit{}, err
	}
	return get(r, string(id))
}

// Between lists visits expected to start in [from, to), earliest first,
// at most limit (0: no limit).
func Between(r *store.Reader, from, to time.Time, limit int) ([]Visit, error) {
	prefix := []byte{byte(store.KindVisitByTime)}
	start := append(append([]byte(nil), prefix...), store.U64(uint64(from.UnixNano()))...)
	end := uint64(to.UnixNano())
	var ids []string
	err := r.Scan(prefix, store.ScanOptions{KeysOnly: true, Start: start}, func(k, _ []byte) (bool, error) {
		if len(k) < 10 || binary.BigEndian.Uint64(k[1:9]) >= end {
			return false, nil
		}
		ids = append(ids, string(k[10:]))
		return limit == 0 || len(ids) < limit, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Visit, 0, len(ids))
	for _, id := range ids {
		v, err := get(r, id)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ForHost lists a host's visits, newest first.
func ForHost(r *store.Reader, hostID string, limit int) ([]Visit, error) {
	var out []Visit
	err := r.Scan(store.Prefix(store.KindVisitByHost, hostID), store.ScanOptions{KeysOnly: true, Reverse: true}, func(k, _ []byte) (bool, error) {
		id := string(k[len(k)-16:])
		v, err := get(r, id)
		if err != nil {
			return false, err
		}
		out = append(out, v)
		return len(out) < limit, nil
	})
	return out, err
}

// InState lists visits in state s whose window ends before until, soonest
// first: the sweeps use it to find no-shows, overstays and stale requests.
func InState(r *store.Reader, s State, until time.Time, limit int) ([]Visit, error) {
	var out []Visit
	end := uint64(until.UnixNano())
	err := r.Scan(store.Prefix(store.KindVisitByState, string(s)), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		n := len(k)
		if n < 26 || binary.BigEndian.Uint64(k[n-25:n-17]) >= end {
			return false, nil
		}
		v, err := get(r, string(k[n-16:]))
		if err != nil {
			return false, err
		}
		out = append(out, v)
		return limit == 0 || len(out) < limit, nil
	})
	return out, err
}

// ByPass returns the visit a pass belongs to.
func ByPass(r *store.Reader, passID string) (Visit, error) {
	id, err := r.Get(store.Key(store.KindPass, passID))
	if errors.Is(err, store.ErrNotFound) {
		return Visit{}, ErrNotFound
	} else if err != nil {
		return Visit{}, err
	}
	return get(r, string(id))
}

// VisitCount counts the visits of a visitor by the blind index of the
// mobile: returning visitors are recognised at the desk.
func VisitCount(r *store.Reader, mobileBlind string) (int, error) {
	n := 0
	err := r.Scan(store.Prefix(store.KindVisitByVisitor, mobileBlind), store.ScanOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
		n++
		return true, nil
	})
	return n, err
}
