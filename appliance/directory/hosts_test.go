package directory

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"gatehouse/appliance/store"
)

// hostNames runs a host search and returns the names found, in order.
func hostNames(t *testing.T, svc *Service, q HostQuery, byPhone bool) []string {
	t.Helper()
	hs, err := svc.Hosts(q, byPhone)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

// TestHostSearchFindsHostsTheWayPeopleAsk: company names in either
// language, English names, pinyin in full and by initials, employee number,
// and the mobile's last 4 digits only when the caller may search by phone;
// never a non-host, an inactive person or a person of an inactive company.
func TestHostSearchFindsHostsTheWayPeopleAsk(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	star, err := f.svc.SaveCompany(ctx, "t", Company{Name: "星辰科技 Star Tech", FloorIDs: []string{f.floors["2F"].ID}})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := f.svc.SaveCompany(ctx, "t", Company{Name: "Gone Ltd", FloorIDs: []string{f.floors["3F"].ID}})
	if err != nil {
		t.Fatal(err)
	}
	add := func(co Company, fl, name, english, mobile, no string, host bool) Person {
		t.Helper()
		p, err := f.svc.SavePerson(ctx, "t", Person{Kind: Employee, Name: name, EnglishName: english, Mobile: mobile,
			CompanyID: co.ID, FloorID: f.floors[fl].ID, EmployeeNo: no, CanHost: host})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	add(star, "2F", "王磊", "Leo Wang", "13912345678", "ST-0042", true)
	add(star, "2F", "李娜", "", "13900001111", "ST-0043", false) // not a host
	add(f.acme, "1F", "汪洋", "", "13800005678", "A-7", true)    // same last 4 as 王磊
	add(f.acme, "1F", "单田芳", "", "13700002222", "A-8", true)   // 单 reads shan (the surname) or dan
	fang := add(f.acme, "1F", "王芳", "", "13600003333", "A-9", true)
	if err := f.svc.SetPersonActive(ctx, "t", fang.ID, false); err != nil {
		t.Fatal(err)
	}
	add(gone, "3F", "王刚", "", "13500004444", "G-1", true)
	if err := f.svc.SetCompanyActive(ctx, "t", gone.ID, false); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		q       HostQuery
		byPhone bool
		want    []string
	}{
		{"company in English", HostQuery{Text: "Star"}, false, []string{"王磊"}},
		{"company in English, lower case, second word", HostQuery{Text: "tech"}, false, []string{"王磊"}},
		{"company in Chinese", HostQuery{Text: "星辰"}, false, []string{"王磊"}},
		{"company, middle of the Chinese name", HostQuery{Text: "科技"}, false, []string{"王磊"}},
		{"pinyin surname, two characters", HostQuery{Text: "wang"}, false, []string{"汪洋", "王磊"}},
		{"pinyin in full", HostQuery{Text: "wanglei"}, false, []string{"王磊"}},
		{"pinyin with a space", HostQuery{Text: "Wang Lei"}, false, []string{"王磊"}},
		{"pinyin initials", HostQuery{Text: "wl"}, false, []string{"王磊"}},
		{"pinyin given name", HostQuery{Text: "lei"}, false, []string{"王磊"}},
		{"pinyin initials of another", HostQuery{Text: "wy"}, false, []string{"汪洋"}},
		{"surname's reading", HostQuery{Text: "shantianfang"}, false, []string{"单田芳"}},
		{"English name", HostQuery{Text: "leo"}, false, []string{"王磊"}},
		{"Chinese name", HostQuery{Text: "王磊"}, false, []string{"王磊"}},
		{"Chinese given name", HostQuery{Text: "磊"}, false, []string{"王磊"}},
		{"employee number", HostQuery{Text: "st-0042"}, false, []string{"王磊"}},
		{"employee number, upper case", HostQuery{Text: "A-7"}, false, []string{"汪洋"}},
		{"last 4 on a staff page", HostQuery{Text: "5678"}, true, []string{"汪洋", "王磊"}},
		{"last 4 on a public page", HostQuery{Text: "5678"}, false, nil},
		{"whole mobile", HostQuery{Text: "13912345678"}, true, nil},
		{"within one company", HostQuery{Text: "wang", CompanyID: f.acme.ID}, false, []string{"汪洋"}},
		{"within one company, another's name", HostQuery{Text: "leo", CompanyID: f.acme.ID}, false, nil},
		{"within one company, by pinyin", HostQuery{Text: "wy", CompanyID: f.acme.ID}, false, []string{"汪洋"}},
		{"within one company, not by its name", HostQuery{Text: "Star", CompanyID: f.acme.ID}, false, nil},
		{"not a host", HostQuery{Text: "lina"}, true, nil},
		{"inactive person", HostQuery{Text: "wangfang"}, true, nil},
		{"inactive company", HostQuery{Text: "Gone"}, true, nil},
		{"person of an inactive company", HostQuery{Text: "wanggang"}, true, nil},
		{"nothing typed", HostQuery{Text: "  "}, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := hostNames(t, f.svc, tc.q, tc.byPhone)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("%q found %v, want %v", tc.q.Text, got, tc.want)
			}
		})
	}

	// A new name replaces the old terms in the same command.
	hs, _ := f.svc.Hosts(HostQuery{Text: "leo"}, false)
	p := hs[0].Person
	p.Name, p.EnglishName = "李雷", ""
	if _, err := f.svc.SavePerson(ctx, "t", p); err != nil {
		t.Fatal(err)
	}
	if got := hostNames(t, f.svc, HostQuery{Text: "wanglei"}, false); got != nil {
		t.Fatalf("old pinyin still finds %v", got)
	}
	if got := hostNames(t, f.svc, HostQuery{Text: "lil"}, false); !slices.Equal(got, []string{"李雷"}) {
		t.Fatalf("new pinyin finds %v", got)
	}
	noClearBytes(t, f.st, "5678", "13912345678")
}

// TestHostSearchIndexesPeopleStoredBeforeIt writes people the way the
// release before the host search did — records with a sealed mobile and
// only the name, company, floor and number indexes — then starts the
// directory as the appliance does (Recover, IndexHosts): they are found by
// pinyin, company and the mobile's tail, once, and a second start issues
// nothing.
func TestHostSearchIndexesPeopleStoredBeforeIt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.st.Register("test.raw", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
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
	type oldPerson struct { // the record as that release wrote it
		ID           string `json:"id"`
		Kind         Kind   `json:"kind"`
		Name         string `json:"name"`
		MobileSealed string `json:"mobile_sealed,omitempty"`
		MobileBlind  string `json:"mobile_blind,omitempty"`
		CompanyID    string `json:"company_id,omitempty"`
		FloorID      string `json:"floor_id,omitempty"`
		EmployeeNo   string `json:"employee_no,omitempty"`
		CanHost      bool   `json:"can_host"`
		Active       bool   `json:"active"`
	}
	sealed, err := f.keys.Seal("13912345678")
	if err != nil {
		t.Fatal(err)
	}
	old := oldPerson{ID: store.NewID(f.svc.clock.Now()), Kind: Employee, Name: "王磊", MobileSealed: sealed,
		MobileBlind: f.keys.Blind(BlindMobile, "13912345678"), CompanyID: f.globex.ID, FloorID: f.floors["3F"].ID,
		EmployeeNo: "G-42", CanHost: true, Active: true}
	b, _ := json.Marshal(old)
	kvs := []rawPut{{store.Key(store.KindPerson, old.ID), b}, {store.Key(store.KindPersonByNo, "g-42"), []byte(old.ID)}}
	cur := Person{ID: old.ID, Kind: Employee, Name: old.Name, CompanyID: old.CompanyID, FloorID: old.FloorID, EmployeeNo: old.EmployeeNo, Active: true}
	for _, k := range personIndexKeys(cur) {
		kvs = append(kvs, rawPut{k, indexValue(cur)})
	}
	if _, err := store.Issue(ctx, f.st, "test.raw", "t", f.svc.clock.Now(), kvs); err != nil {
		t.Fatal(err)
	}
	if got := hostNames(t, f.svc, HostQuery{Text: "wang"}, true); got != nil {
		t.Fatalf("found before the index was built: %v", got)
	}

	if err := f.svc.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.IndexHosts(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"wang", "wl", "环球", "globex", "g-42", "5678"} {
		if got := hostNames(t, f.svc, HostQuery{Text: q}, true); !slices.Equal(got, []string{"王磊"}) {
			t.Errorf("%q after the upgrade: %v", q, got)
		}
	}
	p, err := f.svc.Person(old.ID)
	if err != nil || p.MobileTail != f.keys.Blind(BlindMobileTail, "5678") || p.MobileSealed != sealed {
		t.Fatalf("record after the upgrade: %+v, %v", p, err)
	}
	seq := func() (n uint64) {
		_ = f.st.View(func(r *store.Reader) error {
			return r.Scan(store.Prefix(store.KindAudit), store.ScanOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) { n++; return true, nil })
		})
		return n
	}
	before := seq()
	if err := f.svc.IndexHosts(ctx); err != nil {
		t.Fatal(err)
	}
	if after := seq(); after != before {
		t.Fatalf("a second start issued %d commands", after-before)
	}
	noClearBytes(t, f.st, "5678")
}

// TestSearchTermsOfAPurgedPersonAreNone: once the retention purge has removed a
// person's personal data, no search term or tail entry is left.
func TestSearchTermsOfAPurgedPersonAreNone(t *testing.T) {
	p := Person{ID: "0000000000000001", Kind: Employee, Name: "王磊", MobileTail: "x", Purged: 1}
	if ks := personSearchKeys(p); len(ks) != 0 {
		t.Fatalf("purged person keeps %d search entries", len(ks))
	}
	p.Purged = 0
	ks := personSearchKeys(p)
	if len(ks) == 0 || len(ks) > maxTerms+1 || !strings.Contains(string(ks[0]), "王磊") {
		t.Fatalf("search entries: %q", ks)
	}
}

// BenchmarkHosts10k measures one keystroke of the host search over 10,000
// employees imported through the CSV import (which writes the search
// entries). The directory is built once, untimed.
func BenchmarkHosts10k(b *testing.B) {
	const n = 10_000
	d := setupBenchDirectory(b, b.TempDir(), n)
	queries := []struct {
		name    string
		q       HostQuery
		byPhone bool
	}{
		{"name-rare", HostQuery{Text: strings.ToLower(benchName(4321))}, false},
		{"name-common-prefix", HostQuery{Text: "ka"}, false},
		{"employee-number", HostQuery{Text: "E004321"}, false},
		{"company", HostQuery{Text: "company 07"}, false},
		{"mobile-tail", HostQuery{Text: "4321"}, true},
		{"in-company", HostQuery{Text: "ka", CompanyID: d.companies[7].ID}, false},
		{"nobody", HostQuery{Text: "zzzz"}, false},
	}
	for _, tc := range queries {
		b.Run(tc.name, func(b *testing.B) {
			hs, err := d.svc.Hosts(tc.q, tc.byPhone)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.svc.Hosts(tc.q, tc.byPhone); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(hs)), "found")
		})
	}
}

// TestImportReadsEnglishName: the employee file may carry an English name
// column (english_name or 英文名), optional, and the host search finds the
// imported people by it, by pinyin and by their mobile's tail.
func TestImportReadsEnglishName(t *testing.T) {
	f := newFixture(t)
	csv := "姓名,英文名,手机,公司,楼层,工号,可接待\n王磊,Leo Wang,13912345678,Acme,1F,I-1,yes\n李娜,,13900001111,Acme,2F,I-2,yes\n"
	if n, err := f.svc.ImportEmployeesCSV(context.Background(), "t", []byte(csv), nil); err != nil || n != 2 {
		t.Fatalf("import: %d, %v", n, err)
	}
	for q, want := range map[string]string{"leo": "王磊", "wl": "王磊", "5678": "王磊", "lina": "李娜"} {
		if got := hostNames(t, f.svc, HostQuery{Text: q}, true); !slices.Equal(got, []string{want}) {
			t.Errorf("%q after the import: %v, want %s", q, got, want)
		}
	}
}

// TestPeopleByMobileMatchesTheWholeNumber: the sign-up's lookup finds the
// person whose mobile is exactly the number typed (spaces and dashes
// aside), never one who only shares its last 4 digits, and nobody for a
// number that is not a mobile's form.
func TestPeopleByMobileMatchesTheWholeNumber(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, err := f.svc.SavePerson(ctx, "t", Person{Kind: Employee, Name: "A", EmployeeNo: "A1", Mobile: "13911112222", CompanyID: f.acme.ID, FloorID: f.floors["1F"].ID, CanHost: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SavePerson(ctx, "t", Person{Kind: Employee, Name: "B", EmployeeNo: "B1", Mobile: "13700002222", CompanyID: f.acme.ID, FloorID: f.floors["1F"].ID, CanHost: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mobile string
		want   []string
	}{{"139-1111-2222", []string{a.ID}}, {"13911112222", []string{a.ID}}, {"13600002222", nil}, {"2222", nil}, {"", nil}} {
		ps, err := f.svc.PeopleByMobile(c.mobile)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("PeopleByMobile(%q) = %v, want %v", c.mobile, got, c.want)
		}
	}
}
