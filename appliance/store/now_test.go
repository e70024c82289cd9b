package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func noteNow(t testing.TB, s *Store, id string) (string, error) {
	var n note
	err := s.ViewNow(func(r *Reader) error { return r.GetJSON(Key(KindFloor, id), &n) })
	return n.Text, err
}

// TestViewNowSeesEveryAcknowledgedCommand: a gate's read, sharing the
// snapshot the applier refreshes, holds every command acknowledged before
// it — here with eight writers and readers racing (run with -race).
func TestViewNowSeesEveryAcknowledgedCommand(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	if _, err := noteNow(t, s, "none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before any command: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := range 40 {
				id := fmt.Sprintf("w%d-%d", w, i)
				if _, err := put(t, s, id, id); err != nil {
					errs <- err
					return
				}
				if got, err := noteNow(t, s, id); err != nil || got != id {
					errs <- fmt.Errorf("%s acknowledged, then read as %q, %v", id, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestViewNowAfterReplaceAndClose: a replaced state is what the next
// gate read sees, never the snapshot of the state before; a closed store
// says so.
func TestViewNowAfterReplaceAndClose(t *testing.T) {
	src := openTest(t, t.TempDir())
	defer src.Close()
	if _, _, err := src.ApplyReplicated(7, encodedNote(t, "new", "from the site")); err != nil {
		t.Fatal(err)
	}
	if got, err := noteNow(t, src, "new"); err != nil || got != "from the site" {
		t.Fatalf("a replicated command read as %q, %v", got, err)
	}
	var snap bytes.Buffer
	if _, err := src.WriteSnapshot(context.Background(), &snap); err != nil {
		t.Fatal(err)
	}
	dst := openTest(t, t.TempDir())
	if _, err := put(t, dst, "old", "before"); err != nil {
		t.Fatal(err)
	}
	if got, _ := noteNow(t, dst, "old"); got != "before" {
		t.Fatalf("old = %q", got)
	}
	if err := dst.ReplaceFrom(&snap); err != nil {
		t.Fatal(err)
	}
	if _, err := noteNow(t, dst, "old"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the replaced state is still read: %v", err)
	}
	if got, err := noteNow(t, dst, "new"); err != nil || got != "from the site" {
		t.Fatalf("the new state read as %q, %v", got, err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := noteNow(t, dst, "new"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// BenchmarkGateReadWhileCommitting times a gate's read (one record) while
// another writer commits 2 MB transactions back to back — outside the
// applier, as a large command's commit is — through View (a new Badger
// read transaction, which waits for the commit in flight) and through
// ViewNow:
//
//	go test -run '^$' -bench GateReadWhileCommitting -benchtime 2000x ./appliance/store/
func BenchmarkGateReadWhileCommitting(b *testing.B) {
	for _, c := range []struct {
		name string
		view func(s *Store, fn func(r *Reader) error) error
	}{
		{"View", func(s *Store, fn func(r *Reader) error) error { return s.View(fn) }},
		{"ViewNow", func(s *Store, fn func(r *Reader) error) error { return s.ViewNow(fn) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := Open(Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.Register("note.put", func(tx *Tx, cmd Command) (Effect, error) {
				var n note
				if err := cmd.Decode(&n); err != nil {
					return Effect{}, err
				}
				return Effect{Subject: n.ID}, tx.SetJSON(Key(KindFloor, n.ID), n)
			})
			cmd, _ := NewCommand("note.put", "bench", 1, note{ID: "card", Text: "holder"})
			if _, err := s.Apply(context.Background(), cmd); err != nil {
				b.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				val := bytes.Repeat([]byte{'x'}, 512)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					wb := s.db.NewWriteBatch()
					for j := range 4000 {
						wb.Set(Key(KindVisit, fmt.Sprintf("bulk-%d-%d", i, j)), val)
					}
					if err := wb.Flush(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				err := c.view(s, func(r *Reader) error {
					var n note
					return r.GetJSON(Key(KindFloor, "card"), &n)
				})
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				time.Sleep(200 * time.Microsecond)
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			slices.Sort(lat)
			q := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Microsecond)
			}
			b.ReportMetric(q(0.5), "p50-µs")
			b.ReportMetric(q(0.99), "p99-µs")
			b.ReportMetric(q(1)/1, "max-µs")
		})
	}
}
