package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"gatehouse/appliance/store/storetest"
)

// fill writes n notes of size random hex characters each: random, so
// that compression cannot shrink them below the value threshold or into
// one table block.
func fill(t *testing.T, s *Store, n, size int) {
	t.Helper()
	for i := 0; i < n; i++ {
		b := make([]byte, size/2)
		rand.Read(b)
		if _, err := put(t, s, fmt.Sprintf("n%04d", i), hex.EncodeToString(b)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFlippedByteInTheNewestValueLogIsFoundAtOpen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	fill(t, s, 4, 4<<10) // over the 1 KB value threshold: in the value log
	s.Close()
	file := storetest.Flip(t, dir, "*.vlog", 20+(2<<10)) // inside the first value

	if bad := CheckDir(dir); len(bad) != 1 || bad[0].File != file {
		t.Fatalf("CheckDir = %v, want %s", bad, file)
	}
	// Badger would cut the file at the bad entry and lose the three
	// values after it without a word: Open says so, and keeps a copy.
	s = openTest(t, dir)
	defer s.Close()
	var ce *CorruptError
	if err := s.Corrupt(); !errors.As(err, &ce) || ce.File != file || !strings.Contains(err.Error(), "gatehouse restore") {
		t.Fatalf("Corrupt() = %v, want %s and the cure", err, file)
	}
	if _, err := os.Stat(filepath.Join(dir, file+".damaged")); err != nil {
		t.Fatalf("no copy of the damaged file: %v", err)
	}
	// A read of a lost value says so, rather than handing back nothing.
	err := s.View(func(r *Reader) error { _, err := r.Get(Key(KindFloor, "n0002")); return err })
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read of a lost value = %v", err)
	}
}

func TestFlippedByteInAnOlderValueLogIsFoundByTheScrub(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	fill(t, s, 4, 4<<10)
	s.Close()
	s = openTest(t, dir) // a new value-log file from here
	if _, err := put(t, s, "later", strings.Repeat("x", 3000)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	file := storetest.Flip(t, dir, "000001.vlog", 20+(2<<10))

	s = openTest(t, dir)
	defer s.Close()
	if err := s.Corrupt(); err != nil {
		t.Fatalf("corrupt before any read: %v", err)
	}
	// The value reads as lost: a corruption, not an empty record.
	err := s.View(func(r *Reader) error { _, err := r.Get(Key(KindFloor, "n0000")); return err })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "floor n0000") {
		t.Fatalf("read of the bad value = %v", err)
	}
	err = s.View(func(r *Reader) error {
		return r.Scan([]byte{byte(KindFloor)}, ScanOptions{}, func([]byte, []byte) (bool, error) { return true, nil })
	})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a listing over the bad value = %v, want it to fail rather than come back short", err)
	}
	// The other values still read.
	if err := s.View(func(r *Reader) error { _, err := r.Get(Key(KindFloor, "later")); return err }); err != nil {
		t.Fatalf("read of a good value = %v", err)
	}
	rep, err := s.Scrub(context.Background(), ScrubOptions{})
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != file {
		t.Fatalf("scrub = %+v, %v; want %s named", rep, err, file)
	}
	if err := s.Corrupt(); !errors.As(err, &ce) || ce.File != file {
		t.Fatalf("Corrupt() after the scrub = %v, want %s named", err, file)
	}
}

func TestFlippedTableByteIsFoundAndNamed(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	fill(t, s, 300, 600) // under the threshold: in the table, over many blocks
	s.Close()
	file := storetest.Flip(t, dir, "*.sst", 100) // the first block

	if bad := CheckDir(dir); len(bad) != 1 || bad[0].File != file {
		t.Fatalf("CheckDir = %v, want %s", bad, file)
	}
	s = openTest(t, dir)
	defer s.Close()
	var ce *CorruptError
	if err := s.VerifyTables(context.Background()); !errors.As(err, &ce) || ce.File != file {
		t.Fatalf("VerifyTables = %v, want %s", err, file)
	}
	if err := s.Corrupt(); !errors.As(err, &ce) || ce.File != file {
		t.Fatalf("Corrupt() = %v, want %s", err, file)
	}
	_, err := s.Scrub(context.Background(), ScrubOptions{})
	if !errors.As(err, &ce) || ce.File != file {
		t.Fatalf("scrub = %v, want %s", err, file)
	}
}

func TestScrubOfGoodDataIsClean(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	fill(t, s, 50, 3000)
	fill(t, s, 50, 300) // same keys again: older versions are read too
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	var slept int
	rep, err := s.Scrub(context.Background(), ScrubOptions{BytesPerSecond: 1 << 20, Sleep: func(context.Context, time.Duration) { slept++ }})
	if err != nil || s.Corrupt() != nil {
		t.Fatalf("scrub = %+v, %v", rep, err)
	}
	if rep.Tables == 0 || rep.Versions < 200 || rep.Bytes < 150_000 || slept == 0 {
		t.Fatalf("scrub read %+v and paced %d times", rep, slept)
	}
}

// rawUpdate edits the data directory with Badger directly, as someone
// with the files would: outside Apply, with no audit entry.
func rawUpdate(t *testing.T, dir string, fn func(txn *badger.Txn) error) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithCompression(options.ZSTD).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func deep(t *testing.T, s *Store) (DeepReport, error) {
	t.Helper()
	var rep DeepReport
	err := s.View(func(r *Reader) (err error) { rep, err = VerifyDeep(r); return err })
	return rep, err
}

func TestVerifyDeepNamesRecordsChangedOutsideApply(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(txn *badger.Txn) error
		record string // in the finding
		reason string
	}{
		{"changed", func(txn *badger.Txn) error { return txn.Set(Key(KindFloor, "b"), []byte(`{"id":"b","text":"forged"}`)) },
			"floor b", "changed outside the command path"},
		{"added", func(txn *badger.Txn) error { return txn.Set(Key(KindFloor, "z"), []byte(`{"id":"z"}`)) },
			"floor z", "no command wrote it"},
		{"deleted", func(txn *badger.Txn) error { return txn.Delete(Key(KindFloor, "a")) },
			"", "deleted outside the command path"},
		{"rolled back", func(txn *badger.Txn) error {
			// b's first value, with its mark put back to the entry that wrote it.
			if err := txn.Set(Key(KindFloor, "b"), []byte(`{"id":"b","text":"first"}`)); err != nil {
				return err
			}
			var m [24]byte
			copy(m[:8], U64(2))
			v := hashValue([]byte(`{"id":"b","text":"first"}`))
			copy(m[8:], v[:])
			return txn.Set(markKey(hashKey(Key(KindFloor, "b"))), m[:])
		}, "", "rolled back"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir)
			for _, n := range []note{{"a", "one"}, {"b", "first"}, {"b", "second"}} {
				if _, err := put(t, s, n.ID, n.Text); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := deep(t, s)
			if err != nil || rep.Entries != 3 || rep.Records != 5 {
				t.Fatalf("deep audit of untouched data = %+v, %v", rep, err)
			}
			s.Close()
			rawUpdate(t, dir, tc.edit)
			s = openTest(t, dir)
			defer s.Close()
			if _, err := chainOnly(s); err != nil {
				t.Fatalf("the chain alone should still verify: %v", err)
			}
			_, err = deep(t, s)
			var te *TamperedError
			if !errors.As(err, &te) || !errors.Is(err, ErrTampered) {
				t.Fatalf("deep audit = %v, want tampering found", err)
			}
			if !strings.Contains(err.Error(), tc.reason) || tc.record != "" && te.Findings[0].Record != tc.record {
				t.Fatalf("deep audit = %v, want %q about %q", err, tc.reason, tc.record)
			}
		})
	}
}

func chainOnly(s *Store) (n uint64, err error) {
	err = s.View(func(r *Reader) error { n, err = VerifyAudit(r); return err })
	return n, err
}

// An upgrade from a release without write sets marks every record as it
// stands (a baseline on the audit trail); from then on the deep audit
// accounts for every record, and names one edited afterwards.
func TestUpgradeBaselinesWriteMarks(t *testing.T) {
	dir := t.TempDir()
	old := map[string]string{
		string(Key(KindPerson, "p1")):   `{"id":"p1","name":"Wang","mobile":"13800138000"}`,
		string(Key(KindAccount, "a1")):  `{"id":"a1","username":"li","role":"reception"}`,
		string(Key(KindFloor, "f1")):    `{"id":"f1","name":"5F"}`,
		string(Key(KindCompany, "c1")):  `{"id":"c1","name":"Acme"}`,
		string(Key(KindKeyEvent, "k1")): `{"what":"checkout"}`,
	}
	schema1(t, dir, old)
	s, err := Open(Options{Dir: dir, Keys: testKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := deep(t, s)
	if err != nil || rep.Records != len(old) {
		t.Fatalf("deep audit after the upgrade = %+v, %v", rep, err)
	}
	var types []string
	s.View(func(r *Reader) error {
		es, _ := AuditPage(r, 0, 10)
		for _, e := range es {
			types = append(types, e.Type+" "+e.Note)
		}
		return nil
	})
	if len(types) != 2 || !strings.Contains(types[0], "baseline of 5 records") || !strings.Contains(types[1], "1 records rewritten") {
		t.Fatalf("migration entries = %q", types)
	}
	s.Close()
	rawUpdate(t, dir, func(txn *badger.Txn) error {
		return txn.Set(Key(KindAccount, "a1"), []byte(`{"id":"a1","username":"li","role":"admin"}`))
	})
	s, err = Open(Options{Dir: dir, Keys: testKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = deep(t, s)
	var te *TamperedError
	if !errors.As(err, &te) || te.Findings[0].Record != "account a1" || te.Findings[0].Type != MigrateType {
		t.Fatalf("deep audit = %v, want account a1 named", err)
	}
}

// The newest value-log file may end in a write in flight (or one a power
// cut tore): a bad last entry there is not corruption. Anywhere else it is.
func TestValueLogWalkToleratesABadLastEntryOnlyInTheNewestFile(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	fill(t, s, 3, 4<<10)
	s.Close()
	file := storetest.Flip(t, dir, "*.vlog", -2) // inside the last entry's checksum
	path := filepath.Join(dir, file)
	if _, err := verifyVlog(path, true, nil); err != nil {
		t.Fatalf("newest file with a torn last entry = %v, want it taken as the end", err)
	}
	var ce *CorruptError
	if _, err := verifyVlog(path, false, nil); !errors.As(err, &ce) || ce.File != file || !strings.Contains(ce.Detail, "fails its checksum") {
		t.Fatalf("older file with a bad last entry = %v, want it named", err)
	}
}
