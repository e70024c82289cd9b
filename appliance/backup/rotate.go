package backup

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Policy is how many backups the rotation keeps and how often a full one
// is taken.
type Policy struct {
	Daily     int `json:"daily"`      // the newest backup of each of the last N days
	Weekly    int `json:"weekly"`     // ... of each of the last N weeks
	Monthly   int `json:"monthly"`    // ... of each of the last N months
	FullEvery int `json:"full_every"` // days between full backups
}

// DefaultPolicy keeps 7 daily, 4 weekly and 12 monthly backups, with a
// full backup every week.
var DefaultPolicy = Policy{Daily: 7, Weekly: 4, Monthly: 12, FullEvery: 7}

// List returns the backups in dir, oldest first. Files that are not
// backups are left out; temporary files of an unfinished write too.
func List(dir string) ([]Info, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, targetError(err)
	}
	var out []Info
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasPrefix(n, "gatehouse-") || !strings.HasSuffix(n, suffix) {
			continue
		}
		in, err := Stat(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created < out[j].Created })
	return out, nil
}

// CleanTemp removes what an interrupted write left behind.
func CleanTemp(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// BaseFor picks the full backup the next increment goes on top of: the
// newest full one of this site key and schema, taken less than FullEvery
// days ago (site time). None means the next backup is a full one.
func BaseFor(files []Info, keyID string, schema uint32, now time.Time, p Policy) *Info {
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		if f.Kind != Full {
			continue
		}
		if f.Key.KeyID != keyID || f.Schema != schema || p.FullEvery <= 0 {
			return nil
		}
		if now.Sub(time.Unix(0, f.Created)) >= time.Duration(p.FullEvery)*24*time.Hour-time.Hour {
			return nil
		}
		return &files[i]
	}
	return nil
}

// Rotate returns the backups the policy no longer keeps. Every kept
// increment keeps its full backup, and the newest full backup is always
// kept.
func Rotate(files []Info, p Policy, loc *time.Location) []Info {
	byID := map[string]int{}
	for i, f := range files {
		byID[f.ID] = i
	}
	keep := map[int]bool{}
	bucket := func(n int, key func(time.Time) string) {
		seen := map[string]bool{}
		for i := len(files) - 1; i >= 0 && len(seen) < n; i-- {
			k := key(time.Unix(0, files[i].Created).In(loc))
			if !seen[k] {
				seen[k] = true
				keep[i] = true
			}
		}
	}
	bucket(p.Daily, func(t time.Time) string { return t.Format("2006-01-02") })
	bucket(p.Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprint(y, w) })
	bucket(p.Monthly, func(t time.Time) string { return t.Format("2006-01") })
	for i := len(files) - 1; i >= 0; i-- {
		if files[i].Kind == Full {
			keep[i] = true
			break
		}
	}
	for i := range files {
		if keep[i] && files[i].Kind == Incremental {
			if b, ok := byID[files[i].Base]; ok {
				keep[b] = true
			}
		}
	}
	var out []Info
	for i, f := range files {
		if !keep[i] {
			out = append(out, f)
		}
	}
	return out
}
