package cluster

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	be "encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"gatehouse/appliance/access"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// BenchmarkSnapshotLargeSite: the two halves of a node joining a site
// with years of history — the leader streams its state as a Raft snapshot
// (fsm.Snapshot + Persist, while it could go on serving) and the new node
// restores it (fsm.Restore: spooled, checked whole, loaded, synced) — for a
// site of 1,000,000 visits and 10,000,000 gate events (see registerSeed
// for their shapes). The peak anonymous resident memory of the process is
// measured per phase (see phase).
//
//	GOMEMLIMIT=400MiB GATEHOUSE_BENCH_DIR=/tmp/bigsite \
//	  go test -run '^$' -bench SnapshotLargeSite -benchtime 1x -timeout 150m ./cluster/
//
// GATEHOUSE_SITE_VISITS and GATEHOUSE_SITE_EVENTS scale it down.
// GATEHOUSE_BENCH_DIR keeps the seeded site for the next run (seeded again
// when the sizes differ); without it everything is in a temporary
// directory.
func BenchmarkSnapshotLargeSite(b *testing.B) {
	visits, events := envInt("GATEHOUSE_SITE_VISITS", 1_000_000), envInt("GATEHOUSE_SITE_EVENTS", 10_000_000)
	dir := os.Getenv("GATEHOUSE_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	// The seeded store is kept in $GATEHOUSE_BENCH_DIR/leader with a mark
	// of its size, so a later run measures again without seeding again; a
	// run stopped while seeding ("seeding" holds the size it was seeding)
	// is taken up where it stopped (seededSoFar).
	mark, size := filepath.Join(dir, "seeded"), fmt.Sprintf("%d visits %d events\n", visits, events)
	got, err := os.ReadFile(mark)
	seeded := err == nil && string(got) == size
	seeding, serr := os.ReadFile(filepath.Join(dir, "seeding"))
	resume := !seeded && serr == nil && string(seeding) == size
	if !seeded && !resume {
		if err := os.RemoveAll(filepath.Join(dir, "leader")); err != nil {
			b.Fatal(err)
		}
	}
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "leader"), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if seeded {
		say(b, "reusing the site seeded in %s (%s)", dir, strings.TrimSpace(size))
	} else {
		v0, e0 := 0, 0
		if resume {
			if v0, e0, err = seededSoFar(st, visits, events); err != nil {
				b.Fatal(err)
			}
		} else if err := os.WriteFile(filepath.Join(dir, "seeding"), []byte(size), 0o600); err != nil {
			b.Fatal(err)
		}
		seedSite(b, st, visits, events, v0, e0)
		if err := os.WriteFile(mark, []byte(size), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	storeMB := dirMB(filepath.Join(dir, "leader"))
	say(b, "store on disk: %.0f MB", storeMB)

	for i := 0; i < b.N; i++ {
		snapPath := filepath.Join(dir, "snapshot")
		f, err := newFSM(st, dir, quietLogger())
		if err != nil {
			b.Fatal(err)
		}
		var snapMB float64
		took, peak := phase(b, func() error {
			s, err := f.Snapshot()
			if err != nil {
				return err
			}
			out, err := os.Create(snapPath)
			if err != nil {
				return err
			}
			if err := s.Persist(&fileSink{File: out}); err != nil {
				return err
			}
			fi, err := os.Stat(snapPath)
			if err == nil {
				snapMB = float64(fi.Size()) / (1 << 20)
			}
			return err
		})
		b.ReportMetric(took.Seconds(), "snapshot-s")
		b.ReportMetric(peak, "snapshot-peak-anon-MB")
		b.ReportMetric(snapMB, "snapshot-MB")

		joinDir := filepath.Join(dir, fmt.Sprintf("joiner-%d", i))
		os.RemoveAll(joinDir) // left by an interrupted run
		st2, err := store.Open(store.Options{Dir: joinDir, Logger: quietLogger()})
		if err != nil {
			b.Fatal(err)
		}
		f2, err := newFSM(st2, dir, quietLogger())
		if err != nil {
			b.Fatal(err)
		}
		took, peak = phase(b, func() error {
			in, err := os.Open(snapPath)
			if err != nil {
				return err
			}
			return f2.Restore(in)
		})
		b.ReportMetric(took.Seconds(), "restore-s")
		b.ReportMetric(peak, "restore-peak-anon-MB")
		var h1, h2 []byte
		_ = st.View(func(r *store.Reader) error { _, h1, err = store.AuditHead(r); return err })
		_ = st2.View(func(r *store.Reader) error { _, h2, err = store.AuditHead(r); return err })
		if string(h1) != string(h2) {
			b.Fatal("the restored node's audit head differs from the leader's")
		}
		st2.Close()
		os.RemoveAll(joinDir)
	}
	b.ReportMetric(storeMB, "store-MB")
}

// phase runs fn and returns how long it took and the process's peak
// anonymous resident memory (MB) while it ran, sampled every 50 ms:
// RssAnon, the heap and buffers. File pages of Badger's memory-mapped
// tables are left out — the page cache holds them and the kernel drops
// them under pressure — and logged apart with the peak of all resident
// memory (VmHWM).
var phaseNo atomic.Int32

func phase(b *testing.B, fn func() error) (time.Duration, float64) {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS (%v)", err)
	}
	say(b, "resident before the phase: %d MB anonymous, %d MB file pages", procStatusKB("RssAnon")/1024, procStatusKB("RssFile")/1024)
	done := make(chan struct{})
	var peakAnon, peakFile atomic.Int64
	// GATEHOUSE_BENCH_HEAPPROF=DIR keeps the heap profile of the phase's
	// anonymous peak (taken again each time the peak grows by 32 MB), to
	// see what holds the memory.
	profDir := os.Getenv("GATEHOUSE_BENCH_HEAPPROF")
	phaseNo.Add(1)
	profAt := int64(0)
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if a := int64(procStatusKB("RssAnon")); a > peakAnon.Load() {
				peakAnon.Store(a)
				if profDir != "" && a > profAt+32<<10 {
					profAt = a
					if f, err := os.Create(filepath.Join(profDir, fmt.Sprintf("phase%d-peak.pprof", phaseNo.Load()))); err == nil {
						pprof.WriteHeapProfile(f)
						f.Close()
					}
				}
			}
			if f := int64(procStatusKB("RssFile")); f > peakFile.Load() {
				peakFile.Store(f)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	err := fn()
	took := time.Since(start)
	close(done)
	if err != nil {
		b.Fatal(err)
	}
	say(b, "phase: %v, peak anonymous %d MB, peak file pages %d MB, peak resident (VmHWM) %d MB", took.Round(time.Millisecond),
		peakAnon.Load()/1024, peakFile.Load()/1024, procStatusKB("VmHWM")/1024)
	return took, float64(peakAnon.Load()) / 1024
}

func procStatusKB(field string) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

func dirMB(dir string) float64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return float64(n) / (1 << 20)
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// fileSink is a raft.SnapshotSink onto a file.
type fileSink struct{ *os.File }

func (s *fileSink) ID() string { return "bench" }
func (s *fileSink) Cancel() error {
	s.File.Close()
	return os.Remove(s.File.Name())
}
func (s *fileSink) Close() error {
	if err := s.File.Sync(); err != nil {
		return err
	}
	return s.File.Close()
}

var _ raft.SnapshotSink = (*fileSink)(nil)

// benchIDs spells IDs as store.NewID does (a millisecond and a 32-bit
// draw, Crockford base32), but from a number, so a seeded site is the same
// every time.
var benchIDs = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

func benchID(at time.Time, n uint32) string {
	var b [10]byte
	be.BigEndian.PutUint64(b[:8], uint64(at.UnixMilli())<<16)
	be.BigEndian.PutUint32(b[6:], n)
	return benchIDs.EncodeToString(b[:])
}

type seedEvents struct{ From, N, Total int }
type seedVisits struct{ From, N, Total int }

// sealedBench is a sealed field's shape ("s1:" and base64 of nonce,
// ciphertext and tag) filled with noise, so it compresses like the real one.
func sealedBench(r *rand.Rand, plain int) string {
	b := make([]byte, 12+plain+16)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return "s1:" + base64.RawStdEncoding.EncodeToString(b)
}

func blindBench(n int) string {
	h := sha256.Sum256([]byte(strconv.Itoa(n)))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// registerSeed installs the two seeding commands. bench.events writes
// events as the gates' batches do (access.PutEvent: the 52-byte record,
// its lane and holder index keys and the hourly counter), 2,000 to a
// command; 16 lanes, 20,000 holders, one passage in 50 refused (no
// holder). bench.visits writes closed invited visits as visit.create and
// the gate's passages leave them — the record with its history and the
// time, host, visitor (blind mobile), status-link and pass index keys; its
// sealed fields are noise of the real length — 250 to a command. No
// photos (an invited visit has none). Each command is one transaction with
// its one audit entry, so the audit chain has an entry per chunk, not per
// record.
func registerSeed(st *store.Store) {
	site := time.Date(2022, 12, 1, 0, 0, 0, 0, time.UTC)
	span := 4 * 365 * 24 * time.Hour
	lanes := make([]string, 16)
	for i := range lanes {
		lanes[i] = benchID(site, uint32(i))
	}
	holders := make([]string, 20_000)
	for i := range holders {
		holders[i] = benchID(site.Add(-time.Hour), uint32(i))
	}
	st.Register("bench.events", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var p seedEvents
		if err := cmd.Decode(&p); err != nil {
			return store.Effect{}, err
		}
		r := rand.New(rand.NewPCG(uint64(p.From), 11))
		for n := p.From; n < p.From+p.N; n++ {
			at := site.Add(time.Duration(int64(span)/int64(p.Total)*int64(n)) + time.Duration(r.Int64N(int64(time.Minute))))
			e := access.Event{Time: at, Lane: lanes[n%len(lanes)], Entry: n%2 == 0, Grant: r.IntN(50) != 0, Kind: 'c',
				Reason: access.Granted, Holder: holders[r.IntN(len(holders))], Rand: r.Uint32()}
			e.CredID = e.Holder
			if !e.Grant {
				e.Reason, e.Holder, e.CredID = access.Unknown, "", ""
			}
			if err := access.PutEvent(tx, e); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{Note: strconv.Itoa(p.N) + " events"}, nil
	})
	st.Register("bench.visits", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var p seedVisits
		if err := cmd.Decode(&p); err != nil {
			return store.Effect{}, err
		}
		r := rand.New(rand.NewPCG(uint64(p.From), 12))
		for n := p.From; n < p.From+p.N; n++ {
			from := site.Add(time.Duration(int64(span) / int64(p.Total) * int64(n))).Truncate(15 * time.Minute).Add(9 * time.Hour)
			created := from.Add(-26 * time.Hour)
			host := holders[n%3000]
			link := sha256.Sum256(be.BigEndian.AppendUint64(nil, uint64(n)))
			v := visit.Visit{ID: benchID(created, uint32(n)), Mode: visit.Invited, State: visit.Closed,
				HostID: host, CompanyID: benchID(site.Add(-2*time.Hour), uint32(n%200)), FloorID: benchID(site.Add(-3*time.Hour), uint32(n%30)),
				Reason: "Meeting", PartySize: 1, From: from.UnixNano(), Until: from.Add(2 * time.Hour).UnixNano(),
				Created: created.UnixNano(), FirstIn: from.Add(5 * time.Minute).UnixNano(), LastOut: from.Add(70 * time.Minute).UnixNano(),
				Visitor: visit.Visitor{Name: fmt.Sprintf("Visitor %d", n), MobileSealed: sealedBench(r, 11),
					MobileBlind: blindBench(n % 400_000), MobileMasked: "138****1234", IDSealed: sealedBench(r, 6),
					IDBlind: blindBench(-n), Company: "Visiting Co. Ltd"},
				LinkHash: hex.EncodeToString(link[:]), LinkSealed: sealedBench(r, 32), Lang: "zh"}
			v.PassID = benchID(created, uint32(n)^0x8000_0000)
			v.History = []visit.Transition{{State: visit.Approved, At: v.Created, By: host},
				{State: visit.In, At: v.FirstIn, By: lanes[n%len(lanes)]}, {State: visit.Out, At: v.LastOut, By: lanes[(n+1)%len(lanes)]},
				{State: visit.Closed, At: v.LastOut, By: "system"}}
			u64 := func(t int64) string { return string(store.U64(uint64(t))) }
			for _, kv := range [][2][]byte{
				{store.Key(store.KindVisitByTime, u64(v.From), v.ID), []byte(v.State)},
				{store.Key(store.KindPass, v.PassID), []byte(v.ID)},
				{store.Key(store.KindVisitByLink, v.LinkHash), []byte(v.ID)},
				{store.Key(store.KindVisitByVisitor, v.Visitor.MobileBlind, u64(v.From), v.ID), nil},
				{store.Key(store.KindVisitByHost, v.HostID, u64(v.From), v.ID), nil},
			} {
				if err := tx.Set(kv[0], kv[1]); err != nil {
					return store.Effect{}, err
				}
			}
			if err := tx.SetJSON(store.Key(store.KindVisit, v.ID), v); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{Note: strconv.Itoa(p.N) + " visits"}, nil
	})
}

// seedSite writes the site's visits and events spread over four years in
// bulk commands (registerSeed), from the v0th visit and the e0th event on.
// The process's memory limit is lifted meanwhile — seeding is not what is
// measured, and Badger's write path under a 400 MiB limit spends its time
// collecting — and put back after.
func seedSite(b *testing.B, st *store.Store, visits, events, v0, e0 int) {
	b.Helper()
	registerSeed(st)
	limit := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(limit)
	ctx := context.Background()
	start := time.Now()
	commands := 0
	issue := func(typ string, p any) {
		if _, err := store.Issue(ctx, st, typ, "bench", time.Now(), p); err != nil {
			b.Fatal(err)
		}
		commands++
	}
	if v0 > 0 || e0 > 0 {
		say(b, "seeding taken up at visit %d, event %d", v0, e0)
	}
	for i := v0; i < visits; i += 250 {
		issue("bench.visits", seedVisits{From: i, N: min(250, visits-i), Total: visits})
		if i%100_000 == 0 {
			say(b, "seeding: %d visits in %v", i, time.Since(start).Round(time.Second))
		}
	}
	for i := e0; i < events; i += 2000 {
		issue("bench.events", seedEvents{From: i, N: min(2000, events-i), Total: events})
		if i%500_000 == 0 {
			say(b, "seeding: %d events in %v", i, time.Since(start).Round(time.Second))
		}
	}
	say(b, "seeded %d visits and %d events (from visit %d, event %d) in %d commands in %v", visits, events, v0, e0, commands,
		time.Since(start).Round(time.Second))
}

// seededSoFar reads how far an earlier, interrupted seeding got: each
// chunk is one command, applied whole or not at all, and every chunk but
// the last is full, so the seed commands in the audit trail count what is
// there.
func seededSoFar(st *store.Store, visits, events int) (v, e int, err error) {
	err = st.View(func(r *store.Reader) error {
		return r.Scan([]byte{byte(store.KindAudit)}, store.ScanOptions{}, func(_, val []byte) (bool, error) {
			var a store.AuditEntry
			if err := json.Unmarshal(val, &a); err != nil {
				return false, err
			}
			switch a.Type {
			case "bench.visits":
				v += 250
			case "bench.events":
				e += 2000
			}
			return true, nil
		})
	})
	return min(v, visits), min(e, events), err
}

// say logs to the benchmark and at once to stderr: a benchmark's log is
// printed only when it ends, and a long run is watched while it goes.
func say(b *testing.B, format string, args ...any) {
	b.Helper()
	b.Logf(format, args...)
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
}
