package backup

import (
	"fmt"
	"testing"
	"time"
)

func TestRotateKeepsDailyWeeklyMonthlyAndTheirBases(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	start := time.Date(2026, 1, 1, 2, 30, 0, 0, loc)
	var files []Info
	base := ""
	for d := range 400 {
		at := start.AddDate(0, 0, d)
		in := Info{Header: Header{ID: fmt.Sprint("b", d), Created: at.UnixNano(), Kind: Full}}
		if d%7 != 0 {
			in.Kind, in.Base = Incremental, base
		} else {
			base = in.ID
		}
		files = append(files, in)
	}
	gone := Rotate(files, DefaultPolicy, loc)
	kept := map[string]bool{}
	for _, f := range files {
		kept[f.ID] = true
	}
	for _, f := range gone {
		delete(kept, f.ID)
	}
	for d := 393; d < 400; d++ { // the last 7 days
		if !kept[fmt.Sprint("b", d)] {
			t.Errorf("day %d not kept", d)
		}
	}
	for _, f := range files {
		if kept[f.ID] && f.Kind == Incremental && !kept[f.Base] {
			t.Errorf("%s kept without its full backup %s", f.ID, f.Base)
		}
	}
	// 7 daily + up to 4 weekly + up to 12 monthly, overlapping, plus bases.
	if n := len(kept); n < 20 || n > 40 {
		t.Errorf("kept %d backups", n)
	}
	if len(Rotate(files[:3], DefaultPolicy, loc)) != 0 {
		t.Error("a young set lost files")
	}
}

func TestBaseForStartsANewFullWeekly(t *testing.T) {
	now := time.Date(2026, 3, 10, 2, 30, 0, 0, time.UTC)
	full := Info{Header: Header{ID: "f", Kind: Full, Schema: 2, Created: now.AddDate(0, 0, -3).UnixNano(), Key: WrappedKey{KeyID: "k"}}}
	inc := Info{Header: Header{ID: "i", Kind: Incremental, Base: "f", Schema: 2, Created: now.AddDate(0, 0, -1).UnixNano(), Key: WrappedKey{KeyID: "k"}}}
	files := []Info{full, inc}
	if b := BaseFor(files, "k", 2, now, DefaultPolicy); b == nil || b.ID != "f" {
		t.Fatalf("base = %v", b)
	}
	if BaseFor(files, "k", 2, now.AddDate(0, 0, 4), DefaultPolicy) != nil {
		t.Error("a week-old full backup is still the base")
	}
	if BaseFor(files, "other", 2, now, DefaultPolicy) != nil || BaseFor(files, "k", 3, now, DefaultPolicy) != nil {
		t.Error("a full backup of another key or schema is the base")
	}
}
