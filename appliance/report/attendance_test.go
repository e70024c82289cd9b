package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

func (w *world) person(name, company string) directory.Person {
	w.t.Helper()
	keys, err := secret.FromMaster(make([]byte, 32))
	if err != nil {
		w.t.Fatal(err)
	}
	p, err := directory.New(w.st, w.clk, keys).SavePerson(context.Background(), "t", directory.Person{Kind: directory.Employee,
		Name: name, Mobile: "13900139001", EmployeeNo: "B" + name, CompanyID: company, FloorID: w.f2.ID})
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) attendance(q AttendanceQuery) ([]AttendanceDay, error) {
	var rows []AttendanceDay
	err := w.st.View(func(r *store.Reader) (err error) {
		rows, err = Attendance(context.Background(), r, berlin, q)
		return err
	})
	return rows, err
}

// hm is a row's time as "15:04", or "-" when zero.
func hm(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(berlin).Format("15:04")
}

func TestAttendance(t *testing.T) {
	w := newWorld(t)
	bob := w.person("Bob", w.c2.ID)
	visitor := "visit:" + visitID
	w.apply("test.events", []access.Event{
		// Ann, Monday: in at 08:10 and 08:55 (the first counts), out at 12:00 and 18:30 (the last counts).
		ev(at("2026-11-23 08:10"), w.lane1, true, true, w.p1.ID),
		ev(at("2026-11-23 08:55"), w.lane2, true, true, w.p1.ID),
		ev(at("2026-11-23 12:00"), w.lane1, false, true, w.p1.ID),
		ev(at("2026-11-23 18:30"), w.lane1, false, true, w.p1.ID),
		ev(at("2026-11-23 07:00"), w.lane1, true, false, w.p1.ID), // denied: no presence
		// Ann, Tuesday: in, never out.
		ev(at("2026-11-24 09:00"), w.lane1, true, true, w.p1.ID),
		// Bob, Tuesday: out only (came in before the range or tailgated), and a late night in.
		ev(at("2026-11-24 17:00"), w.lane1, false, true, bob.ID),
		ev(at("2026-11-24 23:50"), w.lane1, true, true, bob.ID),
		// Bob, Wednesday 00:20: after midnight is the next day.
		ev(at("2026-11-25 00:20"), w.lane1, false, true, bob.ID),
		// Not people: a visitor, an anonymous card, a manual opening.
		ev(at("2026-11-23 10:00"), w.lane1, true, true, visitor),
		ev(at("2026-11-23 10:01"), w.lane1, true, true, "cred:0123456789abcdef"),
		{Time: at("2026-11-23 10:02"), Lane: w.lane1, Entry: true, Grant: true, Kind: 'm', Reason: access.ManualOpened, Rand: 7},
		// Outside the range.
		ev(at("2026-11-30 09:00"), w.lane1, true, true, w.p1.ID),
		ev(at("2026-11-22 23:59"), w.lane1, true, true, w.p1.ID),
	})
	week := AttendanceQuery{From: at("2026-11-23 00:00"), To: at("2026-11-30 00:00")}
	tests := []struct {
		name string
		q    AttendanceQuery
		want []string
	}{
		{"everyone", week, []string{
			"Ann 11-23 08:10 18:30 2", "Ann 11-24 09:00 - 2",
			"Bob 11-24 23:50 17:00 2", "Bob 11-25 - 00:20 2"}},
		{"one company", AttendanceQuery{From: week.From, To: week.To, CompanyID: w.c2.ID}, []string{
			"Bob 11-24 23:50 17:00 2", "Bob 11-25 - 00:20 2"}},
		{"one day", AttendanceQuery{From: at("2026-11-24 00:00"), To: at("2026-11-25 00:00")}, []string{
			"Ann 11-24 09:00 - 1", "Bob 11-24 23:50 17:00 1"}},
		{"a company with nobody", AttendanceQuery{From: week.From, To: week.To, CompanyID: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := w.attendance(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, fmt.Sprintf("%s %s %s %s %d", r.Name, r.Day.Format("01-02"), hm(r.FirstIn), hm(r.LastOut), r.Days))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	if rows, _ := w.attendance(week); len(rows) > 0 && (rows[0].CompanyID != w.c1.ID || !rows[0].Day.Equal(at("2026-11-23 00:00"))) {
		t.Errorf("first row %+v: want Acme's Ann on Monday at local midnight", rows[0])
	}
}

func TestAttendanceRange(t *testing.T) {
	w := newWorld(t)
	from := at("2026-11-01 00:00")
	for _, tt := range []struct {
		to time.Time
		ok bool
	}{
		{from, false},                   // empty
		{from.AddDate(0, 0, -1), false}, // backwards
		{from.AddDate(0, 0, 62), true},
		{from.AddDate(0, 0, 63), false},
	} {
		_, err := w.attendance(AttendanceQuery{From: from, To: tt.to})
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrAttendanceRange)) {
			t.Errorf("to %s: err %v, want ok=%v", tt.to.Format("01-02"), err, tt.ok)
		}
	}
	// Across the change from summer time: 2026-10-25 is 25 hours long in Berlin.
	w.apply("test.events", []access.Event{ev(at("2026-10-25 23:30"), w.lane1, true, true, w.p1.ID)})
	rows, err := w.attendance(AttendanceQuery{From: at("2026-10-24 00:00"), To: at("2026-10-27 00:00")})
	if err != nil || len(rows) != 1 || rows[0].Day.Format("2006-01-02") != "2026-10-25" {
		t.Errorf("DST: %+v %v", rows, err)
	}
}

// BenchmarkAttendance computes a month of attendance for
// GATEHOUSE_BENCH_EMPLOYEES (default 2,000) employees who each pass the
// gates four times a working day (in, out for lunch, in, out): about
// 176,000 events over 22 working days, plus a visitor's pass per
// employee-day that the scan skips.
//
//	go test -run xxx -bench Attendance -benchtime 5x -v ./appliance/report/
func BenchmarkAttendance(b *testing.B) {
	n := 2000
	if s := os.Getenv("GATEHOUSE_BENCH_EMPLOYEES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	w := newWorld(b)
	w.st.Register("bench.people", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var p struct{ From, N int }
		if err := cmd.Decode(&p); err != nil {
			return store.Effect{}, err
		}
		for i := p.From; i < p.From+p.N; i++ {
			co := w.c1.ID
			if i%2 == 1 {
				co = w.c2.ID
			}
			pp := directory.Person{ID: benchPerson(i), Kind: directory.Employee, Name: "E" + strconv.Itoa(i), CompanyID: co, Active: true}
			if err := tx.SetJSON(store.Key(store.KindPerson, pp.ID), pp); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{}, nil
	})
	for i := 0; i < n; i += 1000 {
		w.apply("bench.people", struct{ From, N int }{i, min(1000, n-i)})
	}
	from := at("2026-11-01 00:00")
	to := from.AddDate(0, 1, 0)
	var es []access.Event
	total := 0
	flush := func() {
		w.apply("test.events", es)
		total += len(es)
		es = es[:0]
	}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		for i := 0; i < n; i++ {
			h := benchPerson(i)
			m := time.Duration(i%90) * time.Minute
			es = append(es,
				ev(d.Add(8*time.Hour+m), w.lane1, true, true, h), ev(d.Add(12*time.Hour+m), w.lane1, false, true, h),
				ev(d.Add(13*time.Hour+m), w.lane2, true, true, h), ev(d.Add(17*time.Hour+m), w.lane2, false, true, h),
				ev(d.Add(10*time.Hour+m), w.lane1, true, true, "visit:"+visitID))
			for j := len(es) - 5; j < len(es); j++ {
				es[j].Rand = uint32(total + j)
			}
			if len(es) >= 1000 {
				flush()
			}
		}
	}
	flush()
	b.Logf("%d employees, %d events", n, total)
	var rows []AttendanceDay
	b.ResetTimer()
	for b.Loop() {
		var err error
		if rows, err = w.rep.Attendance(context.Background(), AttendanceQuery{From: from, To: to}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if len(rows) != n*21 && len(rows) != n*22 && len(rows) != n*20 {
		b.Fatalf("%d rows for %d employees", len(rows), n)
	}
	b.ReportMetric(float64(total)/(b.Elapsed().Seconds()/float64(b.N)), "events/s")
	b.ReportMetric(float64(len(rows)), "rows")
}

// benchPerson is a store-shaped person ID (16 characters of the store's
// base32) for employee i.
func benchPerson(i int) string { return fmt.Sprintf("p%015d", i) }
