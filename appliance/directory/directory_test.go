package directory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

type fixture struct {
	st     *store.Store
	svc    *Service
	keys   *secret.Keys
	floors map[string]Floor
	acme   Company
	globex Company
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	Register(st)
	f := &fixture{st: st, keys: testKeys(t), floors: map[string]Floor{}}
	f.svc = New(st, clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)), f.keys)
	ctx := context.Background()
	for i, n := range []string{"B1", "1F", "2F", "3F"} {
		fl, err := f.svc.SaveFloor(ctx, "test", Floor{Name: n, Level: i - 1})
		if err != nil {
			t.Fatal(err)
		}
		f.floors[n] = fl
	}
	if f.acme, err = f.svc.SaveCompany(ctx, "test", Company{Name: "Acme", FloorIDs: []string{f.floors["1F"].ID, f.floors["2F"].ID}}); err != nil {
		t.Fatal(err)
	}
	if f.globex, err = f.svc.SaveCompany(ctx, "test", Company{Name: "Globex 环球", FloorIDs: []string{f.floors["3F"].ID}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func testKeys(tb testing.TB) *secret.Keys {
	tb.Helper()
	k, err := secret.FromMaster(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// sealed is p as the service puts it in a command: its mobile sealed.
func (f *fixture) sealed(t *testing.T, p Person) Person {
	t.Helper()
	if err := f.svc.sealMobile(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func codes(err error) []string {
	es, _ := field.As(err)
	var out []string
	for _, e := range es {
		s := e.Field + ":" + e.Code
		if e.Line > 0 {
			s = fmt.Sprintf("%d:%s", e.Line, s)
		}
		out = append(out, s)
	}
	return out
}

func TestSavePersonValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.SavePerson(ctx, "test", Person{Kind: Employee, Name: "王小明", Mobile: "138 0013 8000",
		CompanyID: f.acme.ID, FloorID: f.floors["1F"].ID, EmployeeNo: "A-001", CanHost: true}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    Person
		want string
	}{
		{"name required", Person{Kind: Employee, Mobile: "13800138001", CompanyID: f.acme.ID, FloorID: f.floors["1F"].ID, EmployeeNo: "A2"}, "name:required"},
		{"bad mobile", Person{Kind: Employee, Name: "x", Mobile: "12345", CompanyID: f.acme.ID, FloorID: f.floors["1F"].ID, EmployeeNo: "A2"}, "mobile:invalid_mobile"},
		{"unknown company", Person{Kind: Employee, Name: "x", Mobile: "13800138001", CompanyID: store.NewID(time.Now()), FloorID: f.floors["1F"].ID, EmployeeNo: "A2"}, "company_id:unknown_company"},
		{"floor not of company", Person{Kind: Employee, Name: "x", Mobile: "13800138001", CompanyID: f.acme.ID, FloorID: f.floors["3F"].ID, EmployeeNo: "A2"}, "floor_id:floor_not_of_company"},
		{"duplicate number", Person{Kind: Employee, Name: "x", Mobile: "13800138001", CompanyID: f.acme.ID, FloorID: f.floors["1F"].ID, EmployeeNo: "a-001"}, "employee_no:duplicate_employee_no"},
		{"name too long", Person{Kind: Staff, Name: strings.Repeat("长", MaxName+1), Mobile: "+85291234567"}, "name:too_long"},
		{"control chars", Person{Kind: Staff, Name: "a\x00b", Mobile: "+85291234567"}, "name:bad_characters"},
		{"bad kind", Person{Kind: "boss", Name: "x", Mobile: "13800138001"}, "kind:invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.SavePerson(ctx, "test", tc.p)
			if !errors.Is(err, field.ErrInvalid) {
				t.Fatalf("err = %v, want invalid", err)
			}
			got := codes(err)
			if len(got) == 0 || got[0] != tc.want {
				t.Errorf("codes = %v, want %s first", got, tc.want)
			}
		})
	}
}

func TestSearchByNameCompanyFloorAndPaging(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	add := func(name, comp, floor, no string) Person {
		c := map[string]Company{"acme": f.acme, "globex": f.globex}[comp]
		p, err := f.svc.SavePerson(ctx, "test", Person{Kind: Employee, Name: name, Mobile: "13800138000",
			CompanyID: c.ID, FloorID: f.floors[floor].ID, EmployeeNo: no})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	add("Alice Zhang", "acme", "1F", "1")
	bob := add("Bob Li", "acme", "2F", "2")
	add("Carol Wang", "globex", "3F", "3")
	add("张伟", "globex", "3F", "G-77")
	if _, err := f.svc.SavePerson(ctx, "test", Person{Kind: Staff, Name: "Dan Guard", Mobile: "13900139000"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetPersonActive(ctx, "test", bob.ID, false); err != nil {
		t.Fatal(err)
	}
	names := func(q Query) []string {
		p, err := f.svc.Search(q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range p.People {
			out = append(out, x.Name)
		}
		return append(out, fmt.Sprint(p.Total))
	}
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"all active employees", Query{Kind: Employee}, "Alice Zhang,Carol Wang,张伟,3"},
		{"with inactive", Query{Kind: Employee, IncludeInactive: true}, "Alice Zhang,Bob Li,Carol Wang,张伟,4"},
		{"by name part", Query{Text: "ZHANG"}, "Alice Zhang,1"},
		{"chinese name", Query{Text: "张"}, "张伟,1"},
		{"by employee number", Query{Text: "g-7"}, "张伟,1"},
		{"by company", Query{CompanyID: f.globex.ID}, "Carol Wang,张伟,2"},
		{"by floor", Query{FloorID: f.floors["1F"].ID}, "Alice Zhang,1"},
		{"company and floor", Query{CompanyID: f.acme.ID, FloorID: f.floors["2F"].ID, IncludeInactive: true}, "Bob Li,1"},
		{"staff", Query{Kind: Staff}, "Dan Guard,1"},
		{"paged", Query{Kind: Employee, Offset: 1, Limit: 1}, "Carol Wang,3"},
		{"past the end", Query{Kind: Employee, Offset: 10, Limit: 5}, "3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(names(tc.q), ","); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func countPeople(t *testing.T, f *fixture) int {
	p, err := f.svc.Search(Query{IncludeInactive: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}

func TestImportRejectsBadFileAndWritesNothing(t *testing.T) {
	f := newFixture(t)
	var b strings.Builder
	b.WriteString(CSVHeader + "\n")
	for i := 0; i < 1200; i++ {
		fmt.Fprintf(&b, "Person %d,13800%06d,Acme,1F,E%d,,yes\n", i, i, i)
	}
	good := b.String()
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"bad mobile on line 1000", strings.Replace(good, "13800000998", "99", 1), []string{"1000:mobile:invalid_mobile"}},
		{"unknown company and floor", good + "X,13800138000,Nope,1F,X1,,\nY,13800138000,Acme,9F,Y1,,\n",
			[]string{"1202:company:unknown_company", "1203:floor:unknown_floor"}},
		{"floor not of company", good + "X,13800138000,Acme,3F,X1,,\n", []string{"1202:floor:floor_not_of_company"}},
		{"duplicate in file", good + "X,13800138000,Acme,1F,e5,,\n", []string{"1202:employee_no:duplicate_in_file"}},
		{"wrong field count", good + "X,13800138000\n", []string{"1202:row:wrong_field_count"}},
		{"bad yes/no", good + "X,13800138000,Acme,1F,X1,,maybe\n", []string{"1202:can_host:invalid_yes_no"}},
		{"missing column", "name,mobile,company,floor\nX,13800138000,Acme,1F\n", []string{"1:header:missing_column"}},
		{"unknown column", CSVHeader + ",shoe size\n", []string{"1:header:unknown_column"}},
		{"bad quoting", good + "\"X,13800138000,Acme,1F,X1,,\n", []string{"1202:row:bad_csv"}},
		{"empty", "", []string{"1:file:empty_file"}},
		{"header only", CSVHeader + "\n", []string{"2:file:empty_file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := f.svc.ImportEmployeesCSV(context.Background(), "test", []byte(tc.data), nil)
			if n != 0 || !errors.Is(err, field.ErrInvalid) {
				t.Fatalf("import = %d, %v; want a validation error", n, err)
			}
			if got := codes(err); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
			if c := countPeople(t, f); c != 0 {
				t.Errorf("%d people written from a rejected file", c)
			}
		})
	}
}

func TestImportWritesWholeFileInChunks(t *testing.T) {
	f := newFixture(t)
	var b strings.Builder
	// GB18030 files from Excel come with Chinese headers.
	b.WriteString("\xEF\xBB\xBF姓名,手机,公司,楼层,工号\n")
	for i := 0; i < 1234; i++ {
		fmt.Fprintf(&b, "员工%d,13800%06d,acme,2f,N%d\n", i, i, i)
	}
	var phases []string
	n, err := f.svc.ImportEmployeesCSV(context.Background(), "test", []byte(b.String()), func(p Progress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	})
	if err != nil || n != 1234 {
		t.Fatalf("import = %d, %v", n, err)
	}
	if c := countPeople(t, f); c != 1234 {
		t.Fatalf("%d people after import, want 1234", c)
	}
	if got := strings.Join(phases, ","); got != "validating,staging,writing,done" {
		t.Errorf("progress phases = %s", got)
	}
	// Nothing staged is left behind, and single edits are allowed again.
	_ = f.st.View(func(r *store.Reader) error {
		busy, _ := importPending(r)
		if busy {
			t.Error("import marker left behind")
		}
		return nil
	})
	if _, err := f.svc.SavePerson(context.Background(), "test", Person{Kind: Staff, Name: "After", Mobile: "13800138000"}); err != nil {
		t.Fatal(err)
	}
}

// TestRecoverFinishesCommittedAndDiscardsUncommitted simulates crashes
// between the import's commands.
func TestRecoverFinishesCommittedAndDiscardsUncommitted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rows := func(prefix string, n int) []Person {
		var out []Person
		for i := 0; i < n; i++ {
			out = append(out, f.sealed(t, Person{ID: store.NewID(time.Now()), Kind: Employee, Name: fmt.Sprintf("%s%d", prefix, i),
				Mobile: "13800138000", CompanyID: f.acme.ID, FloorID: f.floors["1F"].ID, EmployeeNo: fmt.Sprintf("%s%d", prefix, i), Active: true, Line: i + 2}))
		}
		return out
	}
	// Committed, one of two chunks applied.
	a := store.NewID(time.Now())
	ra := rows("a", 700)
	mustApply(t, f, CmdImportStage, stagePayload{ImportID: a, Seq: 0, Rows: ra[:500]})
	mustApply(t, f, CmdImportStage, stagePayload{ImportID: a, Seq: 1, Rows: ra[500:]})
	mustApply(t, f, CmdImportCommit, commitPayload{ImportID: a, Chunks: 2, Rows: 700})
	mustApply(t, f, CmdImportApply, chunkPayload{ImportID: a, Seq: 0})
	// While it is pending, single edits are refused.
	if _, err := f.svc.SavePerson(ctx, "test", Person{Kind: Staff, Name: "x", Mobile: "13800138000"}); !errors.Is(err, ErrImportRunning) {
		t.Fatalf("edit during import: %v", err)
	}
	// Staged, never committed.
	b := store.NewID(time.Now())
	mustApply(t, f, CmdImportStage, stagePayload{ImportID: b, Seq: 0, Rows: rows("b", 10)})

	if err := f.svc.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if c := countPeople(t, f); c != 700 {
		t.Fatalf("%d people after recovery, want 700", c)
	}
	_ = f.st.View(func(r *store.Reader) error {
		left := 0
		_ = r.Scan(store.Prefix(store.KindImportStage), store.ScanOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) { left++; return true, nil })
		if left != 0 {
			t.Errorf("%d staged chunks left", left)
		}
		if n, err := store.VerifyAudit(r); err != nil || n == 0 {
			t.Errorf("audit verify: %d %v", n, err)
		}
		return nil
	})
}

func mustApply(t *testing.T, f *fixture, typ string, payload any) {
	t.Helper()
	if _, err := f.svc.apply(context.Background(), typ, "test", payload); err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
}

func TestCompanyRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.SaveCompany(ctx, "t", Company{Name: "ACME", FloorIDs: []string{f.floors["1F"].ID}}); !strings.Contains(fmt.Sprint(codes(err)), "duplicate_company") {
		t.Errorf("duplicate company name: %v", err)
	}
	if _, err := f.svc.SaveCompany(ctx, "t", Company{Name: "New"}); !strings.Contains(fmt.Sprint(codes(err)), "floor_ids:required") {
		t.Errorf("company without floors: %v", err)
	}
	p, err := f.svc.SavePerson(ctx, "t", Person{Kind: Employee, Name: "E", Mobile: "13800138000", CompanyID: f.acme.ID, FloorID: f.floors["2F"].ID, EmployeeNo: "1"})
	if err != nil {
		t.Fatal(err)
	}
	_ = p
	acme := f.acme
	acme.FloorIDs = []string{f.floors["1F"].ID}
	if _, err := f.svc.SaveCompany(ctx, "t", acme); !strings.Contains(fmt.Sprint(codes(err)), "floor_in_use") {
		t.Errorf("dropping a floor in use: %v", err)
	}
	acme.Name = "Acme Renamed"
	acme.FloorIDs = append(acme.FloorIDs, f.floors["2F"].ID)
	if _, err := f.svc.SaveCompany(ctx, "t", acme); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetCompanyActive(ctx, "t", f.acme.ID, false); err != nil {
		t.Fatal(err)
	}
	cs, _ := f.svc.Companies(false)
	if len(cs) != 1 || cs[0].Name != "Globex 环球" {
		t.Errorf("active companies = %+v", cs)
	}
	if _, err := f.svc.SavePerson(ctx, "t", Person{Kind: Employee, Name: "F", Mobile: "13800138000", CompanyID: f.acme.ID, FloorID: f.floors["2F"].ID, EmployeeNo: "2"}); !strings.Contains(fmt.Sprint(codes(err)), "inactive_company") {
		t.Errorf("employee of inactive company: %v", err)
	}
}

func FuzzParseEmployeesCSV(f *testing.F) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	Register(st)
	f.Add([]byte(CSVHeader + "\nA,13800138000,Acme,1F,1,,yes\n"))
	f.Add([]byte("\"a\nb\",\"\n"))
	f.Add([]byte{0xff, 0xfe, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = st.View(func(r *store.Reader) error {
			people, err := ParseEmployeesCSV(r, data, time.Unix(0, 0), nil)
			if err == nil && len(people) == 0 {
				t.Fatal("no error and no people")
			}
			if err != nil && !errors.Is(err, field.ErrInvalid) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return nil
		})
	})
}

// TestNewRecordsNeverOverwrite covers ID collisions: a create with an ID in
// use is refused, and an import whose rows repeat an ID is not committed.
func TestNewRecordsNeverOverwrite(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, err := f.svc.SavePerson(ctx, "t", Person{Kind: Staff, Name: "First", Mobile: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	dup := f.sealed(t, Person{ID: p.ID, Kind: Staff, Name: "Second", Mobile: "13800138001", Active: true})
	if _, err := f.svc.apply(ctx, CmdPersonSave, "t", savePayload{Person: dup, Create: true}); !errors.Is(err, field.ErrInvalid) {
		t.Fatalf("create over an existing ID: %v", err)
	}
	if got, _ := f.svc.Person(p.ID); got.Name != "First" {
		t.Fatalf("record overwritten: %+v", got)
	}
	id := store.NewID(time.Now())
	rows := []Person{
		f.sealed(t, Person{ID: id, Kind: Employee, Name: "A", Mobile: "13800138000", CompanyID: f.acme.ID, FloorID: f.floors["1F"].ID, EmployeeNo: "X1", Active: true, Line: 2}),
		f.sealed(t, Person{ID: id, Kind: Employee, Name: "B", Mobile: "13800138000", CompanyID: f.acme.ID, FloorID: f.floors["1F"].ID, EmployeeNo: "X2", Active: true, Line: 3}),
	}
	imp := store.NewID(time.Now())
	mustApply(t, f, CmdImportStage, stagePayload{ImportID: imp, Seq: 0, Rows: rows})
	_, err = f.svc.apply(ctx, CmdImportCommit, "t", commitPayload{ImportID: imp, Chunks: 1, Rows: 2})
	if got := codes(err); len(got) != 1 || got[0] != "3:id:duplicate" {
		t.Fatalf("commit with a repeated ID: %v", got)
	}
}
