package report

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/report/hourly"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return l
}()

type world struct {
	st           *store.Store
	clk          *clock.Fake
	rep          *Service
	acc          *access.Service
	lane1, lane2 string
	f1, f2       directory.Floor
	c1, c2       directory.Company
	p1           directory.Person
	t            testing.TB
}

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
	if err != nil {
		panic(err)
	}
	return t
}

func newWorld(t testing.TB) *world {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	directory.Register(st)
	visit.Register(st)
	access.Register(st)
	Register(st)
	st.Register("test.events", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var es []access.Event
		if err := cmd.Decode(&es); err != nil {
			return store.Effect{}, err
		}
		for _, e := range es {
			if err := access.PutEvent(tx, e); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{}, nil
	})
	st.Register("test.visits", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var vs []visit.Visit
		if err := cmd.Decode(&vs); err != nil {
			return store.Effect{}, err
		}
		for _, v := range vs {
			if err := tx.Set(store.Key(store.KindVisitByTime, string(store.U64(uint64(v.From))), v.ID), []byte(v.State)); err != nil {
				return store.Effect{}, err
			}
			if err := tx.SetJSON(store.Key(store.KindVisit, v.ID), v); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{}, nil
	})
	st.Register("test.orphan", func(tx *store.Tx, _ store.Command) (store.Effect, error) {
		return store.Effect{}, tx.Set(store.Key(store.KindVisitByTime, string(store.U64(uint64(at("2026-11-10 10:00").UnixNano()))), "0000000000000000"), nil)
	})
	st.Register("test.presence", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var ps [][2]string // zone, holder
		if err := cmd.Decode(&ps); err != nil {
			return store.Effect{}, err
		}
		for _, p := range ps {
			if err := tx.Set(store.Key(store.KindPresenceZone, p[0], p[1]), store.U64(uint64(cmd.Time))); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{}, nil
	})
	st.Register("test.forget", func(tx *store.Tx, _ store.Command) (store.Effect, error) {
		var ks [][]byte
		for _, k := range []store.Kind{store.KindFlowHour, store.KindFlowMeta} {
			err := tx.Scan([]byte{byte(k)}, store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
				ks = append(ks, append([]byte(nil), k...))
				return true, nil
			})
			if err != nil {
				return store.Effect{}, err
			}
		}
		for _, k := range ks {
			if err := tx.Delete(k); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{}, nil
	})
	w := &world{st: st, clk: clock.NewFake(at("2026-11-23 10:30")), t: t} // a Monday
	w.acc = access.New(st, w.clk, berlin, nil, nil)
	w.rep = New(st, w.clk, berlin, w.acc, nil)
	ctx := context.Background()
	keys, err := secret.FromMaster(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.New(st, w.clk, keys)
	w.f1, _ = dir.SaveFloor(ctx, "t", directory.Floor{Name: "1F", Level: 1})
	w.f2, _ = dir.SaveFloor(ctx, "t", directory.Floor{Name: "2F", Level: 2})
	w.c1, _ = dir.SaveCompany(ctx, "t", directory.Company{Name: "Acme", FloorIDs: []string{w.f1.ID, w.f2.ID}})
	w.c2, _ = dir.SaveCompany(ctx, "t", directory.Company{Name: "Beta", FloorIDs: []string{w.f2.ID}})
	w.p1, err = dir.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "Ann", Mobile: "13800138000",
		CompanyID: w.c1.ID, FloorID: w.f1.ID, EmployeeNo: "1"})
	if err != nil {
		t.Fatal(err)
	}
	z, err := w.acc.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	if err != nil {
		t.Fatal(err)
	}
	l1, err := w.acc.SaveLane(ctx, "t", access.Lane{Name: "Gate 1", ZoneID: z.ID, PulseMs: 800})
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := w.acc.SaveLane(ctx, "t", access.Lane{Name: "Gate 2", ZoneID: z.ID, PulseMs: 800})
	w.lane1, w.lane2 = l1.ID, l2.ID
	if err := w.rep.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) apply(typ string, payload any) {
	w.t.Helper()
	if _, err := store.Issue(context.Background(), w.st, typ, "t", w.clk.Now(), payload); err != nil {
		w.t.Fatal(err)
	}
}

const visitID = "0123456789abcdef"

func ev(t time.Time, lane string, entry, grant bool, holder string) access.Event {
	return access.Event{Time: t, Lane: lane, Entry: entry, Grant: grant, Kind: 'c', Holder: holder, Reason: access.Granted,
		Rand: uint32(t.UnixNano())}
}

func TestDashboard(t *testing.T) {
	w := newWorld(t)
	visitor := "visit:" + visitID
	w.apply("test.events", []access.Event{
		ev(at("2026-11-23 08:10"), w.lane1, true, true, w.p1.ID),
		ev(at("2026-11-23 08:20"), w.lane1, true, true, visitor),
		ev(at("2026-11-23 09:05"), w.lane2, false, true, w.p1.ID),
		ev(at("2026-11-23 09:10"), w.lane2, true, false, ""),
		ev(at("2026-11-22 09:10"), w.lane2, true, true, w.p1.ID), // yesterday: not today
		// previous Mondays: 2 and 4 entries at 8, 1 exit at 17
		ev(at("2026-11-16 08:01"), w.lane1, true, true, w.p1.ID), ev(at("2026-11-16 08:02"), w.lane1, true, true, w.p1.ID),
		ev(at("2026-11-09 08:01"), w.lane1, true, true, w.p1.ID), ev(at("2026-11-09 08:02"), w.lane2, true, true, w.p1.ID),
		ev(at("2026-11-09 08:03"), w.lane1, true, true, w.p1.ID), ev(at("2026-11-09 08:04"), w.lane1, true, true, visitor),
		ev(at("2026-11-09 17:00"), w.lane1, false, true, w.p1.ID),
	})
	w.apply("test.visits", []visit.Visit{{ID: visitID, Mode: visit.Invited, State: visit.In, CompanyID: w.c1.ID, FloorID: w.f2.ID,
		From: at("2026-11-23 08:00").UnixNano(), Until: at("2026-11-23 12:00").UnixNano()}})
	w.apply("test.presence", [][2]string{{"zoneA", w.p1.ID}, {"zoneA", visitor}, {"zoneB", visitor}, {"zoneA", "cred:0123456789abcdeg"}})

	d, err := w.rep.Dashboard()
	if err != nil {
		t.Fatal(err)
	}
	if d.Inside != 3 || d.InsideBy[GroupEmployee] != 1 || d.InsideBy[GroupVisitor] != 1 || d.InsideBy[GroupOther] != 1 {
		t.Errorf("inside %d %v", d.Inside, d.InsideBy)
	}
	floors := map[string]int{}
	for _, f := range d.Floors {
		floors[f.Name] = f.N
	}
	if !reflect.DeepEqual(floors, map[string]int{"": 1, "1F": 1, "2F": 1}) || d.Floors[0].Name != "" || d.Floors[2].Name != "2F" {
		t.Errorf("floors %+v", d.Floors)
	}
	if len(d.Companies) != 1 || d.Companies[0].Name != "Acme" || d.Companies[0].N != 2 {
		t.Errorf("companies %+v", d.Companies)
	}
	if d.In != 2 || d.Out != 1 || d.Denied != 1 || d.NowHour != 10 {
		t.Errorf("today in %d out %d denied %d hour %d", d.In, d.Out, d.Denied, d.NowHour)
	}
	if d.Hours[8].In != 2 || d.Hours[9].Out != 1 || d.Hours[9].In != 0 {
		t.Errorf("hours 8 %+v 9 %+v", d.Hours[8], d.Hours[9])
	}
	if d.AvgWeeks != 2 || d.Hours[8].AvgIn != 3 || d.Hours[17].AvgOt != 0.5 {
		t.Errorf("averages over %d weeks: 8 %+v 17 %+v", d.AvgWeeks, d.Hours[8], d.Hours[17])
	}
	if d.TodayBy[GroupEmployee] != 1 || d.TodayBy[GroupVisitor] != 1 {
		t.Errorf("today by group %v", d.TodayBy)
	}
	if len(d.Lanes) != 2 || d.Lanes[0].Name != "Gate 1" || d.Lanes[0].In != 2 || d.Lanes[1].Out != 1 || d.Lanes[1].Denied != 1 {
		t.Errorf("lanes %+v", d.Lanes)
	}
}

func TestReportAcrossDST(t *testing.T) {
	w := newWorld(t)
	// Sunday 2026-10-25: 02:00–03:00 happens twice (CEST, then CET).
	first := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)  // 02:30 CEST
	second := time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC) // 02:30 CET
	w.apply("test.events", []access.Event{
		ev(first, w.lane1, true, true, w.p1.ID), ev(second, w.lane1, true, true, w.p1.ID),
		ev(at("2026-10-25 23:59"), w.lane2, false, true, w.p1.ID),
		ev(at("2026-10-26 00:00"), w.lane2, true, true, w.p1.ID), // next day
		ev(at("2026-10-24 23:59"), w.lane2, true, true, w.p1.ID), // day before
	})
	from, to := Span(Day, at("2026-10-25 12:00"), berlin)
	if to.Sub(from) != 25*time.Hour {
		t.Fatalf("day of %v–%v", from, to)
	}
	rep, err := w.rep.Report(from, to)
	if err != nil {
		t.Fatal(err)
	}
	if rep.In != 2 || rep.Out != 1 || rep.HourOfDay[2] != 2 || len(rep.Series) != 1 || rep.Series[0].In != 2 {
		t.Errorf("in %d out %d hour 2: %d series %+v", rep.In, rep.Out, rep.HourOfDay[2], rep.Series)
	}
	if len(rep.Peaks) != 2 || rep.Peaks[0].In != 1 || !rep.Peaks[0].Start.Equal(time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("peaks %+v", rep.Peaks)
	}
	// A week: Monday 19 to Monday 26 October, by day.
	from, to = Span(Week, at("2026-10-25 12:00"), berlin)
	if from != at("2026-10-19 00:00") || to != at("2026-10-26 00:00") {
		t.Errorf("week %v–%v", from, to)
	}
	rep, _ = w.rep.Report(from, to)
	if len(rep.Series) != 7 || rep.Series[5].In != 1 || rep.Series[6].In != 2 || rep.In != 3 {
		t.Errorf("week series %+v", rep.Series)
	}
	from, to = Span(Year, at("2026-10-25 12:00"), berlin)
	rep, _ = w.rep.Report(from, to)
	if len(rep.Series) != 12 || !rep.Series[0].Monthly || rep.Series[9].In != 4 || rep.In != 4 || rep.Out != 1 {
		t.Errorf("year: in %d, October %+v", rep.In, rep.Series[9])
	}
	if _, err := w.rep.Report(to, from); err != ErrRange {
		t.Errorf("reversed range: %v", err)
	}
}

func TestReportVisits(t *testing.T) {
	w := newWorld(t)
	h := func(s string) int64 { return at(s).UnixNano() }
	vs := []visit.Visit{
		{ID: "v000000000000001", Mode: visit.Booked, State: visit.Closed, CompanyID: w.c1.ID, FloorID: w.f1.ID,
			From: h("2026-11-02 10:00"), Until: h("2026-11-02 12:00"), FirstIn: h("2026-11-02 10:00"), LastOut: h("2026-11-02 11:00")},
		{ID: "v000000000000002", Mode: visit.Invited, State: visit.NoShow, CompanyID: w.c2.ID, FloorID: w.f2.ID,
			From: h("2026-11-03 10:00"), Until: h("2026-11-03 12:00")},
		{ID: "v000000000000003", Mode: visit.Invited, State: visit.Approved, CompanyID: w.c2.ID, FloorID: w.f2.ID,
			From: h("2026-11-23 08:00"), Until: h("2026-11-23 09:00")}, // window over, never came: not yet swept
		{ID: "v000000000000004", Mode: visit.WalkIn, State: visit.Out, CompanyID: w.c1.ID, FloorID: w.f2.ID,
			From: h("2026-11-05 09:00"), Until: h("2026-11-05 18:00"), FirstIn: h("2026-11-05 09:00"), LastOut: h("2026-11-05 12:00")},
		{ID: "v000000000000005", Mode: visit.Booked, State: visit.Approved, CompanyID: w.c1.ID, FloorID: w.f1.ID,
			From: h("2026-11-23 14:00"), Until: h("2026-11-23 16:00")}, // later today
		{ID: "v000000000000006", Mode: visit.Booked, State: visit.Closed, CompanyID: w.c1.ID, FloorID: w.f1.ID,
			From: h("2026-10-31 23:00"), Until: h("2026-11-01 01:00"), FirstIn: h("2026-10-31 23:00"), LastOut: h("2026-11-01 01:00")},
	}
	w.apply("test.visits", vs)
	from, to := Span(Month, at("2026-11-23 00:00"), berlin)
	rep, err := w.rep.Report(from, to)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Visits != 5 || rep.NoShows != 2 || rep.Timed != 2 || rep.AvgLength != 2*time.Hour {
		t.Errorf("visits %d no-shows %d timed %d avg %v", rep.Visits, rep.NoShows, rep.Timed, rep.AvgLength)
	}
	want := func(name string, got []Count, m map[string]int) {
		t.Helper()
		g := map[string]int{}
		for _, c := range got {
			g[c.Name] = c.N
		}
		if !reflect.DeepEqual(g, m) {
			t.Errorf("%s: %v, want %v", name, g, m)
		}
	}
	want("company", rep.ByCompany, map[string]int{"Acme": 3, "Beta": 2})
	want("floor", rep.ByFloor, map[string]int{"1F": 2, "2F": 3})
	want("mode", rep.ByMode, map[string]int{"booked": 2, "invited": 2, "walkin": 1})
	want("outcome", rep.ByOutcome, map[string]int{"closed": 1, "no_show": 2, "out": 1, "approved": 1})
	want("no-shows", rep.NoShowBy, map[string]int{"Beta": 2})
	if rep.Series[1].Visits != 1 || rep.Series[22].Visits != 2 {
		t.Errorf("series %+v", rep.Series)
	}
}

func TestRebuild(t *testing.T) {
	w := newWorld(t)
	var es []access.Event
	for i := range 500 {
		t := at("2026-08-01 00:00").Add(time.Duration(i) * 5 * time.Hour)
		es = append(es, ev(t, []string{w.lane1, w.lane2}[i%2], i%3 != 0, i%7 != 0, []string{w.p1.ID, "", "visit:" + visitID}[i%3]))
	}
	for i := range 10 { // ten events in the same nanosecond: a chunk never splits them
		e := es[100]
		e.Rand = uint32(1000 + i)
		es = append(es, e)
	}
	defer func(m int) { rebuildMax = m }(rebuildMax)
	rebuildMax = 7
	w.apply("test.events", es)
	from, to := Span(Year, w.clk.Now(), berlin)
	before, err := w.rep.Report(from, to)
	if err != nil || before.In == 0 {
		t.Fatal(before.In, err)
	}
	// An older release stored the events without counters.
	w.apply("test.forget", struct{}{})
	if r, _ := w.rep.Report(from, to); r.In != 0 {
		t.Fatalf("counters left: %d", r.In)
	}
	ctx := context.Background()
	if err := w.rep.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !w.rep.Rebuilding() {
		t.Fatal("no rebuild pending")
	}
	// Counted live from now on, while the rebuild runs.
	w.clk.Advance(time.Minute)
	w.apply("test.events", []access.Event{ev(w.clk.Now(), w.lane1, true, true, w.p1.ID)})
	if err := w.rep.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if w.rep.Rebuilding() {
		t.Fatal("still rebuilding")
	}
	after, err := w.rep.Report(from, to)
	if err != nil {
		t.Fatal(err)
	}
	if after.In != before.In+1 || after.Out != before.Out || after.InDenied != before.InDenied || after.OutDeny != before.OutDeny ||
		!reflect.DeepEqual(after.ByGroup[GroupVisitor], before.ByGroup[GroupVisitor]) || after.HourOfDay != func() [24]int {
		h := before.HourOfDay
		h[10]++
		return h
	}() {
		t.Errorf("before %+v\nafter %+v", before, after)
	}
	// A second start changes nothing.
	if err := w.rep.Start(ctx); err != nil || w.rep.Rebuilding() {
		t.Fatal(err)
	}
}

func TestCells(t *testing.T) {
	seen := map[int]bool{}
	for _, entry := range []bool{false, true} {
		for _, grant := range []bool{false, true} {
			for k := byte(0); k < 4; k++ {
				c := hourly.Cell(entry, grant, k)
				e, g, kk := hourly.CellParts(c)
				if e != entry || g != grant || kk != k || seen[c] || c >= hourly.Cells {
					t.Errorf("cell %d of %v %v %d", c, entry, grant, k)
				}
				seen[c] = true
			}
		}
	}
}

// TestReportManyVisits takes the one-pass path: more visits than
// fewVisits, IDs in creation order unlike their start, visits of other
// months between them, and an index entry without its record.
func TestReportManyVisits(t *testing.T) {
	w := newWorld(t)
	var vs []visit.Visit
	want := map[string]int{}
	created := at("2026-09-01 00:00")
	for i := range 900 {
		created = created.Add(time.Duration(1+i%5) * time.Hour)
		from := at("2026-11-01 08:00").Add(time.Duration((i*7919)%(29*24)) * time.Hour) // November, in no order
		if i%4 == 0 {
			from = from.AddDate(0, 1, 0) // December: not in the report
		}
		v := visit.Visit{ID: store.NewID(created), Mode: []visit.Mode{visit.Booked, visit.Invited, visit.WalkIn}[i%3], State: visit.Closed,
			CompanyID: w.c1.ID, FloorID: w.f1.ID, From: from.UnixNano(), Until: from.Add(time.Hour).UnixNano(),
			FirstIn: from.UnixNano(), LastOut: from.Add(time.Duration(i%3+1) * 10 * time.Minute).UnixNano(),
			History: []visit.Transition{{State: visit.Approved, At: created.UnixNano(), By: "t"}}}
		if i%4 != 0 {
			want[string(v.Mode)]++
		}
		vs = append(vs, v)
	}
	w.apply("test.visits", vs)
	w.apply("test.orphan", nil)
	from, to := Span(Month, at("2026-11-15 00:00"), berlin)
	rep, err := w.rep.Report(from, to)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range rep.ByMode {
		got[c.ID] = c.N
	}
	if rep.Visits != 675 || !reflect.DeepEqual(got, want) || rep.Timed != 675 || rep.AvgLength != 20*time.Minute {
		t.Errorf("visits %d, modes %v want %v, timed %d, avg %v", rep.Visits, got, want, rep.Timed, rep.AvgLength)
	}
}

func TestReadVisitRow(t *testing.T) {
	vs := []visit.Visit{
		{ID: "a", Mode: visit.Booked, State: visit.Closed, CompanyID: "c1", FloorID: "f1", From: 1, Until: 2, FirstIn: 3, LastOut: 4,
			Visitor: visit.Visitor{Name: `Tricky "from": 9, \ {"state":"x"}`, Company: "company_id"},
			History: []visit.Transition{{State: visit.In, At: 5, Note: `"mode":"walkin"`}}, Message: "[{]}"},
		{ID: "b", Mode: visit.WalkIn, State: visit.In, From: -5},
		{},
	}
	for _, v := range vs {
		b, _ := json.Marshal(v)
		var fast, slow visitRow
		if !fastVisitRow(b, &fast) {
			t.Errorf("fast path refused %s", b)
		}
		if err := json.Unmarshal(b, &slow); err != nil || fast != slow {
			t.Errorf("fast %+v, encoding/json %+v", fast, slow)
		}
	}
	// Escapes in a field read and anything malformed go to encoding/json.
	var row visitRow
	if !readVisitRow([]byte(`{"mode":"bo\u006fked","from":7}`), &row) || row.Mode != "booked" || row.From != 7 {
		t.Errorf("escaped: %+v", row)
	}
	for _, bad := range []string{``, `{`, `{"mode":`, `{"from":"x"}`, `[1]`, `{"mode":"a" "b"}`, `{"a":[1,{"b":"}]"}],"from":}`} {
		if readVisitRow([]byte(bad), &row) {
			t.Errorf("%q read as %+v", bad, row)
		}
	}
}
