package access

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/store"
)

// The gate benchmark's building: 20 lanes into one hard anti-passback zone,
// GATEHOUSE_BENCH_CREDS (default 100,000) cards with a group and the
// working-hours profile (every 50th with a daily limit of 5), and
// GATEHOUSE_BENCH_EVENTS (default 10,000,000) events spread evenly over the
// year before the fake clock's now (Monday 2026-11-23 10:00, Shanghai).
//
// GATEHOUSE_BENCH_DIR keeps the seeded data between runs (the benchmark and
// the RSS test share it); without it the data lives in a temporary directory.

const (
	benchLanes = 20
	// Each key a command writes also moves its write mark (store, writes.go),
	// so a transaction holds twice the keys its command writes.
	benchBatchE = 4000 // events per seeding transaction: 12,000 keys + marks, ~1.2 MB (Badger's cap: ~26,000 keys, 2.4 MB)
	benchBatchC = 2000 // credentials per seeding transaction: 6,000 keys + marks, ~1.4 MB
)

func benchEnv(name string, def int) int {
	if s := os.Getenv(name); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	}
	return def
}

// benchID is a deterministic 16-character store ID: a tag byte and i.
func benchID(tag byte, i int) string {
	var b [10]byte
	b[0] = tag
	binary.BigEndian.PutUint32(b[6:], uint32(i))
	return idEnc.EncodeToString(b[:])
}

// benchCard is card i's number: 8 hex digits, distinct for every i (odd
// multiplier modulo 2^32). Unknown cards use 10 digits, so never collide.
func benchCard(i int) string { return fmt.Sprintf("%08X", uint32(i)*2654435761) }

func mix64(x uint64) uint64 { // splitmix64
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

type benchEvents struct {
	From, N int
	Start   int64 // ns of event 0
	Step    int64 // ns between events
	Creds   int
	Lanes   []string
}

// benchEvent is seeded event j: 3 % unknown cards (no holder), 2 % outside
// the profile, the rest granted; entries and exits alternate.
func benchEvent(p benchEvents, j int) Event {
	h := mix64(uint64(j))
	e := Event{Time: time.Unix(0, p.Start+int64(j)*p.Step), Lane: p.Lanes[h%uint64(len(p.Lanes))], Entry: j&1 == 0,
		Kind: 'c', Rand: uint32(h >> 32)}
	switch r := (h >> 8) % 100; {
	case r < 3:
		e.Reason = Unknown
	default:
		c := int((h >> 16) % uint64(p.Creds))
		e.CredID, e.Holder = benchID('c', c), benchID('p', c)
		e.Grant, e.Reason = r >= 5, Granted
		if !e.Grant {
			e.Reason = OutsideProfile
		}
	}
	return e
}

func registerBench(st *store.Store) {
	st.Register("bench.credentials", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var cs []Credential
		if err := cmd.Decode(&cs); err != nil {
			return store.Effect{}, err
		}
		for _, c := range cs {
			if err := putCred(tx, c); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{Note: strconv.Itoa(len(cs))}, nil
	})
	// The events are generated in the handler from their index, so the
	// command stays small; each is written exactly as applyEvent writes it
	// (record by time, lane index, holder index), without presence updates.
	st.Register("bench.events", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var p benchEvents
		if err := cmd.Decode(&p); err != nil {
			return store.Effect{}, err
		}
		for j := p.From; j < p.From+p.N; j++ {
			e := benchEvent(p, j)
			k1, k2, k3 := e.keys()
			if err := tx.Set(k1, e.encode()); err != nil {
				return store.Effect{}, err
			}
			if err := tx.Set(k3, nil); err != nil {
				return store.Effect{}, err
			}
			if e.Holder != "" {
				if err := tx.Set(k2, nil); err != nil {
					return store.Effect{}, err
				}
			}
		}
		return store.Effect{Note: strconv.Itoa(p.N)}, nil
	})
}

type benchWorld struct {
	st     *store.Store
	acc    *Service
	clk    *clock.Fake
	dir    string // Badger's directory
	lanes  []Lane
	creds  int
	events int
	seeded time.Duration // 0 when reused
}

type benchMark struct{ Creds, Events int }

// openBenchWorld opens (seeding if needed) the benchmark building.
func openBenchWorld(tb testing.TB) *benchWorld {
	tb.Helper()
	root := os.Getenv("GATEHOUSE_BENCH_DIR")
	if root == "" {
		root = tb.TempDir()
	}
	w := &benchWorld{dir: filepath.Join(root, "data"), creds: benchEnv("GATEHOUSE_BENCH_CREDS", 100_000),
		events: benchEnv("GATEHOUSE_BENCH_EVENTS", 10_000_000)}
	var mark benchMark
	if b, err := os.ReadFile(filepath.Join(root, "seeded.json")); err == nil {
		if err := json.Unmarshal(b, &mark); err != nil || mark.Creds != w.creds || mark.Events != w.events {
			tb.Fatalf("%s holds %+v, want %d credentials and %d events: use another GATEHOUSE_BENCH_DIR", root, mark, w.creds, w.events)
		}
	}
	var err error
	w.st, err = store.Open(store.Options{Dir: w.dir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.st.Close() })
	Register(w.st)
	registerBench(w.st)
	w.clk = clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, shanghai)) // Monday
	w.acc = New(w.st, w.clk, shanghai, nil, nil)
	if mark.Events > 0 {
		if w.lanes, err = w.acc.Lanes(); err != nil || len(w.lanes) != benchLanes {
			tb.Fatalf("reused data: %d lanes, %v", len(w.lanes), err)
		}
		return w
	}
	start := time.Now()
	w.seed(tb)
	w.seeded = time.Since(start)
	b, _ := json.Marshal(benchMark{w.creds, w.events})
	if err := os.WriteFile(filepath.Join(root, "seeded.json"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return w
}

func (w *benchWorld) seed(tb testing.TB) {
	ctx := context.Background()
	zone, err := w.acc.SaveZone(ctx, "bench", Zone{Name: "Lobby", Passback: PassbackHard})
	if err != nil {
		tb.Fatal(err)
	}
	group, err := w.acc.SaveGroup(ctx, "bench", Group{Name: "Staff", ZoneIDs: []string{zone.ID}})
	if err != nil {
		tb.Fatal(err)
	}
	prof, err := w.acc.SaveProfile(ctx, "bench", Profile{Name: "Working hours", Week: workingHours.Week})
	if err != nil {
		tb.Fatal(err)
	}
	laneIDs := make([]string, benchLanes)
	for i := range laneIDs {
		l, err := w.acc.SaveLane(ctx, "bench", Lane{Name: fmt.Sprintf("Gate %d", i+1), ZoneID: zone.ID, Visitors: true, PulseMs: 800})
		if err != nil {
			tb.Fatal(err)
		}
		w.lanes, laneIDs[i] = append(w.lanes, l), l.ID
	}
	now := w.clk.Now().UnixNano()
	t0 := time.Now()
	for i := 0; i < w.creds; i += benchBatchC {
		cs := make([]Credential, 0, benchBatchC)
		for j := i; j < i+benchBatchC && j < w.creds; j++ {
			c := Credential{ID: benchID('c', j), Kind: Card, Number: benchCard(j), HolderKind: HolderEmployee,
				HolderID: benchID('p', j), HolderName: fmt.Sprintf("Employee %d", j), State: Active, ProfileID: prof.ID,
				GroupIDs: []string{group.ID}, Created: now, Updated: now}
			if j%50 == 0 {
				c.LimitDay = 5
			}
			cs = append(cs, c)
		}
		cmd, _ := store.NewCommand("bench.credentials", "bench", now, cs)
		if _, err := w.st.Apply(ctx, cmd); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Logf("seeded %d credentials in %v", w.creds, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	year := int64(365 * 24 * time.Hour)
	p := benchEvents{Start: now - year, Step: year / int64(max(w.events, 1)), Creds: w.creds, Lanes: laneIDs}
	for i := 0; i < w.events; i += benchBatchE {
		p.From, p.N = i, min(benchBatchE, w.events-i)
		cmd, _ := store.NewCommand("bench.events", "bench", now, p)
		if _, err := w.st.Apply(ctx, cmd); err != nil {
			tb.Fatal(err)
		}
		if i > 0 && i%1_000_000 == 0 {
			tb.Logf("  %d events after %v", i, time.Since(t0).Round(time.Second))
		}
	}
	tb.Logf("seeded %d events in %v (%.0f events/s, %d per transaction)", w.events, time.Since(t0).Round(time.Millisecond),
		float64(w.events)/time.Since(t0).Seconds(), benchBatchE)
}

// presentation draws one presentation of the mix: 90 % enrolled cards (10 %
// of them at the exit reader), 10 % unknown cards, on a random lane.
func (w *benchWorld) presentation(r *rand.Rand) (gate.Presentation, string) {
	p := gate.Presentation{Lane: w.lanes[r.IntN(len(w.lanes))].ID, Direction: gate.In, Kind: gate.Card, Device: "bench"}
	switch x := r.IntN(100); {
	case x < 10:
		p.Value = fmt.Sprintf("AB%08X", r.Uint32())
		return p, "unknown"
	case x < 19:
		p.Direction = gate.Out
	}
	p.Value = benchCard(r.IntN(w.creds))
	return p, "card"
}

func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// BenchmarkGate10M seeds (or reuses) the building, then measures in one
// pass: Check (gather + decide, no write) and Decide (with the synced event
// command) latency, event append throughput through Decide, serial and from
// 4 goroutines, and the bytes on disk per event after closing and after a
// full compaction. Run it once:
//
//	go test -run xxx -bench Gate10M -benchtime 1x -timeout 60m -v ./appliance/access/
func BenchmarkGate10M(b *testing.B) {
	w := openBenchWorld(b)
	if w.seeded > 0 {
		b.ReportMetric(w.seeded.Seconds(), "seed-s")
	}
	nCheck, nDecide := benchEnv("GATEHOUSE_BENCH_CHECKS", 10_000), benchEnv("GATEHOUSE_BENCH_DECIDES", 2_000)
	// A new draw each run: a card let in by an earlier run over the same
	// directory is still inside (hard anti-passback) and would be refused.
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		// Warm-up: the first reads after seeding pay for table indexes.
		for range 200 {
			p, _ := w.presentation(r)
			if _, err := w.acc.Check(p); err != nil {
				b.Fatal(err)
			}
		}
		lat := map[string][]time.Duration{}
		reasons := map[Reason]int{}
		for range nCheck {
			p, kind := w.presentation(r)
			t := time.Now()
			o, err := w.acc.Check(p)
			d := time.Since(t)
			if err != nil {
				b.Fatal(err)
			}
			lat["all"], lat[kind] = append(lat["all"], d), append(lat[kind], d)
			reasons[o.Reason]++
		}
		for _, k := range []string{"all", "card", "unknown"} {
			b.Logf("Check %-7s n=%5d p50 %7.1f µs  p90 %7.1f µs  p99 %7.1f µs  max %7.1f µs", k, len(lat[k]),
				us(percentile(lat[k], .5)), us(percentile(lat[k], .9)), us(percentile(lat[k], .99)), us(slices.Max(lat[k])))
		}
		b.Logf("Check reasons: %v", reasons)
		b.ReportMetric(us(percentile(lat["all"], .5)), "check-p50-µs")
		b.ReportMetric(us(percentile(lat["all"], .99)), "check-p99-µs")

		var dl []time.Duration
		reasons = map[Reason]int{}
		t0 := time.Now()
		for range nDecide {
			p, _ := w.presentation(r)
			t := time.Now()
			a, err := w.acc.Decide(ctx, p)
			dl = append(dl, time.Since(t))
			if err != nil {
				b.Fatal(err)
			}
			reasons[Reason(a.Reason)]++
		}
		serial := float64(nDecide) / time.Since(t0).Seconds()
		b.Logf("Decide n=%d p50 %.1f µs  p90 %.1f µs  p99 %.1f µs  max %.1f µs; %.0f events/s serial; reasons %v", nDecide,
			us(percentile(dl, .5)), us(percentile(dl, .9)), us(percentile(dl, .99)), us(slices.Max(dl)), serial, reasons)
		b.ReportMetric(us(percentile(dl, .5)), "decide-p50-µs")
		b.ReportMetric(us(percentile(dl, .99)), "decide-p99-µs")
		b.ReportMetric(serial, "decide-events/s")

		const workers = 4
		var wg sync.WaitGroup
		t0 = time.Now()
		for g := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(g)))
				for range nDecide / workers {
					p, _ := w.presentation(r)
					if _, err := w.acc.Decide(ctx, p); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		par := float64(nDecide/workers*workers) / time.Since(t0).Seconds()
		b.Logf("Decide from %d goroutines: %.0f events/s", workers, par)
		b.ReportMetric(par, "decide4-events/s")
	}
	b.StopTimer()
	if err := w.st.Close(); err != nil {
		b.Fatal(err)
	}
	sizes := dirSizes(b, w.dir)
	b.Logf("on disk after close: %v", sizes)
	perEvent := tableBytes(b, w.dir, w.events)
	after := dirSizes(b, w.dir)
	b.Logf("on disk after Flatten: %v", after)
	b.ReportMetric(float64(after["total"])/float64(w.events), "disk-B/event")
	b.ReportMetric(perEvent, "event-sst-B/event")
}

// dirSizes sums the data directory's files by suffix.
func dirSizes(tb testing.TB, dir string) map[string]int64 {
	m := map[string]int64{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		ext := filepath.Ext(path)
		if ext == "" {
			ext = filepath.Base(path)
		}
		m[ext] += fi.Size()
		m["total"] += fi.Size()
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// tableBytes opens the closed data directory with Badger directly, with the
// options of appliance/store/options.go that shape tables (the store does
// not expose compaction), flattens the tree, and attributes each table's
// on-disk size to events (kinds 0x6B-0x6D), audit entries (0x01) or the
// rest by its key range. It returns event-table bytes per seeded event.
func tableBytes(tb testing.TB, dir string, events int) float64 {
	o := badger.DefaultOptions(dir).WithSyncWrites(true).WithMemTableSize(16 << 20).WithNumMemtables(2).
		WithNumLevelZeroTables(2).WithNumLevelZeroTablesStall(8).WithBaseTableSize(4 << 20).WithBlockCacheSize(16 << 20).
		WithIndexCacheSize(8 << 20).WithValueLogFileSize(64 << 20).WithValueThreshold(1 << 10).WithNumCompactors(2).
		WithCompression(options.ZSTD).WithZSTDCompressionLevel(1).WithLogger(nil)
	db, err := badger.Open(o)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	count := func(label string) {
		by := map[string]int64{}
		levels := map[int]int{}
		for _, t := range db.Tables() {
			levels[t.Level]++
			k := "other"
			switch l, r := t.Left[0], t.Right[0]; {
			case l >= byte(store.KindEvent) && r <= byte(store.KindEventByLane):
				k = "event"
			case l == byte(store.KindAudit) && r == byte(store.KindAudit):
				k = "audit"
			case l == byte(store.KindAudit) || r == byte(store.KindAudit) || l <= byte(store.KindEventByLane) && r >= byte(store.KindEvent):
				k = "mixed"
			}
			by[k] += int64(t.OnDiskSize)
		}
		lsm, vlog := db.Size()
		tb.Logf("%s: tables per level %v; table bytes by kind %v; lsm %d vlog %d", label, levels, by, lsm, vlog)
	}
	count("before Flatten")
	t0 := time.Now()
	if err := db.Flatten(2); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("Flatten took %v", time.Since(t0).Round(time.Millisecond))
	count("after Flatten")
	var ev int64
	for _, t := range db.Tables() {
		if t.Left[0] >= byte(store.KindEvent) && t.Right[0] <= byte(store.KindEventByLane) {
			ev += int64(t.OnDiskSize)
		}
	}
	return float64(ev) / float64(events)
}

// TestGateRSS reports the resident memory of a process that opens the
// seeded building and decides: run it in its own process after the
// benchmark has seeded GATEHOUSE_BENCH_DIR (it seeds first otherwise, and
// then reports a peak that includes seeding).
//
//	GATEHOUSE_BENCH_RSS=1 GATEHOUSE_BENCH_DIR=/tmp/gh-gate go test -run TestGateRSS -v -count=1 ./appliance/access/
func TestGateRSS(t *testing.T) {
	if os.Getenv("GATEHOUSE_BENCH_RSS") != "1" {
		t.Skip("set GATEHOUSE_BENCH_RSS=1 (and GATEHOUSE_BENCH_DIR to a seeded directory)")
	}
	t.Logf("before open: %s", procStatus(t))
	w := openBenchWorld(t)
	t.Logf("after open: %s", procStatus(t))
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 4))
	for i := range 5000 {
		p, _ := w.presentation(r)
		var err error
		if i%10 == 0 {
			_, err = w.acc.Decide(context.Background(), p)
		} else {
			_, err = w.acc.Check(p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("after 4,500 checks and 500 decisions: %s", procStatus(t))
	runtimeGC()
	t.Logf("after runtime.GC + debug.FreeOSMemory: %s", procStatus(t))
}

func procStatus(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, k := range []string{"VmRSS", "VmHWM", "RssAnon", "RssFile"} {
			if strings.HasPrefix(l, k+":") {
				out = append(out, k+" "+strings.Join(strings.Fields(l[len(k)+1:]), " "))
			}
		}
	}
	return strings.Join(out, ", ") + ", " + heapLine()
}

func runtimeGC() {
	runtime.GC()
	debug.FreeOSMemory()
}

func heapLine() string {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return fmt.Sprintf("Go heap in use %.1f MiB, sys %.1f MiB", float64(m.HeapInuse)/(1<<20), float64(m.Sys)/(1<<20))
}

// BenchmarkGateDuringScrub measures gate decisions while the store scrubs:
// Check (the decision, read only) and Decide (with its synced event) p50
// and p99, first with no scrub, then while a scrub runs at the appliance's
// rate (8 MB/s) and at full speed, and how long each scrub took. Use the
// same building as Gate10M, scaled by the same variables:
//
//	GATEHOUSE_BENCH_CREDS=10000 GATEHOUSE_BENCH_EVENTS=500000 go test -run xxx -bench GateDuringScrub -benchtime 1x -v ./appliance/access/
func BenchmarkGateDuringScrub(b *testing.B) {
	w := openBenchWorld(b)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	ctx := context.Background()
	measure := func(n int, running func() bool) (check, decide []time.Duration) {
		for i := 0; i < n || running != nil && running(); i++ {
			p, _ := w.presentation(r)
			t := time.Now()
			if _, err := w.acc.Check(p); err != nil {
				b.Fatal(err)
			}
			check = append(check, time.Since(t))
			if i%4 == 0 { // a decision records an event: a synced command
				p, _ = w.presentation(r)
				t = time.Now()
				if _, err := w.acc.Decide(ctx, p); err != nil {
					b.Fatal(err)
				}
				decide = append(decide, time.Since(t))
			}
			time.Sleep(time.Millisecond) // a busy lobby, not a flood
		}
		return check, decide
	}
	line := func(what string, check, decide []time.Duration) {
		b.Logf("%-22s Check n=%5d p50 %7.1f µs p99 %7.1f µs | Decide n=%4d p50 %7.1f µs p99 %7.1f µs", what,
			len(check), us(percentile(check, .5)), us(percentile(check, .99)),
			len(decide), us(percentile(decide, .5)), us(percentile(decide, .99)))
	}
	b.ResetTimer()
	for b.Loop() {
		measure(200, nil) // warm-up
		c, d := measure(2000, nil)
		line("no scrub", c, d)
		b.ReportMetric(us(percentile(c, .99)), "check-p99-µs")
		b.ReportMetric(us(percentile(d, .99)), "decide-p99-µs")
		for _, rate := range []int64{8 << 20, 0} {
			var done sync.WaitGroup
			var rep store.ScrubReport
			var serr error
			var finished sync.Mutex
			end := false
			done.Add(1)
			go func() {
				defer done.Done()
				rep, serr = w.st.Scrub(ctx, store.ScrubOptions{BytesPerSecond: rate})
				finished.Lock()
				end = true
				finished.Unlock()
			}()
			c, d := measure(0, func() bool { finished.Lock(); defer finished.Unlock(); return !end })
			done.Wait()
			if serr != nil {
				b.Fatal(serr)
			}
			name := "scrub at 8 MB/s"
			if rate == 0 {
				name = "scrub at full speed"
			}
			line(name, c, d)
			b.Logf("%-22s %d tables, %d value logs, %d versions, %.1f MB in %v", name, rep.Tables, rep.ValueLogs, rep.Versions,
				float64(rep.Bytes)/(1<<20), rep.Took.Round(time.Millisecond))
			unit := "-8MBps"
			if rate == 0 {
				unit = "-full"
			}
			b.ReportMetric(us(percentile(c, .99)), "check-p99-µs"+unit)
			b.ReportMetric(us(percentile(d, .99)), "decide-p99-µs"+unit)
			b.ReportMetric(rep.Took.Seconds(), "scrub-s"+unit)
		}
	}
}
