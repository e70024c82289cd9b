package visit

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"slices"
	"strings"

	"gatehouse/appliance/cpu"
	"gatehouse/appliance/store"
)

// Returning visitors are recognised by the blind index of their mobile
// (DOMAIN: visit count per visitor). The visitors list walks that index —
// keys only, one per visit, grouped by visitor — and reads the latest
// visit of each visitor for the name, masked mobile and company. Its
// memory is one small entry per distinct visitor (a hundred thousand
// visitors take about 10 MB). Visitors booked without a mobile have no
// index entry and are not listed; purged visits leave the index.

// VisitorRow is one visitor: the latest visit stands for the person.
type VisitorRow struct {
	Latest Visit // the visitor's latest visit, by expected start
	Visits int   // visits in all
}

// VisitorQuery narrows and pages the list.
type VisitorQuery struct {
	Name          string // part of the name, any case
	Offset, Limit int    // Limit 0: all
}

// VisitorPage is a page of visitors, latest visit first, and how many
// match in all.
type VisitorPage struct {
	Rows  []VisitorRow
	Total int
}

// Visitors lists the distinct visitors who left a mobile.
func Visitors(ctx context.Context, r *store.Reader, q VisitorQuery) (VisitorPage, error) {
	type group struct {
		from int64
		id   string
		n    int
	}
	var groups []group
	var cur []byte
	n := 0
	err := r.Scan([]byte{byte(store.KindVisitByVisitor)}, store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		cpu.Yield()
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return false, ctx.Err()
		}
		i := bytes.IndexByte(k[1:], store.Sep)
		if i < 0 || len(k) < 1+i+1+8+1+16 {
			return true, nil
		}
		blind := k[1 : 1+i]
		from := int64(binary.BigEndian.Uint64(k[1+i+1:]))
		id := string(k[len(k)-16:])
		if len(groups) == 0 || !bytes.Equal(blind, cur) {
			cur = append(cur[:0], blind...)
			groups = append(groups, group{})
		}
		g := &groups[len(groups)-1]
		g.n++
		if from >= g.from {
			g.from, g.id = from, id
		}
		return true, nil
	})
	if err != nil {
		return VisitorPage{}, err
	}
	slices.SortFunc(groups, func(a, b group) int { return cmp.Or(cmp.Compare(b.from, a.from), strings.Compare(a.id, b.id)) })
	name := strings.ToLower(strings.TrimSpace(q.Name))
	var page VisitorPage
	for _, g := range groups {
		cpu.Yield()
		var v Visit
		if name != "" || (page.Total >= q.Offset && (q.Limit == 0 || len(page.Rows) < q.Limit)) {
			if v, err = get(r, g.id); err != nil {
				return VisitorPage{}, err
			}
			if name != "" && !strings.Contains(strings.ToLower(v.Visitor.Name), name) {
				continue
			}
		}
		if page.Total >= q.Offset && (q.Limit == 0 || len(page.Rows) < q.Limit) {
			page.Rows = append(page.Rows, VisitorRow{Latest: v, Visits: g.n})
		}
		page.Total++
	}
	return page, nil
}

// Visitors lists the distinct visitors in a slot of heavy work.
func (s *Service) Visitors(ctx context.Context, q VisitorQuery) (p VisitorPage, err error) {
	release, err := cpu.Heavy(ctx)
	if err != nil {
		return p, err
	}
	defer release()
	err = s.db.View(func(r *store.Reader) error { p, err = Visitors(ctx, r, q); return err })
	return p, err
}

// matches reports whether v passes q's filters but the dates; name is
// q.Name lowered and trimmed.
func (q Query) matches(v Visit, name string) bool {
	return (q.CompanyID == "" || v.CompanyID == q.CompanyID) && (q.FloorID == "" || v.FloorID == q.FloorID) &&
		(q.HostID == "" || v.HostID == q.HostID) && (name == "" || strings.Contains(strings.ToLower(v.Visitor.Name), name))
}

// SearchAll is Search without pages, for an export: every match, in
// time order, at most max.
func SearchAll(r *store.Reader, q Query, max int) ([]Visit, error) {
	if q.To.Sub(q.From) > MaxRange {
		q.To = q.From.Add(MaxRange)
	}
	name := strings.ToLower(strings.TrimSpace(q.Name))
	prefix := []byte{byte(store.KindVisitByTime)}
	start := append(append([]byte(nil), prefix...), store.U64(uint64(q.From.UnixNano()))...)
	end := uint64(q.To.UnixNano())
	var out []Visit
	err := r.Scan(prefix, store.ScanOptions{KeysOnly: true, Start: start}, func(k, _ []byte) (bool, error) {
		if len(k) < 26 || binary.BigEndian.Uint64(k[1:9]) >= end {
			return false, nil
		}
		cpu.Yield()
		v, err := get(r, string(k[10:]))
		if err != nil {
			return false, err
		}
		if q.matches(v, name) {
			out = append(out, v)
		}
		return len(out) < max, nil
	})
	return out, err
}
