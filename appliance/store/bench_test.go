package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchPerson is about the size of a directory person record.
type benchPerson struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Mobile     string `json:"mobile"`
	CompanyID  string `json:"company_id"`
	FloorID    string `json:"floor_id"`
	EmployeeNo string `json:"employee_no"`
	CanHost    bool   `json:"can_host"`
	Active     bool   `json:"active"`
}

// openBench opens a durable store (production options) on a
// real directory, with a handler shaped like the directory's person save:
// one read, one JSON record and three index keys.
func openBench(b *testing.B) *Store { return openBenchOpts(b, Options{Dir: b.TempDir()}) }

func openBenchOpts(b *testing.B, o Options) *Store {
	b.Helper()
	s, err := Open(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	s.Register("bench.person", func(tx *Tx, cmd Command) (Effect, error) {
		var p benchPerson
		if err := json.Unmarshal(cmd.Payload, &p); err != nil {
			return Effect{}, err
		}
		if _, err := tx.Has(Key(KindPerson, p.ID)); err != nil {
			return Effect{}, err
		}
		for _, k := range [][]byte{
			Key(KindPersonByName, p.Name, p.ID),
			Key(KindPersonByComp, p.CompanyID, p.Name, p.ID),
			Key(KindPersonByFloor, p.FloorID, p.Name, p.ID),
		} {
			if err := tx.Set(k, []byte("e1|"+p.CompanyID+"|"+p.FloorID+"|"+p.EmployeeNo)); err != nil {
				return Effect{}, err
			}
		}
		return Effect{Subject: "person:" + p.ID}, tx.SetJSON(Key(KindPerson, p.ID), p)
	})
	return s
}

func benchCommand(b *testing.B, n int64) Command {
	now := time.Now()
	p := benchPerson{ID: NewID(now), Kind: "employee", Name: fmt.Sprintf("bench person %d", n), Mobile: "13800138000",
		CompanyID: "06h0g90cvb289ypp", FloorID: "06h0g90cvb289ypq", EmployeeNo: fmt.Sprintf("B-%d", n), CanHost: true, Active: true}
	cmd, err := NewCommand("bench.person", "bench", now.UnixNano(), p)
	if err != nil {
		b.Fatal(err)
	}
	return cmd
}

// BenchmarkApply measures durable command throughput: every Apply returns
// once its command is on disk. writers-N issues commands from N goroutines,
// which share fsyncs (group commit); writers-1 is one caller, one fsync per
// command. memory is the same command on an in-memory store: what Apply
// itself costs in CPU (encoding, hashing, the write set and its marks, the
// audit entry), the ceiling of group commit.
func BenchmarkApply(b *testing.B) {
	for _, w := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers-%d", w), func(b *testing.B) { benchWriters(b, openBench(b), w) })
	}
	b.Run("memory", func(b *testing.B) { benchWriters(b, openBenchOpts(b, Options{InMemory: true}), 1) })
	b.Run("replicated", func(b *testing.B) { benchReplicated(b, openBenchOpts(b, Options{InMemory: true})) })
}

// benchReplicated applies b.N commands as a node's state machine does
// (ApplyReplicated, one log index each, no wait for the disk), on an
// in-memory store: the CPU a site's command costs on every node, with the
// request ID a node stamps (request.go: looked up, recorded, pruned).
func benchReplicated(b *testing.B, s *Store) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		cmd := benchCommand(b, int64(i))
		cmd.Req = NewRequestID()
		raw, err := cmd.Encode()
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.ApplyReplicated(uint64(i), raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
}

// BenchmarkApplySlowDisk is BenchmarkApply on a disk whose every sync
// takes 2 ms more (an SD card's order of magnitude; added in the store's
// sync, the fsync itself is real): where the disk, not the CPU, bounds a
// lone writer, concurrent writers share each sync. DiskFsync gives the
// disk's own rate; a lone writer here is bounded by 1 / (2 ms + fsync).
//
// GATEHOUSE_BENCH_SLOW_MS sets the added time (default 2 ms); "raw" is
// DiskFsync on the same slowed disk, the rate the writers are compared to.
func BenchmarkApplySlowDisk(b *testing.B) {
	slow := 2 * time.Millisecond
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_SLOW_MS")); err == nil && v > 0 {
		slow = time.Duration(v) * time.Millisecond
	}
	b.Run("raw", func(b *testing.B) { diskFsync(b, slow) })
	for _, w := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers-%d", w), func(b *testing.B) {
			s := openBench(b)
			s.durable.slow = slow
			benchWriters(b, s, w)
		})
	}
}

// benchWriters applies b.N commands from w goroutines.
func benchWriters(b *testing.B, s *Store, w int) {
	ctx := context.Background()
	var n atomic.Int64
	var syncs syncCount
	s.obs = &syncs
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := n.Add(1); i <= int64(b.N); i = n.Add(1) {
				if _, err := s.Apply(ctx, benchCommand(b, i)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
	if c := syncs.syncs.Load(); c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "cmds/sync")
	}
}

// syncCount counts the shared syncs.
type syncCount struct{ syncs atomic.Int64 }

func (c *syncCount) Applied(string, time.Duration, time.Duration) {}
func (c *syncCount) Synced(int, time.Duration)                    { c.syncs.Add(1) }

// BenchmarkDiskFsync is the floor under BenchmarkApply: append 256 bytes to
// a file and fdatasync it, on the same file system as the benchmarks'
// temporary directories. If this is much faster than a real disk, the disk
// (or the hypervisor) is not honouring fsync and the Apply numbers flatter.
func BenchmarkDiskFsync(b *testing.B) { diskFsync(b, 0) }

// diskFsync is DiskFsync with slow added to every sync, as the store's
// slowed sync adds it.
func diskFsync(b *testing.B, slow time.Duration) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 256)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		if slow > 0 {
			time.Sleep(slow)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "syncs/s")
}

// BenchmarkVerify measures the audit checks over a trail of
// GATEHOUSE_BENCH_AUDIT commands (default 5,000) of the person-save shape
// (four keys each), on disk: the chain alone, and the deep check of every
// record against its last command.
func BenchmarkVerify(b *testing.B) {
	n := 5000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_AUDIT")); err == nil && v > 0 {
		n = v
	}
	s := openBench(b)
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if _, err := s.Apply(ctx, benchCommand(b, int64(i))); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("chain", func(b *testing.B) {
		for b.Loop() {
			if err := s.View(func(r *Reader) error { _, err := VerifyAudit(r); return err }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/entry")
	})
	b.Run("deep", func(b *testing.B) {
		for b.Loop() {
			if err := s.View(func(r *Reader) error { _, err := VerifyDeep(r); return err }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/entry")
	})
}
