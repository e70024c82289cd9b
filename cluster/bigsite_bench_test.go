package cluster

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
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
// site of 1,000,000 visits and 10,000,000 gate events (written as the
// gates and the desk write them: access.PutEvent with its indexes and
// hourly counters, visit records with their time index). Peak resident
// memory of the process is measured per phase (VmHWM after resetting it
// through /proc/self/clear_refs).
//
//	go test -run '^$' -bench SnapshotLargeSite -benchtime 1x -timeout 60m ./cluster/
//
// GATEHOUSE_SITE_VISITS and GATEHOUSE_SITE_EVENTS scale it down.
func BenchmarkSnapshotLargeSite(b *testing.B) {
	visits, events := envInt("GATEHOUSE_SITE_VISITS", 1_000_000), envInt("GATEHOUSE_SITE_EVENTS", 10_000_000)
	dir := b.TempDir()
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "leader"), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	seedSite(b, st, visits, events)
	storeMB := dirMB(filepath.Join(dir, "leader"))

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
func phase(b *testing.B, fn func() error) (time.Duration, float64) {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS (%v)", err)
	}
	b.Logf("resident before the phase: %d MB anonymous, %d MB file pages", procStatusKB("RssAnon")/1024, procStatusKB("RssFile")/1024)
	done := make(chan struct{})
	var peakAnon, peakFile atomic.Int64
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if a := int64(procStatusKB("RssAnon")); a > peakAnon.Load() {
				peakAnon.Store(a)
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
	b.Logf("phase: %v, peak anonymous %d MB, peak file pages %d MB, peak resident (VmHWM) %d MB", took.Round(time.Millisecond),
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

type seedChunk struct {
	Start, Visits, Events int
	Base                  int64 // Unix ns of the site's first day
}

// seedSite writes visits and events spread over four years, in commands
// of 1,000 events and 100 visits (each one transaction with its audit
// entry, as real commands).
func seedSite(b *testing.B, st *store.Store, visits, events int) {
	b.Helper()
	var seq atomic.Int64
	st.Register("bench.seed", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var p seedChunk
		if err := cmd.Decode(&p); err != nil {
			return store.Effect{}, err
		}
		r := rand.New(rand.NewPCG(uint64(p.Start), 11))
		span := int64(4 * 365 * 24 * time.Hour)
		for i := range p.Events {
			n := p.Start*10 + i
			t := time.Unix(0, p.Base+int64(n)*(span/int64(events))+r.Int64N(int64(time.Minute)))
			e := access.Event{Time: t, Lane: fmt.Sprintf("lane%02d", n%8), Entry: n%2 == 0, Grant: r.IntN(50) != 0, Kind: 'c',
				Reason: access.Granted, Holder: fmt.Sprintf("p%015d", n%5000), Rand: r.Uint32()}
			if err := access.PutEvent(tx, e); err != nil {
				return store.Effect{}, err
			}
		}
		for j := range p.Visits {
			n := p.Start + j
			from := time.Unix(0, p.Base+int64(n)*(span/int64(visits)))
			v := visit.Visit{ID: fmt.Sprintf("%010x%06d", from.UnixMilli(), n%1_000_000), Mode: visit.Invited, State: visit.Closed,
				HostID: fmt.Sprintf("host%06d", n%3000), CompanyID: fmt.Sprintf("co%04d", n%200), FloorID: fmt.Sprintf("fl%02d", n%30),
				Reason: "Meeting", PartySize: 1, From: from.UnixNano(), Until: from.Add(2 * time.Hour).UnixNano(),
				Created: from.Add(-time.Hour).UnixNano(), FirstIn: from.Add(5 * time.Minute).UnixNano(), LastOut: from.Add(time.Hour).UnixNano(),
				Visitor: visit.Visitor{Name: fmt.Sprintf("Visitor %d", n), MobileSealed: strings.Repeat("Q", 88),
					MobileBlind: fmt.Sprintf("%043d", n%400_000), MobileMasked: "138****1234", IDSealed: strings.Repeat("S", 64),
					IDBlind: strings.Repeat("i", 43), Company: "Visiting Co. Ltd"},
				LinkHash: fmt.Sprintf("%064d", n), LinkSealed: strings.Repeat("L", 100)}
			v.PassID = v.ID
			v.History = []visit.Transition{{State: visit.Approved, At: v.Created, By: "host"}, {State: visit.In, At: v.FirstIn, By: "gate"},
				{State: visit.Out, At: v.LastOut, By: "gate"}, {State: visit.Closed, At: v.LastOut, By: "gate"}}
			if err := tx.Set(store.Key(store.KindVisitByTime, string(store.U64(uint64(v.From))), v.ID), []byte(v.State)); err != nil {
				return store.Effect{}, err
			}
			if err := tx.Set(store.Key(store.KindVisitByHost, v.HostID, string(store.U64(uint64(v.From))), v.ID), nil); err != nil {
				return store.Effect{}, err
			}
			if err := tx.SetJSON(store.Key(store.KindVisit, v.ID), v); err != nil {
				return store.Effect{}, err
			}
		}
		seq.Add(1)
		return store.Effect{Note: "seed"}, nil
	})
	ctx := context.Background()
	base := time.Date(2022, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	start := time.Now()
	const perEvents, perVisits = 1_000, 100 // Start*10 numbers the events
	chunks := max((events+perEvents-1)/perEvents, (visits+perVisits-1)/perVisits)
	for c := 0; c < chunks; c++ {
		p := seedChunk{Start: c * perVisits, Base: base, Events: min(perEvents, max(0, events-c*perEvents)), Visits: min(perVisits, max(0, visits-c*perVisits))}
		if _, err := store.Issue(ctx, st, "bench.seed", "seed", time.Now(), p); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d visits and %d events in %d commands in %v", visits, events, seq.Load(), time.Since(start).Round(time.Second))
}
