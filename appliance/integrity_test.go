package appliance

import (
	"testing"
	"time"
)

func TestScrubDue(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	at := func(day, hour int) time.Time { return time.Date(2026, 12, day, hour, 30, 0, 0, loc) }
	for _, tc := range []struct {
		name      string
		now, last time.Time
		want      bool
	}{
		{"never scrubbed", at(7, 14), time.Time{}, true},
		{"a day after", at(8, 3), at(7, 3), false},
		{"a week after, at night", at(14, 3), at(7, 3), true},
		{"a week after, by day", at(14, 14), at(7, 3), false},
		{"a week less two hours, at night", at(14, 2), at(7, 4), true},
		{"six days, at night", at(13, 3), at(7, 3), false},
		{"eight days, by day", at(15, 14), at(7, 3), true},
	} {
		if got := scrubDue(tc.now, tc.last, loc); got != tc.want {
			t.Errorf("%s: scrubDue = %v, want %v", tc.name, got, tc.want)
		}
	}
}
