package ui

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// The flow benchmark's building: 5,000 employees of 50 companies on 30
// floors, 16 lobby lanes, and the 365 days before the clock's now (Monday
// 2026-11-23 10:00, Shanghai) of gate events and visits:
//
//   - a working day, 90 % of employees come (entry 7:30–9:30, exit
//     17:00–19:30), 60 % of those go out for lunch and back, 1 % are first
//     refused once; at weekends 5 % come;
//   - 300 visits a working day (30 at weekends): 40 % invited, 30 %
//     pre-booked, 25 % walk-in, 5 % conference; 8 % of the expected ones
//     never come; the others enter and leave once;
//   - 50 unknown cards a day.
//
// That is about 3.9 million events and 80,000 visits. Today's events run
// up to now, and whoever is inside at now is in the presence records.
// GATEHOUSE_BENCH_DIR keeps the seeded data between runs, as in
// appliance/access's Gate10M benchmark; the days are written through the
// same code as the gate (access.PutEvent, which also adds the hourly
// counters), a quarter of a day's employees per transaction.

const (
	flowEmployees = 5000
	flowCompanies = 50
	flowFloors    = 30
	flowLanes     = 16
	flowDays      = 365
	flowParts     = 4
)

type flowDay struct {
	Day, Part int
	Start     int64 // ns of local midnight of day 0
	Now       int64
	Lanes     []string
	Floors    []string
	Companies []string
}

func flowPersonID(i int) string { return fmt.Sprintf("p%015d", i) }

var flowIDs = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// flowVisitID is an ID as store.NewID makes it at created, with the day
// and number in place of the random bits.
func flowVisitID(created time.Time, day, j int) string {
	var b [10]byte
	binary.BigEndian.PutUint64(b[:8], uint64(created.UnixMilli())<<16)
	binary.BigEndian.PutUint32(b[6:], uint32(day)<<16|uint32(j))
	return flowIDs.EncodeToString(b[:])
}

func registerFlowBench(st *store.Store, loc *time.Location) {
	st.Register("bench.flow.people", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var p flowDay
		if err := cmd.Decode(&p); err != nil {
			return store.Effect{}, err
		}
		for i := p.Part; i < min(p.Part+1000, flowEmployees); i++ {
			per := directory.Person{ID: flowPersonID(i), Kind: directory.Employee, Name: fmt.Sprintf("Employee %d", i),
				CompanyID: p.Companies[i%flowCompanies], FloorID: p.Floors[i%flowFloors], EmployeeNo: strconv.Itoa(i), Active: true}
			if err := tx.SetJSON(store.Key(store.KindPerson, per.ID), per); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{}, nil
	})
	st.Register("bench.flow.day", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var p flowDay
		if err := cmd.Decode(&p); err != nil {
			return store.Effect{}, err
		}
		n, err := seedFlowDay(tx, p, loc)
		return store.Effect{Note: strconv.Itoa(n)}, err
	})
}

// seedFlowDay writes one part of one day; it returns the events written.
func seedFlowDay(tx *store.Tx, p flowDay, loc *time.Location) (int, error) {
	r := rand.New(rand.NewPCG(uint64(p.Day), uint64(p.Part)))
	day := time.Unix(0, p.Start).In(loc).AddDate(0, 0, p.Day)
	now := time.Unix(0, p.Now)
	workday := day.Weekday() != time.Saturday && day.Weekday() != time.Sunday
	at := func(h, m int, spreadMin int) time.Time {
		return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(r.IntN(spreadMin*60))*time.Second)
	}
	n := 0
	put := func(t time.Time, entry, grant bool, holder string) error {
		if !t.Before(now) {
			return nil
		}
		n++
		return access.PutEvent(tx, access.Event{Time: t, Lane: p.Lanes[r.IntN(len(p.Lanes))], Entry: entry, Grant: grant, Kind: 'c',
			Holder: holder, Reason: access.Granted, Rand: r.Uint32()})
	}
	inside := func(holder string, in, out time.Time) error {
		if in.Before(now) && !out.Before(now) {
			return tx.Set(store.Key(store.KindPresenceZone, "bench", holder), store.U64(uint64(in.UnixNano())))
		}
		return nil
	}
	come := 0.05
	if workday {
		come = 0.9
	}
	for i := p.Part; i < flowEmployees; i += flowParts {
		if r.Float64() >= come {
			continue
		}
		h := flowPersonID(i)
		in, out := at(7, 30, 120), at(17, 0, 150)
		if r.IntN(100) == 0 {
			if err := put(in.Add(-time.Minute), true, false, h); err != nil {
				return n, err
			}
		}
		if err := put(in, true, true, h); err != nil {
			return n, err
		}
		if r.Float64() < 0.6 {
			lo := at(11, 45, 60)
			li := lo.Add(time.Duration(30+r.IntN(45)) * time.Minute)
			if err := put(lo, false, true, h); err != nil {
				return n, err
			}
			if err := put(li, true, true, h); err != nil {
				return n, err
			}
		}
		if err := put(out, false, true, h); err != nil {
			return n, err
		}
		if err := inside(h, in, out); err != nil {
			return n, err
		}
	}
	if p.Part == 0 {
		for range 50 {
			if err := put(at(6, 0, 14*60), true, false, ""); err != nil {
				return n, err
			}
		}
	}
	visits := 30
	if workday {
		visits = 300
	}
	for j := p.Part; j < visits; j += flowParts {
		v := visit.Visit{CompanyID: p.Companies[j%flowCompanies], FloorID: p.Floors[j%flowFloors],
			HostID: flowPersonID(j * 13 % flowEmployees), Visitor: visit.Visitor{Name: fmt.Sprintf("Visitor %d-%d", p.Day, j)}, PartySize: 1}
		switch m := r.IntN(100); {
		case m < 40:
			v.Mode = visit.Invited
		case m < 70:
			v.Mode = visit.Booked
		case m < 95:
			v.Mode = visit.WalkIn
		default:
			v.Mode = visit.Conference
		}
		from := at(9, 0, 8*60)
		in := from.Add(time.Duration(r.IntN(40)-10) * time.Minute)
		out := in.Add(time.Duration(20+r.IntN(150)) * time.Minute)
		created := from.Add(-time.Hour - time.Duration(r.IntN(14*24*60))*time.Minute) // booked up to two weeks ahead
		if v.Mode == visit.WalkIn {
			created = in.Add(-5 * time.Minute)
		}
		// As a real record: ID by creation time, sealed and blinded
		// personal data, a status link, a pass and the history.
		v.ID = flowVisitID(created, p.Day, j)
		v.From, v.Until, v.Created = from.UnixNano(), from.Add(2*time.Hour).UnixNano(), created.UnixNano()
		v.Visitor.MobileSealed, v.Visitor.MobileBlind, v.Visitor.MobileMasked = strings.Repeat("Q", 88), strings.Repeat("b", 43), "138****1234"
		v.Visitor.IDSealed, v.Visitor.IDBlind, v.Visitor.Company = strings.Repeat("S", 64), strings.Repeat("i", 43), "Visiting Co. Ltd"
		v.LinkHash, v.LinkSealed, v.PassID, v.Reason = strings.Repeat("h", 64), strings.Repeat("L", 100), v.ID, "Meeting"
		v.History = []visit.Transition{{State: visit.Requested, At: v.Created, By: "visitor"}, {State: visit.Approved, At: v.Created + 1e12, By: v.HostID}}
		switch {
		case v.Mode != visit.WalkIn && r.IntN(100) < 8:
			v.State = visit.NoShow
			if !from.Add(2 * time.Hour).Before(now) {
				v.State = visit.Approved
			}
		case !in.Before(now):
			v.State = visit.Approved
		default:
			holder := "visit:" + v.ID
			v.State, v.FirstIn = visit.In, in.UnixNano()
			v.History = append(v.History, visit.Transition{State: visit.In, At: v.FirstIn, By: "gate"})
			if out.Before(now) {
				v.State, v.LastOut = visit.Closed, out.UnixNano()
				v.History = append(v.History, visit.Transition{State: visit.Out, At: v.LastOut, By: "gate"},
					visit.Transition{State: visit.Closed, At: v.LastOut, By: "gate"})
			}
			if err := put(in, true, true, holder); err != nil {
				return n, err
			}
			if err := put(out, false, true, holder); err != nil {
				return n, err
			}
			if err := inside(holder, in, out); err != nil {
				return n, err
			}
		}
		if err := tx.Set(store.Key(store.KindVisitByTime, string(store.U64(uint64(v.From))), v.ID), []byte(v.State)); err != nil {
			return n, err
		}
		if err := tx.SetJSON(store.Key(store.KindVisit, v.ID), v); err != nil {
			return n, err
		}
	}
	return n, nil
}

type flowWorld struct {
	app    *appliance.App
	srv    *Server
	ts     *httptest.Server
	cookie *http.Cookie
	clk    *clock.Fake
}

type flowMark struct{ Events, Days int }

func openFlowWorld(b *testing.B) *flowWorld {
	root := os.Getenv("GATEHOUSE_BENCH_DIR")
	if root == "" {
		root = b.TempDir()
	}
	dir := filepath.Join(root, "flow")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	var mark flowMark
	if data, err := os.ReadFile(filepath.Join(root, "flow-seeded.json")); err == nil {
		if err := json.Unmarshal(data, &mark); err != nil {
			b.Fatal(err)
		}
	}
	cfg, err := config.Load("", nil)
	if err != nil {
		b.Fatal(err)
	}
	loc := cfg.Location
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, loc)) // Monday
	ctx := context.Background()
	t0 := time.Now()
	app, err := appliance.Open(ctx, dir, cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("opened in %v", time.Since(t0).Round(time.Millisecond))
	registerFlowBench(app.Store, loc)
	w := &flowWorld{app: app, clk: clk}
	if mark.Days == 0 {
		w.seed(b, root)
	} else {
		b.Logf("reusing %d days, %d events", mark.Days, mark.Events)
	}
	w.srv = New(app, Options{})
	w.ts = httptest.NewServer(w.srv.Handler())
	b.Cleanup(func() { w.ts.Close(); w.srv.Close(); app.Close() })
	acct, err := app.Auth.CreateAccount(ctx, "bench", auth.NewAccount{Username: fmt.Sprintf("bench-%d", time.Now().UnixNano()),
		Name: "Bench", Role: auth.Manager, Password: "bench-password-1"})
	if err != nil {
		b.Fatal(err)
	}
	w.cookie = &http.Cookie{Name: sessionCookie, Value: w.srv.testSession(acct.ID, clk.Now()).id}
	return w
}

func (w *flowWorld) seed(b *testing.B, root string) {
	ctx := context.Background()
	app := w.app
	p := flowDay{}
	for i := range flowFloors {
		f, err := app.Directory.SaveFloor(ctx, "bench", directory.Floor{Name: fmt.Sprintf("%dF", i+1), Level: i + 1})
		if err != nil {
			b.Fatal(err)
		}
		p.Floors = append(p.Floors, f.ID)
	}
	for i := range flowCompanies {
		c, err := app.Directory.SaveCompany(ctx, "bench", directory.Company{Name: fmt.Sprintf("Company %02d", i+1), FloorIDs: []string{p.Floors[i%flowFloors]}})
		if err != nil {
			b.Fatal(err)
		}
		p.Companies = append(p.Companies, c.ID)
	}
	z, err := app.Access.SaveZone(ctx, "bench", access.Zone{Name: "Lobby"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range flowLanes {
		l, err := app.Access.SaveLane(ctx, "bench", access.Lane{Name: fmt.Sprintf("Gate %d", i+1), ZoneID: z.ID, Visitors: true, PulseMs: 800})
		if err != nil {
			b.Fatal(err)
		}
		p.Lanes = append(p.Lanes, l.ID)
	}
	now := w.clk.Now()
	for i := 0; i < flowEmployees; i += 1000 {
		p.Part = i
		if _, err := store.Issue(ctx, app.Store, "bench.flow.people", "bench", now, p); err != nil {
			b.Fatal(err)
		}
	}
	y, m, d := now.Date()
	p.Start = time.Date(y, m, d-flowDays, 0, 0, 0, 0, now.Location()).UnixNano()
	p.Now = now.UnixNano()
	t0 := time.Now()
	events := 0
	for day := 0; day <= flowDays; day++ {
		for part := range flowParts {
			p.Day, p.Part = day, part
			res, err := store.Issue(ctx, app.Store, "bench.flow.day", "bench", now, p)
			if err != nil {
				b.Fatal(err)
			}
			k, _ := strconv.Atoi(res.Note)
			events += k
		}
		if day%60 == 0 {
			b.Logf("  day %d: %d events after %v", day, events, time.Since(t0).Round(time.Second))
		}
	}
	b.Logf("seeded %d events over %d days in %v", events, flowDays+1, time.Since(t0).Round(time.Millisecond))
	data, _ := json.Marshal(flowMark{Events: events, Days: flowDays + 1})
	if err := os.WriteFile(filepath.Join(root, "flow-seeded.json"), data, 0o644); err != nil {
		b.Fatal(err)
	}
}

func (w *flowWorld) get(b *testing.B, path string) int {
	req, _ := http.NewRequest("GET", w.ts.URL+path, nil)
	req.AddCookie(w.cookie)
	req.Header.Set("Accept-Language", "en")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s = %d", path, resp.StatusCode)
	}
	return int(n)
}

// BenchmarkFlowYear measures, over a year of a 5,000-employee building,
// the people-flow dashboard (the full page through HTTP, and the figures
// alone) and the report of the whole year (page, CSV, PDF, figures alone).
// Run it once, seeding on the first run:
//
//	GATEHOUSE_BENCH_DIR=/tmp/gh-flow go test -run xxx -bench FlowYear -benchtime 20x -timeout 30m -v ./ui/
func BenchmarkFlowYear(b *testing.B) {
	w := openFlowWorld(b)
	yearQ := "?kind=range&from=2025-11-23&to=2026-11-23"
	rep, err := w.app.Reports.Report(time.Date(2025, 11, 23, 0, 0, 0, 0, w.app.Config.Location), time.Date(2026, 11, 24, 0, 0, 0, 0, w.app.Config.Location))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("the year: %d entries, %d exits, %d refused, %d visits (%d no-shows, average %v), %d lanes",
		rep.In, rep.Out, rep.InDenied+rep.OutDeny, rep.Visits, rep.NoShows, rep.AvgLength.Round(time.Second), len(rep.Lanes))
	d, err := w.app.Reports.Dashboard()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("the dashboard: %d inside (%v), %d entries today, averages over %d weeks", d.Inside, d.InsideBy, d.In, d.AvgWeeks)
	cases := []struct {
		name string
		run  func(b *testing.B)
	}{
		{"dashboard-page", func(b *testing.B) { w.get(b, "/flow") }},
		{"dashboard-live", func(b *testing.B) { w.get(b, "/flow/live") }},
		{"dashboard-figures", func(b *testing.B) {
			if _, err := w.app.Reports.Dashboard(); err != nil {
				b.Fatal(err)
			}
		}},
		{"year-page", func(b *testing.B) { w.get(b, "/reports"+yearQ) }},
		{"year-csv", func(b *testing.B) { w.get(b, "/reports.csv"+yearQ) }},
		{"year-xlsx", func(b *testing.B) { w.get(b, "/reports.xlsx"+yearQ) }},
		{"year-pdf", func(b *testing.B) { w.get(b, "/reports.pdf"+yearQ) }},
		{"year-figures", func(b *testing.B) {
			if _, err := w.app.Reports.Report(rep.From, rep.To); err != nil {
				b.Fatal(err)
			}
		}},
		{"year-2026-page", func(b *testing.B) { w.get(b, "/reports?kind=year&date=2026-06-01") }},
	}
	for _, c := range cases {
		c.run(b) // warm: the first read of a table pays for its index
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.run(b)
			}
		})
	}
}
