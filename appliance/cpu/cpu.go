// Package cpu keeps the appliance's heavy work — report and pass-sheet
// PDFs, exports, imports, conference registrations, backups — from taking
// the processors the gates need.
//
// Go has no goroutine priorities. On a two-core appliance, two heavy jobs
// at once hold both of the runtime's processors: a serial read that
// returns from its system call, or the relay's write, then waits in the
// run queue for a time slice (up to 10 ms each, measured as a 12.6 ms
// median lag of the read under load, BENCHMARKS.md). So heavy work runs in
// at most GOMAXPROCS−1 slots (one on a Raspberry Pi 3's four cores leaves
// three; on two cores, one), and the other processor stays free for the
// gates, the simulator and the pages. Heavy work waits its turn instead;
// long loops call Yield so that goroutines queued behind them run between
// rows.
//
// The leaves that take a slot are listed in docs/decisions.md ("Heavy work
// leaves a processor to the gates"). A slot is never taken twice on one
// path (a leaf never calls another leaf): with one slot that would wait
// for itself. As a guard, a wait gives up after MaxWait and the work runs
// beside the others, counted in Overruns.
package cpu

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// MaxWait is how long heavy work waits for a slot before it runs anyway.
const MaxWait = 2 * time.Minute

var (
	slots    = make(chan struct{}, Slots())
	waiting  atomic.Int64
	overruns atomic.Int64
	yields   atomic.Uint32
)

// Slots is how many heavy jobs run at once: one core fewer than the
// machine has (or than Go schedules on, if fewer), and at least one.
func Slots() int { return max(1, min(runtime.NumCPU(), runtime.GOMAXPROCS(0))-1) }

// Heavy waits for a slot of heavy work (or ctx's end) and returns its
// release, which must be called once the work is done.
func Heavy(ctx context.Context) (release func(), err error) {
	select {
	case slots <- struct{}{}:
		return release1, nil
	default:
	}
	waiting.Add(1)
	defer waiting.Add(-1)
	t := time.NewTimer(MaxWait)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return release1, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		overruns.Add(1)
		return func() {}, nil
	}
}

func release1() { <-slots }

// Do runs fn in a slot of heavy work.
func Do(ctx context.Context, fn func() error) error {
	release, err := Heavy(ctx)
	if err != nil {
		return err
	}
	defer release()
	return fn()
}

// Yield lets the goroutines queued behind heavy work run: call it in a
// heavy loop, once a row. Every 64th call yields the processor (a yield
// costs a few hundred nanoseconds; a row of a report, a few microseconds).
func Yield() {
	if yields.Add(1)%64 == 0 {
		runtime.Gosched()
	}
}

// Stats is what the metrics report.
type Stats struct {
	Busy     int   // slots taken now
	Waiting  int64 // heavy jobs waiting for a slot
	Overruns int64 // jobs that ran beside the others after MaxWait
}

// Now reports the slots' use.
func Now() Stats {
	return Stats{Busy: len(slots), Waiting: waiting.Load(), Overruns: overruns.Load()}
}
