package runner

import (
	"slices"
	"testing"
)

func TestSlotChanges(t *testing.T) {
	for _, c := range []struct {
		name      string
		prev, now []bool
		want      []int
	}{
		{"first read reports nothing", nil, []bool{true, false}, nil},
		{"nothing changed", []bool{true, false}, []bool{true, false}, nil},
		{"one taken", []bool{true, true, true}, []bool{true, false, true}, []int{1}},
		{"one back, one taken", []bool{false, true}, []bool{true, false}, []int{0, 1}},
		{"all emptied", []bool{true, true}, []bool{false, false}, []int{0, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := slotChanges(c.prev, c.now); !slices.Equal(got, c.want) {
				t.Errorf("slotChanges = %v, want %v", got, c.want)
			}
		})
	}
}
