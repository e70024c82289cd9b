package keys

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"gatehouse/appliance/store"
)

// The key room's rule: a key's history must be impossible to rewrite
// unnoticed. Rewriting or removing a history entry directly in Badger is
// named by the deep audit.
func TestKeyHistoryRewrittenInBadgerIsNamed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(txn *badger.Txn, key []byte, val []byte) error
		reason string
	}{
		{"rewritten", func(txn *badger.Txn, key, val []byte) error {
			return txn.Set(key, bytes.Replace(val, []byte("cleaning"), []byte("inspection"), 1))
		}, "changed outside the command path"},
		{"removed", func(txn *badger.Txn, key, _ []byte) error { return txn.Delete(key) }, "deleted outside the command path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f := newFixtureIn(t, dir)
			ctx := context.Background()
			k := f.key("K1", 1, nil)
			if _, err := f.svc.Checkout(ctx, f.guard, CheckoutInput{KeyID: k.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.Return(ctx, f.guard, ReturnInput{KeyID: k.ID}); err != nil {
				t.Fatal(err)
			}
			f.st.Close()

			db, err := badger.Open(badger.DefaultOptions(dir).WithCompression(options.ZSTD).WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			edited := false
			err = db.Update(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.IteratorOptions{Prefix: store.Prefix(store.KindKeyEvent, k.ID)})
				defer it.Close()
				for it.Rewind(); it.Valid(); it.Next() {
					v, err := it.Item().ValueCopy(nil)
					if err != nil {
						return err
					}
					if bytes.Contains(v, []byte("cleaning")) {
						edited = true
						return tc.edit(txn, it.Item().KeyCopy(nil), v)
					}
				}
				return nil
			})
			db.Close()
			if err != nil || !edited {
				t.Fatalf("edit: %v, edited %v", err, edited)
			}

			st, err := store.Open(store.Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var rep store.DeepReport
			err = st.View(func(r *store.Reader) (err error) { rep, err = store.VerifyDeep(r); return err })
			var te *store.TamperedError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("deep audit = %+v, %v; want %q", rep, err, tc.reason)
			}
			got := te.Findings[0]
			if tc.name == "rewritten" && !strings.HasPrefix(got.Record, "key history entry "+k.ID) {
				t.Fatalf("finding names %q, want the key's history entry", got.Record)
			}
			if !strings.HasPrefix(got.Type, "keys.") {
				t.Fatalf("finding names the command %q, want the key room's", got.Type)
			}
		})
	}
}
