package directory

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// noClearBytes fails t if any key or value in st holds one of texts.
func noClearBytes(t *testing.T, st *store.Store, texts ...string) {
	t.Helper()
	_ = st.View(func(r *store.Reader) error {
		for k := 0; k < 256; k++ {
			_ = r.Scan([]byte{byte(k)}, store.ScanOptions{}, func(key, val []byte) (bool, error) {
				for _, text := range texts {
					if bytes.Contains(key, []byte(text)) || bytes.Contains(val, []byte(text)) {
						t.Errorf("%q stored in clear under key %x", text, key)
					}
				}
				return true, nil
			})
		}
		return nil
	})
}

// TestMobileSealedOnSaveAndOpenedForPages: the number is checked in clear,
// stored sealed with its blind index, read back sealed, opened by Mobile,
// kept by a save of the record as read, and replaced by a new one.
func TestMobileSealedOnSaveAndOpenedForPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, err := f.svc.SavePerson(ctx, "t", Person{Kind: Staff, Name: "Guard", Mobile: "138-0013-8000"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mobile != "13800138000" || p.MobileBlind != f.keys.Blind(BlindMobile, "13800138000") {
		t.Fatalf("saved = %+v", p)
	}
	noClearBytes(t, f.st, "13800138000")
	got, err := f.svc.Person(p.ID)
	if err != nil || got.Mobile != "" || got.MobileSealed == "" {
		t.Fatalf("read back = %+v, %v; want the number sealed only", got, err)
	}
	if m, err := f.svc.Mobile(got); err != nil || m != "13800138000" {
		t.Fatalf("opened = %q, %v", m, err)
	}
	got.CanHost = true
	if _, err := f.svc.SavePerson(ctx, "t", got); err != nil {
		t.Fatalf("save of the record as read: %v", err)
	}
	pg, err := f.svc.Search(Query{Kind: Staff})
	if err != nil || len(pg.People) != 1 {
		t.Fatalf("search = %+v, %v", pg, err)
	}
	if ps, err := f.svc.WithMobiles(pg.People); err != nil || ps[0].Mobile != "13800138000" || !ps[0].CanHost {
		t.Fatalf("after a save without a new number: %+v, %v", ps, err)
	}
	got.Mobile = "+85291234567"
	if _, err := f.svc.SavePerson(ctx, "t", got); err != nil {
		t.Fatal(err)
	}
	if again, _ := f.svc.Person(p.ID); again.MobileBlind != f.keys.Blind(BlindMobile, "+85291234567") {
		t.Fatalf("new number not saved: %+v", again)
	}
	// A command whose issuer did not seal carries no number at all: the
	// clear field has no JSON name, so the handler finds none.
	_, err = f.svc.apply(ctx, CmdPersonSave, "t", savePayload{Person: Person{ID: store.NewID(time.Now()), Kind: Staff,
		Name: "Unsealed", Mobile: "13900139000"}, Create: true})
	if !strings.Contains(strings.Join(codes(err), " "), "mobile:required") {
		t.Fatalf("unsealed command: %v", err)
	}
	noClearBytes(t, f.st, "13800138000", "+85291234567", "13900139000")
}

// schema1Person is a person as the releases of store schema 1 wrote it,
// with the mobile in clear.
type schema1Person struct {
	ID         string `json:"id"`
	Kind       Kind   `json:"kind"`
	Name       string `json:"name"`
	Mobile     string `json:"mobile"`
	CompanyID  string `json:"company_id,omitempty"`
	FloorID    string `json:"floor_id,omitempty"`
	EmployeeNo string `json:"employee_no,omitempty"`
	Position   string `json:"position,omitempty"`
	CanHost    bool   `json:"can_host"`
	Active     bool   `json:"active"`
	Line       int    `json:"line,omitempty"`
}

type rawPut struct {
	K, V []byte
}

// TestUpgradeSealsMobilesKeptInClear writes a directory the way a schema-1
// release did — people, their index entries and a committed import not yet
// written, all with mobiles in clear — then opens the store as the
// appliance does, with the site keys: nothing is left in clear, and every
// number reads back, through the pages' calls and after Recover writes the
// import.
func TestUpgradeSealsMobilesKeptInClear(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	keys := testKeys(t)
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	Register(st)
	st.Register("test.raw", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var kvs []rawPut
		if err := cmd.Decode(&kvs); err != nil {
			return store.Effect{}, err
		}
		for _, kv := range kvs {
			if err := tx.Set(kv.K, kv.V); err != nil {
				return store.Effect{}, err
			}
		}
		return store.Effect{}, nil
	})
	svc := New(st, clk, keys)
	fl, err := svc.SaveFloor(ctx, "t", Floor{Name: "1F", Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	co, err := svc.SaveCompany(ctx, "t", Company{Name: "Acme", FloorIDs: []string{fl.ID}})
	if err != nil {
		t.Fatal(err)
	}
	people := []schema1Person{
		{ID: store.NewID(clk.Now()), Kind: Employee, Name: "Wang", Mobile: "13800138000", CompanyID: co.ID, FloorID: fl.ID, EmployeeNo: "E1", CanHost: true, Active: true},
		{ID: store.NewID(clk.Now()), Kind: Staff, Name: "Guard", Mobile: "+85291234567", Active: true},
	}
	staged := []schema1Person{
		{ID: store.NewID(clk.Now()), Kind: Employee, Name: "Li", Mobile: "13900139000", CompanyID: co.ID, FloorID: fl.ID, EmployeeNo: "E2", CanHost: true, Active: true, Line: 2},
	}
	var kvs []rawPut
	for _, p := range people {
		b, _ := json.Marshal(p)
		kvs = append(kvs, rawPut{store.Key(store.KindPerson, p.ID), b})
		cur := Person{ID: p.ID, Kind: p.Kind, Name: p.Name, CompanyID: p.CompanyID, FloorID: p.FloorID, EmployeeNo: p.EmployeeNo, Active: p.Active}
		for _, k := range personIndexKeys(cur) {
			kvs = append(kvs, rawPut{k, indexValue(cur)})
		}
		if p.EmployeeNo != "" {
			kvs = append(kvs, rawPut{store.Key(store.KindPersonByNo, strings.ToLower(p.EmployeeNo)), []byte(p.ID)})
		}
	}
	imp := store.NewID(clk.Now())
	b, _ := json.Marshal(staged)
	kvs = append(kvs, rawPut{stageKey(imp, 0), b})
	b, _ = json.Marshal(commitPayload{ImportID: imp, Chunks: 1, Rows: 1})
	kvs = append(kvs, rawPut{store.Key(store.KindImportCommit, imp), b})
	kvs = append(kvs, rawPut{store.Key(store.KindMeta, "schema"), binary.BigEndian.AppendUint32(nil, 1)})
	if _, err := store.Issue(ctx, st, "test.raw", "t", clk.Now(), kvs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	if _, err := store.Open(store.Options{Dir: dir}); !errors.Is(err, store.ErrNoKeys) {
		t.Fatalf("upgrade without the keys: %v", err)
	}
	st, err = store.Open(store.Options{Dir: dir, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	Register(st)
	svc = New(st, clk, keys)
	noClearBytes(t, st, "13800138000", "+85291234567", "13900139000")
	if err := svc.Recover(ctx); err != nil {
		t.Fatalf("recover the import staged before the upgrade: %v", err)
	}
	want := map[string]string{people[0].ID: "13800138000", people[1].ID: "+85291234567", staged[0].ID: "13900139000"}
	pg, err := svc.Search(Query{Limit: 10}) // employees and staff
	if err != nil {
		t.Fatal(err)
	}
	all, err := svc.WithMobiles(pg.People)
	if err != nil || len(all) != 3 {
		t.Fatalf("people after the upgrade: %+v, %v", all, err)
	}
	for _, p := range all {
		if p.Mobile != want[p.ID] || p.MobileBlind != keys.Blind(BlindMobile, want[p.ID]) {
			t.Errorf("%s: mobile %q (blind %q), want %s", p.Name, p.Mobile, p.MobileBlind, want[p.ID])
		}
	}
	if p, err := svc.PersonByNumber("e2"); err != nil || p.Name != "Li" {
		t.Fatalf("imported person by number: %+v, %v", p, err)
	}
	// An upgraded record saves like a new one.
	p, _ := svc.Person(people[0].ID)
	p.Position = "Boss"
	if _, err := svc.SavePerson(ctx, "t", p); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SavePerson(ctx, "t", Person{ID: p.ID, Kind: Employee, Name: "Wang", CompanyID: co.ID, FloorID: fl.ID, EmployeeNo: "E1"}); !errors.Is(err, field.ErrInvalid) {
		t.Fatalf("save without a mobile: %v", err)
	}
	noClearBytes(t, st, "13800138000", "+85291234567", "13900139000")
}
