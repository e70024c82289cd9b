package report

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/cpu"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/report/hourly"
	"gatehouse/appliance/store"
)

// Attendance is the property manager's daily first-in / last-out per
// directory person, read from the gate events of their credentials (an
// event's holder is the person when the credential has one).
//
// Only granted passages count: a denied presentation is not a presence.
// The first entry and the last exit are taken over every lane of every
// lobby, in the building's local day (00:00–24:00), so a night shift
// that crosses midnight shows as two days, and a person who entered but
// never badged out has an entry and no exit. People with no passage in
// the range are not listed: this is a record of presence, not of absence.
//
// The scan walks the events by time over the range once. Its memory is
// one small entry per person-day that has a passage plus one per person
// seen: at most MaxAttendanceDays × the directory's people, which for 62
// days and 3,000 employees is under 190,000 entries (about 10 MB), and
// in practice far fewer (weekends, leave).

// MaxAttendanceDays bounds a range: about two months.
const MaxAttendanceDays = 62

// ErrAttendanceRange is returned for an empty range or one longer than
// MaxAttendanceDays.
var ErrAttendanceRange = errors.New("report: attendance range must be 1 to 62 days")

// AttendanceQuery selects the days [From, To) — local midnights — and
// optionally one company.
type AttendanceQuery struct {
	From, To  time.Time
	CompanyID string
}

// AttendanceDay is one person on one day.
type AttendanceDay struct {
	PersonID   string
	Name       string // "" once the retention purge removed it
	EmployeeNo string
	CompanyID  string
	Day        time.Time // local midnight
	FirstIn    time.Time // zero: no entry that day
	LastOut    time.Time // zero: no exit that day
	Days       int       // days this person was present in the range
}

// attendee is a directory person met in the scan.
type attendee struct {
	id, name, no, company string
	keep                  bool // matches the company filter
}

// Attendance computes q over the events stored in r: one row per person
// and day with a passage, ordered by company, name, person and day.
func Attendance(ctx context.Context, r *store.Reader, loc *time.Location, q AttendanceQuery) ([]AttendanceDay, error) {
	days := dayStarts(q.From, q.To, loc)
	if len(days) < 2 || len(days)-1 > MaxAttendanceDays {
		return nil, ErrAttendanceRange
	}
	type pd struct {
		person int32
		day    int16
	}
	type span struct{ first, last int64 }
	people := []attendee{}
	index := map[string]int32{}
	seen := map[pd]*span{}
	day := 0
	n := 0
	err := access.ScanEvents(r, days[0], days[len(days)-1], func(e access.Event) error {
		cpu.Yield()
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if !e.Grant || e.Kind == 'm' || access.EventHolderKind(e.Holder) != hourly.HolderPerson {
			return nil
		}
		for day+1 < len(days)-1 && !e.Time.Before(days[day+1]) {
			day++ // events come oldest first
		}
		i, ok := index[e.Holder]
		if !ok {
			a := attendee{id: e.Holder}
			p, err := directory.GetPerson(r, e.Holder)
			switch {
			case errors.Is(err, store.ErrNotFound) || errors.Is(err, directory.ErrNotFound):
				// deleted from the directory: nothing to show it by
			case err != nil:
				return err
			default:
				a.name, a.no, a.company = p.Name, p.EmployeeNo, p.CompanyID
				a.keep = q.CompanyID == "" || p.CompanyID == q.CompanyID
			}
			i = int32(len(people))
			people = append(people, a)
			index[e.Holder] = i
		}
		if !people[i].keep {
			return nil
		}
		k := pd{i, int16(day)}
		s := seen[k]
		if s == nil {
			s = &span{}
			seen[k] = s
		}
		ns := e.Time.UnixNano()
		if e.Entry && s.first == 0 {
			s.first = ns
		}
		if !e.Entry {
			s.last = ns
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]AttendanceDay, 0, len(seen))
	count := map[int32]int{}
	for k, s := range seen {
		count[k.person]++
		p := people[k.person]
		row := AttendanceDay{PersonID: p.id, Name: p.name, EmployeeNo: p.no, CompanyID: p.company, Day: days[k.day]}
		if s.first != 0 {
			row.FirstIn = time.Unix(0, s.first).In(loc)
		}
		if s.last != 0 {
			row.LastOut = time.Unix(0, s.last).In(loc)
		}
		out = append(out, row)
	}
	for i := range out {
		out[i].Days = count[index[out[i].PersonID]]
	}
	slices.SortFunc(out, func(a, b AttendanceDay) int {
		return cmp.Or(cmp.Compare(a.CompanyID, b.CompanyID), cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.PersonID, b.PersonID), a.Day.Compare(b.Day))
	})
	return out, nil
}

// dayStarts lists the local midnights from from to to inclusive (a DST
// day is 23 or 25 hours long); nil if the range is empty or too long.
func dayStarts(from, to time.Time, loc *time.Location) []time.Time {
	f, t := from.In(loc), to.In(loc)
	d := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
	var out []time.Time
	for !d.After(t) && len(out) <= MaxAttendanceDays+1 {
		out = append(out, d)
		d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
	}
	if len(out) > 0 && out[len(out)-1].Before(t) {
		out = append(out, d) // to was not a midnight: round up
	}
	return out
}

// Attendance computes q in a slot of heavy work: a two-month range of a
// large building scans a few hundred thousand events.
func (s *Service) Attendance(ctx context.Context, q AttendanceQuery) (rows []AttendanceDay, err error) {
	release, err := cpu.Heavy(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	err = s.db.View(func(r *store.Reader) error {
		rows, err = Attendance(ctx, r, s.loc, q)
		return err
	})
	return rows, err
}
