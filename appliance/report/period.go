package report

import (
	"context"
	"encoding/binary"
	"errors"
	"gatehouse/appliance/cpu"
	"slices"
	"sort"
	"time"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/report/hourly"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// Period kinds.
const (
	Day   = "day"
	Week  = "week"
	Month = "month"
	Year  = "year"
	Range = "range" // any range of whole days
)

// ErrRange means a report's end is not after its start.
var ErrRange = errors.New("report: the range must end after it starts")

// Span is the local-midnight range [From, To) a period kind covers around
// day: the day itself, its ISO week (Monday first), its month or its year.
func Span(kind string, day time.Time, loc *time.Location) (from, to time.Time) {
	from = dayStart(day, loc)
	switch kind {
	case Week:
		wd := (int(from.Weekday()) + 6) % 7 // Monday 0
		from = from.AddDate(0, 0, -wd)
		return from, from.AddDate(0, 0, 7)
	case Month:
		from = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 1, 0)
	case Year:
		from = time.Date(from.Year(), 1, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(1, 0, 0)
	}
	return from, from.AddDate(0, 0, 1)
}

// Bucket is one step of a report's time series: a day, or a month in
// ranges longer than two months.
type Bucket struct {
	Start   time.Time
	Monthly bool
	In, Out int
	Visits  int
}

// Peak is one of the busiest single hours.
type Peak struct {
	Start time.Time
	In    int
}

// Report is a period's figures.
type Report struct {
	From, To time.Time // local midnights, To exclusive
	Now      time.Time

	In, Out           int // granted passages
	InDenied, OutDeny int
	Lanes             []LaneFlow
	ByGroup           map[string]int // granted entries by holder group
	HourOfDay         [24]int        // granted entries by local hour of day
	Peaks             []Peak         // busiest hours, at most 5
	Series            []Bucket

	Visits     int
	ByCompany  []Count
	ByFloor    []Count
	ByMode     []Count // ID is the mode
	ByOutcome  []Count // ID is the state
	NoShows    int
	NoShowBy   []Count // by company
	AvgLength  time.Duration
	Timed      int // visits with both an entry and an exit, behind AvgLength
	Rebuilding bool
}

// visitRow is what a report reads of a visit: decoding only these fields
// of the stored JSON allocates nothing for the rest.
type visitRow struct {
	Mode      visit.Mode  `json:"mode"`
	State     visit.State `json:"state"`
	CompanyID string      `json:"company_id"`
	FloorID   string      `json:"floor_id"`
	From      int64       `json:"from"`
	Until     int64       `json:"until"`
	FirstIn   int64       `json:"first_in"`
	LastOut   int64       `json:"last_out"`
}

// noShow reports whether v is a no-show at now: marked so by the sweep, or
// an approved visit whose window ended without an entry (the sweep runs
// every minute; this covers the gap).
func (v visitRow) noShow(now time.Time) bool {
	return v.State == visit.NoShow || (v.State == visit.Approved && v.FirstIn == 0 && v.Until <= now.UnixNano())
}

// fewVisits is up to how many visits eachVisit reads one by one.
const fewVisits = 512

// eachVisit calls fn with every visit expected to start in [from, to).
// The time index gives the IDs; a few are read one by one, but many (a
// month, a year) are read in one pass over the visit records in ID order:
// IDs sort by creation time, so a period's visits lie close together, and
// a forward scan decompresses each table block once where a read per visit
// in start order would decompress blocks again and again.
func eachVisit(r *store.Reader, from, to time.Time, fn func(visitRow)) error {
	prefix := []byte{byte(store.KindVisitByTime)}
	start := append(append([]byte(nil), prefix...), store.U64(uint64(from.UnixNano()))...)
	end := uint64(to.UnixNano())
	var ids []string
	err := r.Scan(prefix, store.ScanOptions{KeysOnly: true, Start: start}, func(k, _ []byte) (bool, error) {
		if len(k) < 26 || binary.BigEndian.Uint64(k[1:9]) >= end {
			return false, nil
		}
		ids = append(ids, string(k[10:]))
		return true, nil
	})
	if err != nil || len(ids) == 0 {
		return err
	}
	var row visitRow
	decode := func(b []byte) {
		if readVisitRow(b, &row) { // a damaged record is skipped
			fn(row)
		}
	}
	if len(ids) <= fewVisits {
		for _, id := range ids {
			b, err := r.Get(store.Key(store.KindVisit, id))
			if errors.Is(err, store.ErrNotFound) {
				continue // an index without its record
			} else if err != nil {
				return err
			}
			decode(b)
		}
		return nil
	}
	slices.Sort(ids)
	vp := []byte{byte(store.KindVisit)}
	i := 0
	return r.Scan(vp, store.ScanOptions{Start: store.Key(store.KindVisit, ids[0])}, func(k, v []byte) (bool, error) {
		id := string(k[1:])
		for i < len(ids) && ids[i] < id {
			i++ // an index without its record
		}
		if i == len(ids) {
			return false, nil
		}
		if ids[i] == id {
			decode(v)
			i++
		}
		return i < len(ids), nil
	})
}

// Report computes the figures of [from, to), both local midnights.
func (s *Service) Report(from, to time.Time) (Report, error) {
	if !to.After(from) {
		return Report{}, ErrRange
	}
	rep := Report{From: from, To: to, Now: s.clock.Now(), ByGroup: map[string]int{}}
	release, err := cpu.Heavy(context.Background())
	if err != nil {
		return rep, err
	}
	defer release()
	lanes, err := s.acc.Lanes()
	if err != nil {
		return rep, err
	}
	laneName := map[string]string{}
	for _, l := range lanes {
		laneName[l.ID] = l.Name
	}
	rep.Rebuilding = s.Rebuilding()
	monthly := to.Sub(from) > 62*24*time.Hour
	for t := from; t.Before(to); {
		next := t.AddDate(0, 0, 1)
		if monthly {
			next = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, s.loc)
		}
		rep.Series = append(rep.Series, Bucket{Start: t, Monthly: monthly})
		t = next
	}
	bucketOf := func(t time.Time) int { // t local
		i := sort.Search(len(rep.Series), func(i int) bool { return rep.Series[i].Start.After(t) }) - 1
		return max(i, 0)
	}
	err = s.db.View(func(r *store.Reader) error {
		perLane := map[string]*LaneFlow{}
		var curHour int64 = -1
		var lh, bi int
		var hourIn int
		var peaks []Peak
		flush := func() {
			if curHour >= 0 && hourIn > 0 {
				peaks = append(peaks, Peak{Start: time.Unix(curHour*3600, 0).In(s.loc), In: hourIn})
			}
		}
		err := hourly.Scan(r, from, to, func(hour time.Time, lane string, c *hourly.Counts) {
			cpu.Yield()
			if h := hour.Unix() / 3600; h != curHour {
				flush()
				curHour, hourIn = h, 0
				lt := hour.In(s.loc)
				lh, bi = lt.Hour(), bucketOf(lt)
			}
			lf := perLane[lane]
			if lf == nil {
				lf = &LaneFlow{ID: lane, Name: laneName[lane]}
				perLane[lane] = lf
			}
			for cell, n32 := range c {
				if n32 == 0 {
					continue
				}
				n := int(n32)
				entry, grant, kind := hourly.CellParts(cell)
				switch {
				case !grant && entry:
					rep.InDenied += n
					lf.Denied += n
				case !grant:
					rep.OutDeny += n
					lf.Denied += n
				case entry:
					rep.In += n
					lf.In += n
					rep.ByGroup[groupOf(kind)] += n
					rep.HourOfDay[lh] += n
					rep.Series[bi].In += n
					hourIn += n
				default:
					rep.Out += n
					lf.Out += n
					rep.Series[bi].Out += n
				}
			}
		})
		if err != nil {
			return err
		}
		flush()
		sort.SliceStable(peaks, func(i, j int) bool { return peaks[i].In > peaks[j].In })
		rep.Peaks = peaks[:min(5, len(peaks))]
		for _, lf := range perLane {
			rep.Lanes = append(rep.Lanes, *lf)
		}
		sort.Slice(rep.Lanes, func(i, j int) bool {
			a, b := rep.Lanes[i], rep.Lanes[j]
			if a.In+a.Out != b.In+b.Out {
				return a.In+a.Out > b.In+b.Out
			}
			return a.Name < b.Name
		})
		return s.visits(r, &rep, bucketOf)
	})
	return rep, err
}

// visits tallies the visits expected to start in the period.
func (s *Service) visits(r *store.Reader, rep *Report, bucketOf func(time.Time) int) error {
	floors, err := directory.Floors(r, true)
	if err != nil {
		return err
	}
	companies, err := directory.Companies(r, true)
	if err != nil {
		return err
	}
	floorName, compName := map[string]string{}, map[string]string{}
	for _, f := range floors {
		floorName[f.ID] = f.Name
	}
	for _, c := range companies {
		compName[c.ID] = c.Name
	}
	byComp, byFloor, byMode, byState, noShowComp := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	var total time.Duration
	err = eachVisit(r, rep.From, rep.To, func(v visitRow) {
		rep.Visits++
		rep.Series[bucketOf(time.Unix(0, v.From).In(s.loc))].Visits++
		byComp[v.CompanyID]++
		byFloor[v.FloorID]++
		byMode[string(v.Mode)]++
		state := v.State
		if v.noShow(rep.Now) {
			state = visit.NoShow
			rep.NoShows++
			noShowComp[v.CompanyID]++
		}
		byState[string(state)]++
		if v.FirstIn > 0 && v.LastOut > v.FirstIn {
			total += time.Duration(v.LastOut - v.FirstIn)
			rep.Timed++
		}
	})
	if err != nil {
		return err
	}
	if rep.Timed > 0 {
		rep.AvgLength = total / time.Duration(rep.Timed)
	}
	rep.ByCompany = tally(byComp, compName)
	rep.ByFloor = tally(byFloor, floorName)
	rep.ByMode = tally(byMode, nil)
	rep.ByOutcome = tally(byState, nil)
	rep.NoShowBy = tally(noShowComp, compName)
	return nil
}

func tally(m map[string]int, names map[string]string) []Count {
	out := make([]Count, 0, len(m))
	for id, n := range m {
		name := id
		if names != nil {
			name = names[id]
		}
		out = append(out, Count{ID: id, Name: name, N: n})
	}
	sortCounts(out)
	return out
}
