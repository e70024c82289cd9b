package visit

import (
	"encoding/binary"
	"errors"
	"strings"
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

// Query selects visits for the records pages: a date range on the
// expected start, narrowed by company, floor, host and a part of the
// visitor's name.
type Query struct {
	From, To  time.Time
	CompanyID string
	FloorID   string
	HostID    string
	Name      string // part of the visitor's name, any case
	Offset    int
	Limit     int
}

// Page is one page of visits and how many match in all.
type Page struct {
	Visits []Visit
	Total  int
}

// MaxRange bounds a records query: a year, the longest report.
const MaxRange = 366 * 24 * time.Hour

// Search walks the time index over [From, To) and filters the records.
func Search(r *store.Reader, q Query) (Page, error) {
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	if q.To.Sub(q.From) > MaxRange {
		q.To = q.From.Add(MaxRange)
	}
	name := strings.ToLower(strings.TrimSpace(q.Name))
	prefix := []byte{byte(store.KindVisitByTime)}
	start := append(append([]byte(nil), prefix...), store.U64(uint64(q.From.UnixNano()))...)
	end := uint64(q.To.UnixNano())
	var page Page
	err := r.Scan(prefix, store.ScanOptions{KeysOnly: true, Start: start}, func(k, _ []byte) (bool, error) {
		if len(k) < 26 || binary.BigEndian.Uint64(k[1:9]) >= end {
			return false, nil
		}
		v, err := get(r, string(k[10:]))
		if err != nil {
			return false, err
		}
		if !q.matches(v, name) {
			return true, nil
		}
		if page.Total >= q.Offset && len(page.Visits) < q.Limit {
			page.Visits = append(page.Visits, v)
		}
		page.Total++
		return true, nil
	})
	return page, err
}

// ForVisitor lists the visits of one visitor (by the blind index of the
// mobile), newest first.
func ForVisitor(r *store.Reader, mobileBlind string, limit int) ([]Visit, error) {
	var out []Visit
	err := r.Scan(store.Prefix(store.KindVisitByVisitor, mobileBlind), store.ScanOptions{KeysOnly: true, Reverse: true}, func(k, _ []byte) (bool, error) {
		v, err := get(r, string(k[len(k)-16:]))
		if err != nil {
			return false, err
		}
		out = append(out, v)
		return len(out) < limit, nil
	})
	return out, err
}
