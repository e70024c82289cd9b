package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"gatehouse/appliance/secret"
)

// schema1 writes raw key/value pairs into a new store and marks it as
// written by a release of schema 1, then closes it.
func schema1(t *testing.T, dir string, kvs map[string]string) {
	t.Helper()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		for k, v := range kvs {
			if err := txn.Set([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], 1)
		return txn.Set(schemaKey, b[:])
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func testKeys(t *testing.T) *secret.Keys {
	t.Helper()
	k, err := secret.FromMaster(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestMigrationSealsPeoplesMobiles writes people and a staged import as a
// schema-1 release did, with mobiles in clear, and checks that opening the
// store with the site keys leaves no mobile in clear anywhere, that every
// sealed value opens to the number it replaced with the blind index the
// directory computes, and that everything else in the records is kept.
func TestMigrationSealsPeoplesMobiles(t *testing.T) {
	dir := t.TempDir()
	old := map[string]string{
		string(Key(KindPerson, "p1")):                   `{"id":"p1","kind":"employee","name":"Wang","mobile":"13800138000","company_id":"c1","floor_id":"f1","employee_no":"E1","position":"Dev","can_host":true,"active":true}`,
		string(Key(KindPerson, "p2")):                   `{"id":"p2","kind":"staff","name":"Guard","mobile":"+85291234567","can_host":false,"active":false}`,
		string(Key(KindPersonByName, "wang", "p1")):     "e1|c1|f1|e1",
		string(Key(KindImportStage, "imp", "00000000")): `[{"id":"p3","kind":"employee","name":"Li","mobile":"13900139000","company_id":"c1","floor_id":"f1","employee_no":"E3","can_host":true,"active":true,"line":2}]`,
		string(Key(KindCompany, "c1")):                  `{"id":"c1","name":"Acme","floor_ids":["f1"],"phone":"010-12345678","active":true}`,
	}
	// Enough people that the rewrite takes several transactions.
	for i := 0; i < 2*migrateBatchKeys+10; i++ {
		id := fmt.Sprintf("q%05d", i)
		old[string(Key(KindPerson, id))] = fmt.Sprintf(`{"id":%q,"kind":"staff","name":"N","mobile":"1370%07d","can_host":false,"active":true}`, id, i)
	}
	schema1(t, dir, old)

	if _, err := Open(Options{Dir: dir}); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("open without keys: %v, want ErrNoKeys", err)
	}
	keys := testKeys(t)
	s, err := Open(Options{Dir: dir, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.schema(); err != nil || v != SchemaVersion {
		t.Fatalf("schema after migration = %d, %v", v, err)
	}
	want := map[string]string{"p1": "13800138000", "p2": "+85291234567", "p3": "13900139000"}
	for i := 0; i < 2*migrateBatchKeys+10; i++ {
		want[fmt.Sprintf("q%05d", i)] = fmt.Sprintf("1370%07d", i)
	}
	check := func(rec map[string]any) {
		t.Helper()
		id, _ := rec["id"].(string)
		if _, ok := rec["mobile"]; ok {
			t.Errorf("%s still has a mobile field", id)
		}
		sealed, _ := rec["mobile_sealed"].(string)
		m, err := keys.Open(sealed)
		if err != nil || m != want[id] {
			t.Errorf("%s: sealed mobile opens to %q, %v; want %s", id, m, err, want[id])
		}
		if rec["mobile_blind"] != keys.Blind("mobile", want[id]) {
			t.Errorf("%s: blind index %v", id, rec["mobile_blind"])
		}
		delete(want, id)
	}
	err = s.View(func(r *Reader) error {
		var p1 map[string]any
		if err := r.GetJSON(Key(KindPerson, "p1"), &p1); err != nil {
			return err
		}
		for k, v := range map[string]any{"name": "Wang", "company_id": "c1", "floor_id": "f1", "employee_no": "E1",
			"position": "Dev", "can_host": true, "active": true, "kind": "employee"} {
			if p1[k] != v {
				t.Errorf("p1 %s = %v, want %v", k, p1[k], v)
			}
		}
		if err := r.Scan(Prefix(KindPerson), ScanOptions{}, func(_, v []byte) (bool, error) {
			var rec map[string]any
			err := json.Unmarshal(v, &rec)
			check(rec)
			return true, err
		}); err != nil {
			return err
		}
		var rows []map[string]any
		if err := r.GetJSON(Key(KindImportStage, "imp", "00000000"), &rows); err != nil {
			return err
		}
		if len(rows) != 1 || rows[0]["line"] != 2.0 {
			t.Errorf("staged rows = %v", rows)
		}
		for _, rec := range rows {
			check(rec)
		}
		// Not a person's: a company's front desk stays as it was.
		if b, err := r.Get(Key(KindCompany, "c1")); err != nil || string(b) != old[string(Key(KindCompany, "c1"))] {
			t.Errorf("company record = %s, %v", b, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 0 {
		t.Errorf("%d people not seen after the migration", len(want))
	}
	noClear(t, s, "13800138000", "+85291234567", "13900139000", "13700000007")
}

// TestMigrationRunsAgainAfterACrash: a migration interrupted before it
// stamped the new version runs again at the next start, and leaves what it
// had already sealed as it was.
func TestMigrationRunsAgainAfterACrash(t *testing.T) {
	dir := t.TempDir()
	schema1(t, dir, map[string]string{
		string(Key(KindPerson, "p1")): `{"id":"p1","kind":"staff","name":"A","mobile":"13800138000","active":true}`,
	})
	keys := testKeys(t)
	s, err := Open(Options{Dir: dir, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	sealed := getRaw(t, s, Key(KindPerson, "p1"))
	// The crash: sealed, but the version not yet stamped; and one more
	// record still in clear.
	err = s.db.Update(func(txn *badger.Txn) error {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], 1)
		if err := txn.Set(schemaKey, b[:]); err != nil {
			return err
		}
		return txn.Set(Key(KindPerson, "p2"), []byte(`{"id":"p2","kind":"staff","name":"B","mobile":"13900139000","active":true}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(Options{Dir: dir, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if again := getRaw(t, s, Key(KindPerson, "p1")); !bytes.Equal(again, sealed) {
		t.Errorf("a record sealed before the crash was rewritten:\n%s\n%s", sealed, again)
	}
	noClear(t, s, "13800138000", "13900139000")
}

// getRaw reads one value, failing t if it is missing.
func getRaw(t *testing.T, s *Store, key []byte) []byte {
	t.Helper()
	var b []byte
	err := s.View(func(r *Reader) error {
		var err error
		b, err = r.Get(key)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// noClear fails t if any key or value of s holds one of texts.
func noClear(t *testing.T, s *Store, texts ...string) {
	t.Helper()
	_ = s.View(func(r *Reader) error {
		for k := 0; k < 256; k++ {
			_ = r.Scan([]byte{byte(k)}, ScanOptions{}, func(key, val []byte) (bool, error) {
				for _, text := range texts {
					if bytes.Contains(key, []byte(text)) || bytes.Contains(val, []byte(text)) {
						t.Errorf("%q in clear under key %q", text, printable(key))
					}
				}
				return true, nil
			})
		}
		return nil
	})
}
