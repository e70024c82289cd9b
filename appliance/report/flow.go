package report

import (
	"sort"
	"strings"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/report/hourly"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// Count is one row of a tally: an ID (floor, company, lane, mode, state),
// its display name and the number.
type Count struct {
	ID   string
	Name string
	N    int
}

// FloorCount is one floor of the building picture: floors by level.
type FloorCount struct {
	ID, Name string
	Level    int
	N        int
}

// HourFlow is one local hour of a day: granted entries and exits, and the
// same hour's mean over the previous weeks' same weekday.
type HourFlow struct {
	Hour         int // local hour of day, 0–23
	In, Out      int
	AvgIn, AvgOt float64
}

// LaneFlow is a lane's granted passages and refusals.
type LaneFlow struct {
	ID, Name        string
	In, Out, Denied int
}

// Holder groups for visitors against employees.
const (
	GroupEmployee = "employee" // directory people (employees and property staff)
	GroupVisitor  = "visitor"
	GroupOther    = "other" // contractors, customers: credentials without a directory person
)

// AvgWeeks is how many previous same weekdays the hourly average spans.
const AvgWeeks = 4

// Dashboard is the people-flow dashboard's data at one moment.
type Dashboard struct {
	At         time.Time
	Inside     int
	InsideBy   map[string]int // by holder group
	Floors     []FloorCount   // every active floor by level, lowest first, plus "no floor" (ID "") when someone is
	Companies  []Count        // largest first
	Hours      []HourFlow     // today's local hours so far and to come (0–23)
	NowHour    int
	In, Out    int            // granted today
	Denied     int            // refused today
	TodayBy    map[string]int // granted entries today by holder group
	Lanes      []LaneFlow     // busiest first
	AvgWeeks   int            // weeks of history behind the averages (0–AvgWeeks)
	Rebuilding bool           // older events are still being counted
}

// groupOf maps an hourly holder kind to a holder group.
func groupOf(k byte) string {
	switch k {
	case hourly.HolderPerson:
		return GroupEmployee
	case hourly.HolderVisit:
		return GroupVisitor
	}
	return GroupOther
}

// dayStart is local midnight of the day holding t.
func dayStart(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// Dashboard computes the dashboard at the clock's now.
func (s *Service) Dashboard() (Dashboard, error) {
	now := s.clock.Now()
	d := Dashboard{At: now, InsideBy: map[string]int{}, TodayBy: map[string]int{}, NowHour: now.In(s.loc).Hour()}
	lanes, err := s.acc.Lanes()
	if err != nil {
		return d, err
	}
	laneName := map[string]string{}
	for _, l := range lanes {
		laneName[l.ID] = l.Name
	}
	d.Rebuilding = s.Rebuilding()
	err = s.db.View(func(r *store.Reader) error {
		if err := s.inside(r, &d); err != nil {
			return err
		}
		today := dayStart(now, s.loc)
		tomorrow := today.AddDate(0, 0, 1)
		d.Hours = make([]HourFlow, 24)
		for h := range d.Hours {
			d.Hours[h].Hour = h
		}
		perLane := map[string]*LaneFlow{}
		err := hourly.Scan(r, today, tomorrow, func(hour time.Time, lane string, c *hourly.Counts) {
			h := hour.In(s.loc).Hour()
			lf := perLane[lane]
			if lf == nil {
				lf = &LaneFlow{ID: lane, Name: laneName[lane]}
				perLane[lane] = lf
			}
			for cell, n := range c {
				entry, grant, kind := hourly.CellParts(cell)
				switch {
				case !grant:
					d.Denied += int(n)
					lf.Denied += int(n)
				case entry:
					d.Hours[h].In += int(n)
					d.In += int(n)
					lf.In += int(n)
					d.TodayBy[groupOf(kind)] += int(n)
				default:
					d.Hours[h].Out += int(n)
					d.Out += int(n)
					lf.Out += int(n)
				}
			}
		})
		if err != nil {
			return err
		}
		for _, lf := range perLane {
			d.Lanes = append(d.Lanes, *lf)
		}
		sort.Slice(d.Lanes, func(i, j int) bool {
			a, b := d.Lanes[i], d.Lanes[j]
			if a.In+a.Out != b.In+b.Out {
				return a.In+a.Out > b.In+b.Out
			}
			return a.Name < b.Name
		})
		// The same weekday of the previous weeks, per local hour.
		var sumIn, sumOut [24]int
		for k := 1; k <= AvgWeeks; k++ {
			from := today.AddDate(0, 0, -7*k)
			any := false
			err := hourly.Scan(r, from, from.AddDate(0, 0, 1), func(hour time.Time, _ string, c *hourly.Counts) {
				any = true
				h := hour.In(s.loc).Hour()
				for cell, n := range c {
					entry, grant, _ := hourly.CellParts(cell)
					switch {
					case grant && entry:
						sumIn[h] += int(n)
					case grant:
						sumOut[h] += int(n)
					}
				}
			})
			if err != nil {
				return err
			}
			if any {
				d.AvgWeeks++
			}
		}
		if d.AvgWeeks > 0 {
			for h := range d.Hours {
				d.Hours[h].AvgIn = float64(sumIn[h]) / float64(d.AvgWeeks)
				d.Hours[h].AvgOt = float64(sumOut[h]) / float64(d.AvgWeeks)
			}
		}
		return nil
	})
	return d, err
}

// inside tallies who is inside now by floor, company and holder group.
// Someone inside several zones counts once.
func (s *Service) inside(r *store.Reader, d *Dashboard) error {
	ps, err := access.Inside(r, "")
	if err != nil {
		return err
	}
	floors, err := directory.Floors(r, false)
	if err != nil {
		return err
	}
	companies, err := directory.Companies(r, true)
	if err != nil {
		return err
	}
	compName := map[string]string{}
	for _, c := range companies {
		compName[c.ID] = c.Name
	}
	perFloor, perComp := map[string]int{}, map[string]int{}
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.Holder] {
			continue
		}
		seen[p.Holder] = true
		group, floor, comp := GroupOther, "", ""
		switch {
		case strings.HasPrefix(p.Holder, "visit:"):
			group = GroupVisitor
			if v, err := visit.Get(r, strings.TrimPrefix(p.Holder, "visit:")); err == nil {
				floor, comp = v.FloorID, v.CompanyID
			}
		case strings.HasPrefix(p.Holder, "cred:"):
		default:
			group = GroupEmployee
			if pe, err := directory.GetPerson(r, p.Holder); err == nil {
				floor, comp = pe.FloorID, pe.CompanyID
			}
		}
		d.InsideBy[group]++
		perFloor[floor]++
		if comp != "" {
			perComp[comp]++
		}
	}
	d.Inside = len(seen)
	for _, f := range floors {
		d.Floors = append(d.Floors, FloorCount{ID: f.ID, Name: f.Name, Level: f.Level, N: perFloor[f.ID]})
		delete(perFloor, f.ID)
	}
	rest := 0
	for _, n := range perFloor { // no floor, or an inactive one: the lobby line of the picture
		rest += n
	}
	if rest > 0 {
		d.Floors = append([]FloorCount{{Level: -1 << 30, N: rest}}, d.Floors...)
	}
	for id, n := range perComp {
		name := compName[id]
		if name == "" {
			name = id
		}
		d.Companies = append(d.Companies, Count{ID: id, Name: name, N: n})
	}
	sortCounts(d.Companies)
	return nil
}

// sortCounts orders a tally largest first, then by name.
func sortCounts(cs []Count) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].N != cs[j].N {
			return cs[i].N > cs[j].N
		}
		return cs[i].Name < cs[j].Name
	})
}
