package cluster

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/directory"
)

// BenchmarkReplicatedApply measures commands committed on a quorum of a
// three-node site in one process (loopback TLS, each node its own Badger
// and Raft log on the same disk), with 1, 8 and 64 concurrent writers on
// the leader and on a follower (forwarded).
//
//	go test -run '^$' -bench ReplicatedApply -benchtime 2000x ./cluster/
func BenchmarkReplicatedApply(b *testing.B) {
	for _, on := range []string{"leader", "follower"} {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", on, writers), func(b *testing.B) {
				s := newBenchSite(b)
				tn := s.leader(10 * time.Second)
				if on == "follower" {
					tn = s.follower()
				}
				svc := directory.New(tn.st, clock.System{}, nil)
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for w := 0; w < writers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							if _, err := svc.SaveFloor(context.Background(), "bench", directory.Floor{Name: fmt.Sprintf("F%d", i), Level: int(i % 100)}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commands/s")
			})
		}
	}
}

// newBenchSite is newTestSite for a benchmark.
func newBenchSite(b *testing.B) *testSite {
	s := &testSite{t: b}
	ca, err := NewCA("bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	s.ca = ca
	var servers []Server
	for i := 0; i < 3; i++ {
		tn := &testNode{id: fmt.Sprintf("lobby-%d", i+1), dir: b.TempDir()}
		s.nodes = append(s.nodes, tn)
		s.start(tn, "127.0.0.1:0")
		servers = append(servers, Server{ID: tn.id, Address: tn.addr, Voter: true})
	}
	if err := s.nodes[0].n.Bootstrap(servers...); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, tn := range s.nodes {
			s.stop(tn)
		}
	})
	return s
}

// TestFailoverTimes measures, over 20 runs, the time from a leader's stop
// to the first write the site accepts again (a write waiting on a
// follower the whole time). Set GATEHOUSE_BENCH_FAILOVER=1; the figures go
// to BENCHMARKS.md.
func TestFailoverTimes(t *testing.T) {
	if os.Getenv("GATEHOUSE_BENCH_FAILOVER") == "" {
		t.Skip("a measurement: GATEHOUSE_BENCH_FAILOVER=1")
	}
	var took []time.Duration
	for run := 0; run < 20; run++ {
		s := newTestSite(t, 3, nil)
		old := s.leader(10 * time.Second)
		var survivor *testNode
		for _, tn := range s.nodes {
			if tn != old {
				survivor = tn
				break
			}
		}
		svc := directory.New(survivor.st, clock.System{}, nil)
		if _, err := svc.SaveFloor(context.Background(), "bench", directory.Floor{Name: "before", Level: 1}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		s.stop(old)
		if _, err := svc.SaveFloor(context.Background(), "bench", directory.Floor{Name: "after", Level: 2}); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
		for _, tn := range s.nodes {
			s.stop(tn)
		}
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("failover (leader stopped -> first accepted write), 20 runs: p50 %s, p99 %s, max %s",
		took[len(took)/2].Round(time.Millisecond), took[len(took)*99/100].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
}
