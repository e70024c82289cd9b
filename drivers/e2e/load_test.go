package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/report"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// The background load of the "Loaded" latency benchmarks: what a lobby
// computer does besides its gates on a busy morning, on the same appliance
// (same store, same process, same cores):
//
//   - the desk registers a 2,000-attendee conference from a list and
//     prints its 250-page sheet of passes, again and again;
//   - a director exports the report of the past year (figures over a
//     generated year of history, then the PDF), again and again.
//
// The year is seeded before the clock starts, for the quiet runs too, so
// that a quiet and a loaded run differ only in the load: 366 days of 1,000
// card events and 60 visits each (about 366,000 events and 22,000 visit
// records), written through access.PutEvent as the gate writes them.

const (
	seedDays         = 366
	seedEventsPerDay = 1000
	seedVisitsPerDay = 60
)

type seedDay struct {
	Day   int
	Start int64 // local midnight of day 0
	Now   int64
	Lane  string
	Host  string
	Comp  string
	Floor string
}

// seedYear writes a year of history into l's store.
func seedYear(b *testing.B, l *lobby) {
	b.Helper()
	ctx := context.Background()
	l.app.Store.Register("e2e.seed.day", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var p seedDay
		if err := cmd.Decode(&p); err != nil {
			return store.Effect{}, err
		}
		return store.Effect{}, seedOneDay(tx, p, l.app.Config.Location)
	})
	now := time.Now()
	y, m, d := now.In(l.app.Config.Location).Date()
	p := seedDay{Start: time.Date(y, m, d-seedDays+1, 0, 0, 0, 0, l.app.Config.Location).UnixNano(), Now: now.UnixNano(),
		Lane: l.lane.ID, Host: l.host.ID, Comp: l.host.CompanyID, Floor: l.host.FloorID}
	t0 := time.Now()
	for day := range seedDays {
		p.Day = day
		if _, err := store.Issue(ctx, l.app.Store, "e2e.seed.day", "seed", now, p); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded a year of history (%d events, %d visits) in %v", seedDays*seedEventsPerDay, seedDays*seedVisitsPerDay,
		time.Since(t0).Round(time.Millisecond))
}

func seedOneDay(tx *store.Tx, p seedDay, loc *time.Location) error {
	r := rand.New(rand.NewPCG(uint64(p.Day), 7))
	day := time.Unix(0, p.Start).In(loc).AddDate(0, 0, p.Day)
	now := time.Unix(0, p.Now)
	at := func(h, spreadMin int) time.Time {
		return day.Add(time.Duration(h)*time.Hour + time.Duration(r.IntN(spreadMin*60))*time.Second)
	}
	for i := range seedEventsPerDay {
		t := at(7, 12*60)
		if !t.Before(now) {
			continue
		}
		e := access.Event{Time: t, Lane: p.Lane, Entry: i%2 == 0, Grant: r.IntN(50) != 0, Kind: 'c', Reason: access.Granted,
			Holder: fmt.Sprintf("p%015d", i%400), Rand: r.Uint32()}
		if err := access.PutEvent(tx, e); err != nil {
			return err
		}
	}
	for j := range seedVisitsPerDay {
		from := at(9, 8*60)
		if !from.Before(now) {
			continue
		}
		in := from.Add(time.Duration(r.IntN(30)) * time.Minute)
		v := visit.Visit{ID: seedVisitID(from, p.Day, j), Mode: visit.Invited, State: visit.Closed, HostID: p.Host, CompanyID: p.Comp,
			FloorID: p.Floor, Reason: "Meeting", PartySize: 1, From: from.UnixNano(), Until: from.Add(2 * time.Hour).UnixNano(),
			Created: from.Add(-time.Hour).UnixNano(), FirstIn: in.UnixNano(), LastOut: in.Add(time.Hour).UnixNano(),
			Visitor: visit.Visitor{Name: fmt.Sprintf("Visitor %d-%d", p.Day, j), MobileSealed: strings.Repeat("Q", 88),
				MobileBlind: strings.Repeat("b", 43), MobileMasked: "138****1234", IDSealed: strings.Repeat("S", 64),
				IDBlind: strings.Repeat("i", 43), Company: "Visiting Co. Ltd"},
			LinkHash: strings.Repeat("h", 64), LinkSealed: strings.Repeat("L", 100)}
		v.PassID = v.ID
		v.History = []visit.Transition{{State: visit.Approved, At: v.Created, By: "host"}, {State: visit.In, At: v.FirstIn, By: "gate"},
			{State: visit.Out, At: v.LastOut, By: "gate"}, {State: visit.Closed, At: v.LastOut, By: "gate"}}
		if err := tx.Set(store.Key(store.KindVisitByTime, string(store.U64(uint64(v.From))), v.ID), []byte(v.State)); err != nil {
			return err
		}
		if err := tx.SetJSON(store.Key(store.KindVisit, v.ID), v); err != nil {
			return err
		}
	}
	return nil
}

// seedVisitID is an ID as store.NewID makes it at t, with the day and
// number in place of the random bits.
func seedVisitID(t time.Time, day, j int) string {
	id := store.NewID(t)
	return id[:10] + fmt.Sprintf("%03d%03d", day%1000, j%1000)
}

// backgroundLoad runs the desk's conference and the director's report
// until stop is called, which reports how many of each were done.
func backgroundLoad(b *testing.B, l *lobby) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var confs, reports atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		if ctx.Err() == nil {
			firstErr.CompareAndSwap(nil, err)
		}
	}
	wg.Add(2)
	go func() { // the desk
		defer wg.Done()
		for n := 0; ctx.Err() == nil; n++ {
			now := time.Now()
			m, err := l.app.Conferences.Create(ctx, "account:desk", visit.MeetingInput{Name: "年度技术大会 Annual Tech Summit " + strconv.Itoa(n),
				Place: "Hall A", HostID: l.host.ID, From: now.Add(time.Hour), Until: now.Add(9 * time.Hour)})
			if err != nil {
				fail(err)
				return
			}
			var list bytes.Buffer
			list.WriteString("name,mobile,company,title\n")
			for i := range 2000 {
				fmt.Fprintf(&list, "参会者%04d,139%04d%04d,Company %d,\n", i, n%10000, i, i%7)
			}
			if reg, err := l.app.Conferences.Register(ctx, "account:desk", m.ID, list.Bytes()); err != nil || reg.Registered != 2000 {
				fail(fmt.Errorf("conference registration: %+v %v", reg, err))
				return
			}
			if err := l.app.Conferences.PassSheet(io.Discard, m.ID, visit.SheetOptions{Location: l.app.Config.Location}); err != nil {
				fail(err)
				return
			}
			confs.Add(1)
		}
	}()
	go func() { // the director
		defer wg.Done()
		for ctx.Err() == nil {
			now := time.Now()
			rep, err := l.app.Reports.Report(now.AddDate(-1, 0, 0), now)
			if err != nil {
				fail(err)
				return
			}
			t := report.Table{Title: "Gate passages", Header: []string{"from", "in", "out", "visits"}}
			for _, s := range rep.Series {
				t.Rows = append(t.Rows, []any{s.Start.Format("2006-01-02"), s.In, s.Out, s.Visits})
			}
			comp := report.Table{Title: "Visits by company", Header: []string{"company", "visits"}}
			for _, c := range rep.ByCompany {
				comp.Rows = append(comp.Rows, []any{c.ID, c.N})
			}
			if err := report.WritePDF(io.Discard, "Report", "the past year", "e2e", []report.Table{t, comp}); err != nil {
				fail(err)
				return
			}
			reports.Add(1)
		}
	}()
	return func() {
		cancel()
		wg.Wait()
		if err, ok := firstErr.Load().(error); ok {
			b.Fatalf("background load: %v", err)
		}
		b.Logf("background load: %d conferences of 2,000 registered with their pass sheets, %d yearly reports exported",
			confs.Load(), reports.Load())
	}
}

// BenchmarkLatencyLoad is the wire-to-relay benchmarks on a lobby with a
// year of history, quiet and with the background load, in one run:
//
//	go test -run '^$' -bench LatencyLoad -benchtime 10000x -timeout 60m ./drivers/e2e/
func BenchmarkLatencyLoad(b *testing.B) {
	for _, c := range []struct {
		name   string
		run    func(*testing.B, *lobby, func() func())
		loaded bool
	}{
		{"card-quiet", cardPath, false},
		{"card-loaded", cardPath, true},
		{"qr-quiet", scanPath, false},
		{"qr-loaded", scanPath, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := yearLobby(b)
			load := func() func() { return func() {} }
			if c.loaded {
				load = func() func() { return backgroundLoad(b, l) }
			}
			c.run(b, l, load)
		})
	}
}

func cardPath(b *testing.B, l *lobby, load func() func()) { cardToRelay(b, defaultPoll, l, load) }

// The lobby with a year of history is seeded once per process (a minute or
// two) into a template directory, which every benchmark run copies.
var yearTemplate struct {
	once sync.Once
	dir  string
	l    lobby
}

func yearLobby(b *testing.B) *lobby {
	b.Helper()
	t := &yearTemplate
	t.once.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-e2e-year-")
		if err != nil {
			b.Fatal(err)
		}
		t.dir = dir
		l := newLobbyIn(b, dir)
		seedYear(b, l)
		if err := l.app.Close(); err != nil {
			b.Fatal(err)
		}
		t.l = *l
	})
	if t.l.app == nil {
		b.Fatal("seeding the year failed")
	}
	dir := filepath.Join(b.TempDir(), "data")
	if err := os.CopyFS(dir, os.DirFS(t.dir)); err != nil {
		b.Fatal(err)
	}
	l := t.l
	l.app = openApp(b, dir)
	b.Cleanup(func() { l.app.Close() })
	return &l
}

// removeYearTemplate is called by TestMain.
func removeYearTemplate() {
	if yearTemplate.dir != "" {
		os.RemoveAll(yearTemplate.dir)
	}
}
