package shell

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/store"

	"gatehouse/appliance/store/storetest"
)

// blobs writes n random values of size bytes through a test command:
// big ones land in the value log, small ones in tables over many blocks.
func blobs(t *testing.T, dir string, n, size int) {
	t.Helper()
	a, err := common{data: dir}.open(context.Background(), Env{Stderr: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Store.Register("test.blob", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var b struct{ ID, Data string }
		if err := cmd.Decode(&b); err != nil {
			return store.Effect{}, err
		}
		return store.Effect{}, tx.Set(store.Key(store.KindNoticeImage, b.ID), []byte(b.Data))
	})
	for i := 0; i < n; i++ {
		raw := make([]byte, size/2)
		rand.Read(raw)
		if _, err := store.Issue(context.Background(), a.Store, "test.blob", "test", time.Now(),
			struct{ ID, Data string }{store.NewID(time.Now()), hex.EncodeToString(raw)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckNamesTheDamagedFile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n, size int
		pattern string
		offset  int64
	}{
		{"value log", 6, 4 << 10, "*.vlog", storetest.Middle},
		{"table", 400, 600, "*.sst", 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			blobs(t, d, tc.n, tc.size)
			if code, out, errs := run(t, "", "check", "--data", d); code != 0 || !strings.Contains(out, "data intact") {
				t.Fatalf("check of good data = %d %q %q", code, out, errs)
			}
			file := storetest.Flip(t, d, tc.pattern, tc.offset)
			code, out, errs := run(t, "", "check", "--data", d)
			if code != 1 || !strings.Contains(out, "CORRUPT "+file) || !strings.Contains(errs, file) ||
				!strings.Contains(errs, "restore from the last good backup: gatehouse restore") {
				t.Fatalf("check of damaged data = %d %q %q, want exit 1 naming %s and the cure", code, out, errs, file)
			}
		})
	}
}

// A role changed directly in Badger passes the chain check but not the
// deep one, which names the account.
func TestAuditVerifyDeepNamesAnAccountEditedInBadger(t *testing.T) {
	d := t.TempDir()
	if code, out, errs := run(t, "", "user", "add", "--data", d, "--username", "lina", "--name", "Li Na", "--role", "reception"); code != 0 {
		t.Fatalf("user add = %d %q %q", code, out, errs)
	}
	if code, out, _ := run(t, "", "audit", "verify", "--deep", "--data", d); code != 0 || !strings.Contains(out, "match their last command") {
		t.Fatalf("deep verify of untouched data = %d %q", code, out)
	}
	// Someone with the files makes lina an administrator.
	db, err := badger.Open(badger.DefaultOptions(d).WithCompression(options.ZSTD).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	var id string
	err = db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{byte(store.KindAccount)}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			var rec map[string]any
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if rec["username"] != "lina" {
				continue
			}
			id = rec["id"].(string)
			rec["role"] = string(auth.Admin)
			b, _ := json.Marshal(rec)
			return txn.Set(it.Item().KeyCopy(nil), b)
		}
		return nil
	})
	db.Close()
	if err != nil || id == "" {
		t.Fatalf("edit: %v (id %q)", err, id)
	}
	if code, out, _ := run(t, "", "audit", "verify", "--data", d); code != 0 {
		t.Fatalf("the chain alone does not see it = %d %q", code, out)
	}
	code, out, errs := run(t, "", "audit", "verify", "--deep", "--data", d)
	if code != 1 || !strings.Contains(out, "TAMPERED account "+id+": changed outside the command path") ||
		!strings.Contains(out, "auth.account.create") || !strings.Contains(errs, "1 records changed outside the command path") {
		t.Fatalf("deep verify = %d %q %q, want account %s named", code, out, errs, id)
	}
}
