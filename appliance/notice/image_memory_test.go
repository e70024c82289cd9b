package notice

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPictureUploadsBoundMemory: pictures uploaded at once take at most
// MaxDecode (96 MB, under the 128 MB an appliance with 1 GB can give them)
// more memory together: a 35 KB PNG that claims 6000 × 6000 grey pixels,
// once and four at a time, and four at a time a PNG that takes nearly
// MaxDecode (an interlaced RGB picture of 8 Mpx: 74 MB counted). One such
// grey PNG took 250 MB and four took 1 GB: the scaler's working buffer
// went uncounted, and nothing stopped four decodes at once. Decoded one at
// a time but without a collection in between, four near the limit took
// 96 to 125 MB.
//
// The bound is on memory the Go runtime holds from the system (mapped and
// not released), sampled while the uploads run: it is what the process
// can have resident, unlike VmRSS it does not count the race detector's
// shadow memory, and it includes garbage the collector has not yet
// returned. The process's own peak (VmHWM) is logged beside it.
func TestPictureUploadsBoundMemory(t *testing.T) {
	const bound = MaxDecode
	if bound > 128<<20 {
		t.Fatalf("MaxDecode is %d MB, more than an appliance with 1 GB can give pictures", bound>>20)
	}
	f := newFixture(t)
	for _, pic := range []struct {
		name string
		raw  []byte
		at   []int // uploads at once
	}{
		{"6000x6000 grey", greyPNG(6000, 6000), []int{1, 4}},
		{"2800x2800 RGB interlaced", zeroPNG(pngSpec{w: 2800, h: 2800, colour: 2, depth: 8, interlace: true}), []int{4}},
	} {
		raw := pic.raw
		if _, err := png.DecodeConfig(bytes.NewReader(raw)); err != nil {
			t.Fatalf("generated PNG: %v", err)
		}
		for _, n := range pic.at {
			t.Run(fmt.Sprintf("%s, %d at once", pic.name, n), func(t *testing.T) {
				var stored, refused int
				var mu sync.Mutex
				held, hwm := memoryPeak(t, func() {
					var wg sync.WaitGroup
					for range n {
						wg.Go(func() {
							_, err := f.svc.AddImage(ctx, "m", raw)
							mu.Lock()
							defer mu.Unlock()
							switch {
							case err == nil:
								stored++
							case errors.Is(err, ErrImage):
								refused++
							default:
								t.Error(err)
							}
						})
					}
					wg.Wait()
				})
				t.Logf("%d KB PNG: %d stored, %d refused; Go runtime held +%d MB at most, process peak (VmHWM) +%s",
					len(raw)>>10, stored, refused, held>>20, hwm)
				if held > bound {
					t.Errorf("uploads took +%d MB, more than %d MB", held>>20, bound>>20)
				}
			})
		}
	}
}

// memoryPeak runs f and returns how far the memory the Go runtime holds
// from the system rose above where it stood before, sampled every 100 µs,
// and how far the process's resident peak (VmHWM) rose, as text.
func memoryPeak(t *testing.T, f func()) (uint64, string) {
	t.Helper()
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	held := func() uint64 {
		metrics.Read(samples)
		return samples[0].Value.Uint64() - samples[1].Value.Uint64()
	}
	runtime.GC()
	debug.FreeOSMemory() // what earlier tests left is given back, not reused unseen
	base := held()
	rss, rssErr := procStatus("VmRSS")
	if rssErr == nil {
		// Writing 5 resets VmHWM to the current VmRSS (Linux ≥ 4.0).
		rssErr = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	}
	stop, peak := make(chan struct{}), make(chan uint64)
	go func() {
		most := base
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				peak <- max(most, held())
				return
			case <-tick.C:
				most = max(most, held())
			}
		}
	}()
	f()
	close(stop)
	most := <-peak
	hwm := "unknown"
	if rssErr == nil {
		if v, err := procStatus("VmHWM"); err == nil {
			hwm = fmt.Sprintf("%d MB", (int64(v)-int64(rss))>>20)
		}
	}
	return most - base, hwm
}

// procStatus reads a line of /proc/self/status, in bytes.
func procStatus(name string) (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", name)
}
