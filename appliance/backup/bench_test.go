package backup_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/access"
	"gatehouse/appliance/backup"
	"gatehouse/appliance/demo"
	"gatehouse/appliance/store"
)

// TestBackupScale measures a full backup, its restore, and an increment
// after a day of traffic, on a building with GATEHOUSE_BENCH_VISITS visits
// (default 1,000,000) and GATEHOUSE_BENCH_EVENTS gate events (10,000,000).
// It is a measurement, not a test: it runs only when asked.
//
//	GATEHOUSE_BENCH_BACKUP=1 GATEHOUSE_BENCH_DIR=/tmp/gh-backup go test -run BackupScale -v -timeout 90m ./appliance/backup/
//
// The data is seeded once into $GATEHOUSE_BENCH_DIR/src (reused when
// present). Events are written as the gate writes them (access.PutEvent:
// the 52-byte event and its lane and holder index keys), 4,000 per
// transaction. Visits are clones of one visit invited through the real
// service — its record and every index key — with a new ID, and its sealed
// fields (mobile, ID number, status link) replaced by random bytes of the
// same length, so they compress like real ciphertext; 250 per
// transaction.
func TestBackupScale(t *testing.T) {
	if os.Getenv("GATEHOUSE_BENCH_BACKUP") == "" {
		t.Skip("a measurement: set GATEHOUSE_BENCH_BACKUP=1")
	}
	nVisits, nEvents := envInt("GATEHOUSE_BENCH_VISITS", 1_000_000), envInt("GATEHOUSE_BENCH_EVENTS", 10_000_000)
	root := os.Getenv("GATEHOUSE_BENCH_DIR")
	if root == "" {
		root = t.TempDir()
	}
	src := filepath.Join(root, "src")
	os.MkdirAll(src, 0o700)
	ctx := context.Background()
	a := openApp(t, src)
	registerBenchSeed(a.Store)
	mark := filepath.Join(root, "seeded")
	if _, err := os.Stat(mark); err != nil {
		t0 := time.Now()
		seedBench(t, a, root, nVisits, nEvents)
		t.Logf("seeded %d visits and %d events in %v", nVisits, nEvents, time.Since(t0).Round(time.Second))
		os.WriteFile(mark, []byte(fmt.Sprintf("%d %d\n", nVisits, nEvents)), 0o600)
	} else {
		loadTemplate(t, root)
	}
	t.Logf("data directory: %s; %s", dirSize(src), peakRSS())

	target := filepath.Join(root, "target")
	os.RemoveAll(target)
	os.MkdirAll(target, 0o700)
	a.Backups.KDF = backup.DefaultKDF
	master := func() backup.WrappedKey {
		w, err := a.Backups.Wrap(passphrase)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}()
	t0 := time.Now()
	full, err := backup.Write(ctx, a.Store, target, backup.WriteOptions{Key: master, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("full backup: %v (stream %v, then read back and verified), %d records, %.1f MB stream -> %.1f MB file; %s",
		time.Since(t0).Round(100*time.Millisecond), (time.Duration(full.Millis) * time.Millisecond).Round(100*time.Millisecond),
		full.Keys, float64(full.Bytes)/1e6, float64(full.Size)/1e6, peakRSS())

	// A day of traffic: a year's events / 365 and 300 visits.
	t0 = time.Now()
	dayEvents := max(nEvents/365, 1)
	writeEvents(t, a, nEvents, dayEvents, nEvents)
	writeVisits(t, a, nVisits, 300)
	t.Logf("a day of traffic (%d events, 300 visits) written in %v", dayEvents, time.Since(t0).Round(100*time.Millisecond))
	t0 = time.Now()
	inc, err := backup.Write(ctx, a.Store, target, backup.WriteOptions{Base: &full, Key: master, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("increment after a day: %v, %d records, %.2f MB stream -> %.2f MB file",
		time.Since(t0).Round(100*time.Millisecond), inc.Keys, float64(inc.Bytes)/1e6, float64(inc.Size)/1e6)

	dst := filepath.Join(root, "restored")
	os.RemoveAll(dst)
	t0 = time.Now()
	if _, err := backup.Restore(ctx, []string{full.Path, inc.Path}, dst, passphrase, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("restore of full + increment (check both files, load, open, verify the audit chain): %v; restored directory %s",
		time.Since(t0).Round(100*time.Millisecond), dirSize(dst))
	os.RemoveAll(dst)
}

// peakRSS is the process's peak resident memory so far (VmHWM: with the
// data seeded by an earlier run, what opening the store and the backup
// took) and, now, how much of it is the heap (RssAnon) and how much
// Badger's memory-mapped tables and value log (RssFile, page cache the
// kernel can drop).
func peakRSS() string {
	b, _ := os.ReadFile("/proc/self/status")
	out := ""
	for _, l := range bytes.Split(b, []byte("\n")) {
		for _, f := range []string{"VmHWM", "RssAnon", "RssFile"} {
			if v, ok := bytes.CutPrefix(l, []byte(f+":")); ok {
				out += " " + f + " " + string(bytes.Join(bytes.Fields(v), []byte(" ")))
			}
		}
	}
	return "memory:" + out
}

func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
		return n
	}
	return def
}

func dirSize(dir string) string {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

type benchEvents struct {
	From, N, Total int
}

type benchVisits struct {
	From, N int
}

// visitTemplate is one real visit's keys and values.
var visitTemplate struct {
	ID   string
	Keys [][]byte
	Vals [][]byte
}

var sealedRE = regexp.MustCompile(`s1:[A-Za-z0-9+/]+`)

func registerBenchSeed(st *store.Store) {
	lanes := make([]string, 20)
	for i := range lanes {
		lanes[i] = store.NewID(time.Unix(int64(i), 0))
	}
	year := 365 * 24 * time.Hour
	end := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	st.Register("bench.events", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var p benchEvents
		if err := cmd.Decode(&p); err != nil {
			return store.Effect{}, err
		}
		for i := p.From; i < p.From+p.N; i++ {
			at := end.Add(-year + time.Duration(int64(year)/int64(p.Total)*int64(i)))
			var id [10]byte
			binary.BigEndian.PutUint64(id[:], uint64(i%100_000)+1)
			holder := store.NewID(time.Unix(int64(i%100_000), 0))
			e := access.Event{Time: at, Lane: lanes[i%len(lanes)], Entry: i%2 == 0, Kind: 'c', Grant: i%33 != 0,
				Reason: access.Granted, Holder: holder, CredID: holder, Rand: uint32(i)}
			if !e.Grant {
				e.Reason, e.Holder, e.CredID = access.Unknown, "", ""
			}
			if err := access.PutEvent(tx, e); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{Note: strconv.Itoa(p.N)}, nil
	})
	st.Register("bench.visits", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var p benchVisits
		if err := cmd.Decode(&p); err != nil {
			return store.Effect{}, err
		}
		for i := p.From; i < p.From+p.N; i++ {
			id := visitTemplate.ID[:6] + fmt.Sprintf("%010d", i)
			for k, key := range visitTemplate.Keys {
				nk := bytes.ReplaceAll(key, []byte(visitTemplate.ID), []byte(id))
				if bytes.Equal(nk, key) { // keyed by a hash: make it unique
					nk = bytes.Clone(key)
					binary.BigEndian.PutUint64(nk[len(nk)-8:], binary.BigEndian.Uint64(nk[len(nk)-8:])^uint64(i+1))
				}
				v := bytes.ReplaceAll(visitTemplate.Vals[k], []byte(visitTemplate.ID), []byte(id))
				v = sealedRE.ReplaceAllFunc(v, func(m []byte) []byte {
					r := make([]byte, base64.RawStdEncoding.DecodedLen(len(m)-3))
					rand.Read(r)
					return append([]byte("s1:"), base64.RawStdEncoding.EncodeToString(r)...)
				})
				if err := tx.Set(nk, v); err != nil {
					return store.Effect{}, err
				}
			}
		}
		return store.Effect{Note: strconv.Itoa(p.N)}, nil
	})
}

func seedBench(t *testing.T, a *appliance.App, root string, nVisits, nEvents int) {
	t.Helper()
	ctx := context.Background()
	if _, err := demo.Seed(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.VisitorPass(ctx, a, "bench"); err != nil {
		t.Fatal(err)
	}
	captureVisit(t, a.Store)
	b, _ := json.Marshal(visitTemplate)
	if err := os.WriteFile(filepath.Join(root, "visit-template.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	writeVisits(t, a, 0, nVisits)
	writeEvents(t, a, 0, nEvents, nEvents)
}

// captureVisit finds the one visit in the store and every key that
// belongs to it: keys holding its ID, and keys whose value is its ID.
func captureVisit(t *testing.T, st *store.Store) {
	t.Helper()
	err := st.View(func(r *store.Reader) error {
		return r.Scan([]byte{byte(store.KindVisit)}, store.ScanOptions{}, func(k, v []byte) (bool, error) {
			visitTemplate.ID = string(k[1:])
			return false, nil
		})
	})
	if err != nil || visitTemplate.ID == "" {
		t.Fatalf("no visit to copy: %v", err)
	}
	id := []byte(visitTemplate.ID)
	err = st.View(func(r *store.Reader) error {
		for kind := store.KindVisit; kind <= store.KindVisitPhoto; kind++ {
			err := r.Scan([]byte{byte(kind)}, store.ScanOptions{}, func(k, v []byte) (bool, error) {
				if bytes.Contains(k, id) || bytes.Contains(v, id) {
					visitTemplate.Keys = append(visitTemplate.Keys, bytes.Clone(k))
					visitTemplate.Vals = append(visitTemplate.Vals, bytes.Clone(v))
				}
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("visit template: %d keys, record %d bytes", len(visitTemplate.Keys), len(visitTemplate.Vals[0]))
}

func loadTemplate(t *testing.T, root string) {
	b, err := os.ReadFile(filepath.Join(root, "visit-template.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &visitTemplate); err != nil {
		t.Fatal(err)
	}
}

func writeVisits(t *testing.T, a *appliance.App, from, n int) {
	t.Helper()
	for i := from; i < from+n; i += 250 {
		if _, err := store.Issue(context.Background(), a.Store, "bench.visits", "bench", time.Now(), benchVisits{From: i, N: min(250, from+n-i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func writeEvents(t *testing.T, a *appliance.App, from, n, total int) {
	t.Helper()
	for i := from; i < from+n; i += 4000 {
		if _, err := store.Issue(context.Background(), a.Store, "bench.events", "bench", time.Now(), benchEvents{From: i, N: min(4000, from+n-i), Total: total}); err != nil {
			t.Fatal(err)
		}
	}
}
