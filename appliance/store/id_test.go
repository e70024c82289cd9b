package store

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// TestNewIDSameMillisecondSortsInDrawOrder: IDs drawn in one millisecond
// (a clock standing still) sort in the order they were drawn, even while
// IDs of other milliseconds are drawn in between.
func TestNewIDSameMillisecondSortsInDrawOrder(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	other := at.Add(-28 * 24 * time.Hour)
	var ids, others []string
	for i := range 10000 {
		ids = append(ids, NewID(at))
		if i%100 == 0 { // a second clock, and the machine's, in between
			others = append(others, NewID(other))
			NewID(time.Now())
		}
	}
	for _, got := range [][]string{ids, others} {
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("IDs of one millisecond are not strictly increasing in draw order: %v ...", got[:5])
		}
		for _, id := range got {
			if !ValidID(id) {
				t.Fatalf("ValidID(%q) = false", id)
			}
		}
	}
	if ids[0][:9] != NewID(at.Add(999 * time.Microsecond))[:9] || ids[0] > NewID(at.Add(time.Millisecond)) {
		t.Fatal("the time part is not the millisecond")
	}
}

// TestNewIDConcurrentDrawsAreDistinct: goroutines drawing in the same
// millisecond never get the same ID, and each sees its own in order.
func TestNewIDConcurrentDrawsAreDistinct(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 1e6, time.UTC)
	const workers, each = 8, 5000
	got := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				got[w] = append(got[w], NewID(at))
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ids := range got {
		if !slices.IsSorted(ids) {
			t.Fatal("one goroutine's IDs are out of order")
		}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("ID %s drawn twice", id)
			}
			seen[id] = true
		}
	}
}
