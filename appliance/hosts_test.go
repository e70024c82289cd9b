package appliance

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/store"
)

// TestOpenIndexesHostsStoredBeforeTheHostSearch: a directory as the
// release before the host search left it — people with no search entries,
// no mobile tail and no index version — is found by pinyin, company and
// the mobile's last 4 digits once the appliance is opened again.
func TestOpenIndexesHostsStoredBeforeTheHostSearch(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := config.Load("", nil)
	clk := clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	ctx := context.Background()
	open := func() *App {
		t.Helper()
		a, err := Open(ctx, dir, cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := open()
	f, _ := a.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "8F", Level: 8})
	co, _ := a.Directory.SaveCompany(ctx, "t", directory.Company{Name: "星辰科技 Star Tech", FloorIDs: []string{f.ID}})
	p, err := a.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "王磊", Mobile: "13912345678",
		CompanyID: co.ID, FloorID: f.ID, EmployeeNo: "S1", CanHost: true})
	must(t, err)
	// Take the directory back to what the earlier release wrote.
	a.Store.Register("test.rollback", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var keys [][]byte
		for _, k := range []store.Kind{store.KindPersonByTerm, store.KindPersonByTail, store.KindPersonSearchOK} {
			if err := tx.Scan(store.Prefix(k), store.ScanOptions{KeysOnly: true}, func(key, _ []byte) (bool, error) {
				keys = append(keys, append([]byte(nil), key...))
				return true, nil
			}); err != nil {
				return store.Effect{}, err
			}
		}
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return store.Effect{}, err
			}
		}
		var rec map[string]any
		if err := tx.GetJSON(store.Key(store.KindPerson, p.ID), &rec); err != nil {
			return store.Effect{}, err
		}
		delete(rec, "mobile_tail")
		b, _ := json.Marshal(rec)
		return store.Effect{}, tx.Set(store.Key(store.KindPerson, p.ID), b)
	})
	_, err = store.Issue(ctx, a.Store, "test.rollback", "t", clk.Now(), nil)
	must(t, err)
	if hs, _ := a.Directory.Hosts(directory.HostQuery{Text: "wang"}, true); len(hs) != 0 {
		t.Fatalf("found with no search entries: %v", hs)
	}
	must(t, a.Close())

	a = open()
	defer a.Close()
	for _, q := range []string{"wang", "wl", "Star", "星辰", "5678"} {
		hs, err := a.Directory.Hosts(directory.HostQuery{Text: q}, true)
		if err != nil || len(hs) != 1 || hs[0].ID != p.ID {
			t.Errorf("%q after the upgrade: %v, %v", q, hs, err)
		}
	}
}
