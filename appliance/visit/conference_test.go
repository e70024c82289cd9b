package visit

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/screen"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

type confFixture struct {
	st     *store.Store
	clk    *clock.Fake
	keys   *secret.Keys
	host   directory.Person
	dir    *directory.Service
	visits *Service
	confs  *Conferences
	screen *screen.Service
}

// newConfFixture is a building with one host, on a real store in a
// temporary directory, at 08:00 on 23 November 2026.
func newConfFixture(tb testing.TB, clk clock.Clock) *confFixture {
	tb.Helper()
	st, err := store.Open(store.Options{Dir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	directory.Register(st)
	Register(st)
	RegisterConference(st)
	screen.Register(st)
	fake, _ := clk.(*clock.Fake)
	keys, _ := secret.FromMaster(bytes.Repeat([]byte{7}, 32))
	dir := directory.New(st, clk, keys)
	ctx := context.Background()
	f, err := dir.SaveFloor(ctx, "t", directory.Floor{Name: "3F", Level: 3})
	if err != nil {
		tb.Fatal(err)
	}
	co, err := dir.SaveCompany(ctx, "t", directory.Company{Name: "Acme", FloorIDs: []string{f.ID}})
	if err != nil {
		tb.Fatal(err)
	}
	host, err := dir.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "Organiser", Mobile: "13900139000",
		CompanyID: co.ID, FloorID: f.ID, EmployeeNo: "O1", CanHost: true})
	if err != nil {
		tb.Fatal(err)
	}
	sc := screen.New(st, clk, keys)
	return &confFixture{st: st, clk: fake, keys: keys, host: host, dir: dir,
		visits: New(st, clk, keys), confs: NewConferences(st, clk, keys).WithScreener(sc), screen: sc}
}

var confStart = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// meeting creates a meeting from 09:00 to 17:00 of the fixture's day.
func (f *confFixture) meeting(t testing.TB) Meeting {
	t.Helper()
	now := f.clk.Now()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	m, err := f.confs.Create(context.Background(), "account:desk", MeetingInput{Name: "年度技术大会 Annual Tech Summit",
		Place: "Hall A", HostID: f.host.ID, From: day.Add(9 * time.Hour), Until: day.Add(17 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// attendeeList is a CSV list of n attendees with distinct mobiles.
func attendeeList(n, offset int) []byte {
	var b bytes.Buffer
	b.WriteString("name,mobile,company,title\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "参会者%04d,137%08d,Company %d,\n", i+offset, i+offset, i%7)
	}
	return b.Bytes()
}

func codes(err error) string {
	es, ok := field.As(err)
	if !ok {
		return fmt.Sprintf("not field errors: %v", err)
	}
	var parts []string
	for _, e := range es {
		s := fmt.Sprintf("%d:%s:%s", e.Line, e.Field, e.Code)
		if e.Arg != "" {
			s += ":" + e.Arg
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestParseAttendees(t *testing.T) {
	gbk, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte("姓名,手机\n张三,13800138000\n"))
	tests := []struct {
		name string
		in   string
		want string // name|mobile|company|title@line; ...
	}{
		{"csv with header", "name,mobile,company,title\nZhao Wei,138 0013 8000,Acme,Mr\n", "Zhao Wei|13800138000|Acme|Mr@2"},
		{"chinese header in another order", "手机,姓名,单位\n13800138000,张三,某某公司\n", "张三|13800138000|某某公司|@2"},
		{"bom and crlf", "\xEF\xBB\xBFname,mobile\r\n张三,13800138000\r\n", "张三|13800138000||@2"},
		{"gb18030 from excel", string(gbk), "张三|13800138000||@2"},
		{"one per line without header", "张三, 13800138000\nLi Lei,+447700900123,Acme Ltd,Dr\n",
			"张三|13800138000||@1; Li Lei|+447700900123|Acme Ltd|Dr@2"},
		{"full-width commas", "张三，13800138000，某公司\n", "张三|13800138000|某公司|@1"},
		{"pasted from a spreadsheet", "张三\t13800138000\t某公司\t先生\n李四\t13900139001\n", "张三|13800138000|某公司|先生@1; 李四|13900139001||@2"},
		{"name and mobile with a space", "张三 13800138000\nZhao Wei 139-0013-9001\n", "张三|13800138000||@1; Zhao Wei|13900139001||@2"},
		{"blank lines are skipped", "\n张三,13800138000\n\n  \n李四,13900139001\n", "张三|13800138000||@2; 李四|13900139001||@5"},
		{"quoted comma in company", "张三,13800138000,\"Acme, Inc.\"\n", "张三|13800138000|Acme, Inc.|@1"},
		{"padded by a spreadsheet", "name,,mobile,,\n张三,x,13800138000,,\n李四,,13900139001\n", "张三|13800138000||@2; 李四|13900139001||@3"},
		// Issue "The lobby's day", item 14: an empty cell is an empty field.
		{"pasted with an empty company", "Zhao Wei\t13800138000\tAcme\tMr\nLucy Liu\t13900139001\t\tMs\n",
			"Zhao Wei|13800138000|Acme|Mr@1; Lucy Liu|13900139001||Ms@2"},
		{"pasted with an empty mobile", "Lucy Liu\t\tAcme\tMs\n", "Lucy Liu||Acme|Ms@1"},
		{"pasted with a header and empty cells", "姓名\t手机\t公司\t称呼\n张三\t\t某公司\t先生\nLucy Liu\t13900139001\t\tMs\n\t\t\t\n",
			"张三||某公司|先生@2; Lucy Liu|13900139001||Ms@3"},
		{"csv with empty cells", "name,mobile,company,title\nLucy Liu,,,Ms\n李四,,\"Acme, Inc.\",\n", "Lucy Liu|||Ms@2; 李四||Acme, Inc.|@3"},
		{"header in any order", "title,company,name,mobile\nMs,,Lucy Liu,\n", "Lucy Liu|||Ms@2"},
		{"bilingual header, ignored columns", "序号,姓名 Name,手机号码/Mobile,单位（Company）,Email,备注\n1,张三,,某公司,z@example.com,VIP\n",
			"张三||某公司|@2"},
		{"header marks", "姓名*,手机：,Company:\n张三,13800138000,Acme\n", "张三|13800138000|Acme|@2"},
		{"quoted line break and quotes", "name,company\n\"Zhao Wei\",\"Acme \"\"East\"\"\nBranch\"\nLi Lei,\n",
			"Zhao Wei||Acme \"East\" Branch|@2; Li Lei|||@4"},
		{"tab in a later quoted field keeps commas", "name,company\n张三,\"a\tb\"\n", "张三||a b|@2"},
		{"full-width comma in a csv company", "name,company\n张三,北京某某，有限公司\n", "张三||北京某某，有限公司|@2"},
		{"only names", "张三\n李四\n", "张三|||@1; 李四|||@2"},
		{"bom before a chinese header", "\xEF\xBB\xBF姓名\t手机\n张三\t13800138000\n", "张三|13800138000||@2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			as, err := ParseAttendees([]byte(tc.in))
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			var got []string
			for _, a := range as {
				got = append(got, fmt.Sprintf("%s|%s|%s|%s@%d", a.Name, a.Mobile, a.Company, a.Title, a.Line))
			}
			if strings.Join(got, "; ") != tc.want {
				t.Fatalf("got  %s\nwant %s", strings.Join(got, "; "), tc.want)
			}
		})
	}
}

func TestParseAttendeesNamesBadRowsByLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bad mobile", "name,mobile\n张三,13800138000\n李四,12345\n", "3:mobile:invalid_mobile"},
		{"missing name, mobile given", "name,mobile\n,\n张三,\n,13800138000\n", "4:name:required"},
		{"missing name", "name,mobile\n,13800138000\n", "2:name:required"},
		{"courtesy title", "张三,13800138000,Acme,CEO\n", "1:title:invalid_title"},
		{"same mobile twice", "张三,13800138000\n李四,13900139000\n王五,138-0013-8000\n", "3:mobile:duplicate_in_list:1"},
		{"too many fields", "张三,13800138000,Acme,Mr,extra\n", "1:row:wrong_field_count:5/4"},
		{"more fields than the header", "name,mobile\n张三,13800138000,Acme\n", "2:row:wrong_field_count:3/2"},
		{"header without name", "mobile,company\n13800138000,Acme\n", "1:header:missing_column:name"},
		{"a stray quote is refused, not read wrong", "name,mobile\n\"Lucy\" Liu,13800138000\n", "2:row:bad_csv"},
		{"empty cell under a header counts", "name\tmobile\tcompany\tMs\n", "1:header:unknown_column:Ms"},
		{"shifted mobile is named", "张三\tAcme\t13800138000\n", "1:mobile:invalid_mobile"},
		{"unknown header column", "name,mobile,wechat\n张三,13800138000,zw\n", "1:header:unknown_column:wechat"},
		{"empty", " \n\n", "1:list:empty_list"},
		{"bad quotes", "张三,13800138000\n\"李四,13900139000\n", "2:row:bad_csv"},
		{"binary", "张三\x00,138", "1:list:not_text"},
		{"not text at all", "\x81\x30\xff\xff\x00", "1:list:not_text"},
		{"invalid in gb18030 too", "\xff\xff\xff", "1:list:not_text"},
		{"control characters", "张\x07三,13800138000\n", "1:name:bad_characters"},
		{"long name", strings.Repeat("长", MaxName+1) + ",13800138000\n", "1:name:too_long:64"},
		{"several rows, in line order", "a,1\nb,13800138000\nc,2\n", "1:mobile:invalid_mobile 3:mobile:invalid_mobile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			as, err := ParseAttendees([]byte(tc.in))
			if as != nil {
				t.Fatalf("attendees returned with errors: %v", as)
			}
			if !errors.Is(err, field.ErrInvalid) || codes(err) != tc.want {
				t.Fatalf("got %s, want %s", codes(err), tc.want)
			}
		})
	}
	// A list longer than the limit is refused, and the errors are capped.
	_, err := ParseAttendees(attendeeList(MaxAttendees+1, 0))
	if codes(err) != fmt.Sprintf("%d:list:too_many_rows:%d", MaxAttendees+2, MaxAttendees) {
		t.Fatalf("too long: %s", codes(err))
	}
	var bad bytes.Buffer
	for i := 0; i < 300; i++ {
		bad.WriteString("x,1\n")
	}
	if es, _ := field.As(func() error { _, err := ParseAttendees(bad.Bytes()); return err }()); len(es) != maxListErrors {
		t.Fatalf("%d errors reported, want %d", len(es), maxListErrors)
	}
}

func FuzzParseAttendees(f *testing.F) {
	f.Add([]byte("name,mobile,company,title\n张三,13800138000,Acme,先生\n"))
	f.Add([]byte("张三\t13800138000\n李四 13900139000\n"))
	f.Add([]byte("\"a\"\"b\",1\n,,,,\n"))
	f.Add([]byte("Lucy Liu\t\t\tMs\n"))
	f.Add([]byte("姓名 Name\t手机/Mobile\n\"a\tb\"\t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		as, err := ParseAttendees(data)
		if err != nil {
			if !errors.Is(err, field.ErrInvalid) || as != nil {
				t.Fatalf("err %v with %d attendees", err, len(as))
			}
			return
		}
		seen := map[string]bool{}
		for _, a := range as {
			if a.Name == "" || (a.Mobile != "" && !mobileRE.MatchString(a.Mobile)) || !titles[a.Title] || a.Line < 1 {
				t.Fatalf("accepted a bad attendee: %+v", a)
			}
			if a.Mobile != "" && seen[a.Mobile] {
				t.Fatalf("accepted a mobile twice: %+v", a)
			}
			seen[a.Mobile] = true
		}
	})
}

// FuzzAttendeeColumns writes one attendee the way a spreadsheet or a CSV
// writer would — tab- or comma-separated, quoted where needed, columns in
// any order under a header, any cell empty — between two plain rows, and
// checks that whatever is read back sits in its own column: no cell ever
// moves into another, and the rows around it are untouched.
func FuzzAttendeeColumns(f *testing.F) {
	f.Add("Lucy Liu", "", "", "Ms", true, uint8(0))
	f.Add("张三", "13800138000", "Acme, Inc.", "", false, uint8(5))
	f.Add("a\"b", "", "x\ny", "先生", false, uint8(23))
	f.Fuzz(func(t *testing.T, name, mobile, company, title string, tab bool, order uint8) {
		for _, s := range []string{name, mobile, company, title} {
			if !utf8.ValidString(s) {
				return // then the list is read as GB18030, another test's matter
			}
		}
		cols := []string{"name", "mobile", "company", "title"}
		// The order-th permutation of the four columns.
		perm, n := make([]string, 0, 4), int(order)%24
		for rest := slices.Clone(cols); len(rest) > 0; {
			f := 1
			for i := 2; i < len(rest); i++ {
				f *= i
			}
			i := n / f
			n %= f
			perm, rest = append(perm, rest[i]), slices.Delete(rest, i, i+1)
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		if tab {
			w.Comma = '\t'
		}
		row := func(v map[string]string) {
			rec := make([]string, 4)
			for i, c := range perm {
				rec[i] = v[c]
			}
			w.Write(rec)
		}
		w.Write(perm)
		row(map[string]string{"name": "Zhao Wei", "mobile": "13800138000", "company": "", "title": "Mr"})
		row(map[string]string{"name": name, "mobile": mobile, "company": company, "title": title})
		row(map[string]string{"name": "Lucy Liu", "mobile": "", "company": "Acme", "title": ""})
		w.Flush()
		as, err := ParseAttendees(b.Bytes())
		if err != nil {
			return // the fuzzed row may well be bad; then nothing is read
		}
		if len(as) != 3 {
			// A fuzzed row of nothing but blanks is skipped.
			if len(as) == 2 && strings.TrimSpace(name+mobile+company+title) == "" {
				return
			}
			t.Fatalf("%d attendees from %q", len(as), b.String())
		}
		if a := as[0]; a.Name != "Zhao Wei" || a.Mobile != "13800138000" || a.Company != "" || a.Title != "Mr" {
			t.Fatalf("first row read as %+v", a)
		}
		if a := as[2]; a.Name != "Lucy Liu" || a.Mobile != "" || a.Company != "Acme" || a.Title != "" {
			t.Fatalf("last row read as %+v from %q", a, b.String())
		}
		trim := func(s string) string { return strings.Join(strings.Fields(s), " ") }
		if a := as[1]; a.Name != trim(name) || a.Mobile != NormalizeMobile(trim(mobile)) || a.Company != trim(company) || a.Title != trim(title) {
			t.Fatalf("row read as %+v from %q", a, b.String())
		}
	})
}

func TestCheckMeeting(t *testing.T) {
	now := confStart
	ok := MeetingInput{Name: "Summit", HostID: store.NewID(now), From: now.Add(time.Hour), Until: now.Add(5 * time.Hour)}
	tests := []struct {
		name string
		edit func(*MeetingInput)
		want string
	}{
		{"fine", func(*MeetingInput) {}, ""},
		{"begun already", func(in *MeetingInput) { in.From = now.Add(-time.Hour) }, ""},
		{"two days", func(in *MeetingInput) { in.Until = in.From.Add(48 * time.Hour) }, ""},
		{"no name", func(in *MeetingInput) { in.Name = "  " }, "0:name:required"},
		{"no host", func(in *MeetingInput) { in.HostID = "" }, "0:host_id:required"},
		{"inverted", func(in *MeetingInput) { in.Until = in.From }, "0:until:window_inverted"},
		{"too long", func(in *MeetingInput) { in.Until = in.From.Add(8 * 24 * time.Hour) }, "0:until:conference_too_long"},
		{"over", func(in *MeetingInput) { in.From, in.Until = now.Add(-3*time.Hour), now.Add(-time.Hour) }, "0:until:window_past"},
		{"too far ahead", func(in *MeetingInput) {
			in.From, in.Until = now.Add(100*24*time.Hour), now.Add(100*24*time.Hour+time.Hour)
		}, "0:from:window_too_far"},
		{"place too long", func(in *MeetingInput) { in.Place = strings.Repeat("x", MaxPlace+1) }, "0:place:too_long:64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := ok
			tc.edit(&in)
			es := CheckMeeting(&in, now)
			got := ""
			if len(es) > 0 {
				got = codes(es)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCreateMeetingNeedsAHost(t *testing.T) {
	f := newConfFixture(t, clock.NewFake(confStart))
	ctx := context.Background()
	in := MeetingInput{Name: "Summit", HostID: store.NewID(confStart), From: confStart.Add(time.Hour), Until: confStart.Add(2 * time.Hour)}
	if _, err := f.confs.Create(ctx, "account:desk", in); codes(err) != "0:host_id:not_a_host" {
		t.Fatalf("unknown host: %s", codes(err))
	}
	m := f.meeting(t)
	if m.CreatedBy != "account:desk" || m.Created != confStart.UnixNano() || m.CompanyID != f.host.CompanyID || m.Attendees != 0 {
		t.Fatalf("created %+v", m)
	}
	list, err := f.confs.List(10)
	if err != nil || len(list) != 1 || list[0].ID != m.ID {
		t.Fatalf("list = %v %v", list, err)
	}
	if _, err := f.confs.Get("nonsense"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get nonsense: %v", err)
	}
}

func TestRegisterIssuesPassesInOneStep(t *testing.T) {
	f := newConfFixture(t, clock.NewFake(confStart))
	ctx := context.Background()
	m := f.meeting(t)
	const n = 2*registerChunk + 201 // three chunks
	reg, err := f.confs.Register(ctx, "account:desk", m.ID, attendeeList(n, 0))
	if err != nil {
		t.Fatal(err)
	}
	if reg.Registered != n || reg.Flagged != 0 {
		t.Fatalf("registration = %+v", reg)
	}
	vs, err := f.confs.Attendees(m.ID)
	if err != nil || len(vs) != n {
		t.Fatalf("%d attendees, %v", len(vs), err)
	}
	passes := map[string]bool{}
	for i, v := range vs {
		if v.Visitor.Name != fmt.Sprintf("参会者%04d", i) {
			t.Fatalf("attendee %d is %q: list order lost", i, v.Visitor.Name)
		}
		if v.Mode != Conference || v.State != Approved || v.Conference != m.ID || v.HostID != f.host.ID ||
			v.From != m.From || v.Until != m.Until || v.PassID == "" || passes[v.PassID] || v.Visitor.MobileMasked != MaskMobile(fmt.Sprintf("137%08d", i)) {
			t.Fatalf("attendee %d = %+v", i, v)
		}
		passes[v.PassID] = true
		if len(v.History) != 1 || v.History[0].By != "account:desk" || v.History[0].State != Approved {
			t.Fatalf("history %+v", v.History)
		}
	}
	if mob, err := f.keys.Open(vs[7].Visitor.MobileSealed); err != nil || mob != "13700000007" {
		t.Fatalf("sealed mobile opens to %q %v", mob, err)
	}
	if m, _ = f.confs.Get(m.ID); m.Attendees != n {
		t.Fatalf("attendee count %d", m.Attendees)
	}
	// Attendees are visits like any other: on the day's list, and their
	// pass opens the gate during the meeting.
	day, err := f.visits.Day(confStart, time.UTC)
	if err != nil || len(day) != n {
		t.Fatalf("day list %d %v", len(day), err)
	}
	tok, err := f.visits.Token(vs[0])
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Set(confStart.Add(90 * time.Minute))
	if v, err := f.visits.CheckPass(tok, true); err != nil || v.ID != vs[0].ID {
		t.Fatalf("gate: %v", err)
	}
	// Nothing is left staged, and the audit chain holds.
	f.st.View(func(r *store.Reader) error {
		for _, k := range []store.Kind{store.KindConferenceStage, store.KindConferenceBatch} {
			r.Scan(store.Prefix(k), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
				t.Errorf("left over: %q", k)
				return true, nil
			})
		}
		if _, err := store.VerifyAudit(r); err != nil {
			t.Errorf("audit: %v", err)
		}
		return nil
	})
}

// written counts what a registration would have left in the store.
func (f *confFixture) written(t *testing.T, m Meeting) int {
	t.Helper()
	n := 0
	f.st.View(func(r *store.Reader) error {
		for _, k := range []store.Kind{store.KindVisit, store.KindConferenceVisit, store.KindConferenceStage, store.KindConferenceBatch, store.KindPass} {
			r.Scan(store.Prefix(k), store.ScanOptions{KeysOnly: true}, func([]byte, []byte) (bool, error) { n++; return true, nil })
		}
		return nil
	})
	if got, _ := f.confs.Get(m.ID); got.Attendees != 0 && n == 0 {
		t.Fatal("attendee count without attendees")
	}
	return n
}

func TestRegisterWritesNothingWhenARowIsBad(t *testing.T) {
	f := newConfFixture(t, clock.NewFake(confStart))
	ctx := context.Background()
	m := f.meeting(t)
	list := attendeeList(700, 0)
	list = append(list, "坏行,123\n"...) // line 702
	_, err := f.confs.Register(ctx, "account:desk", m.ID, list)
	if codes(err) != "702:mobile:invalid_mobile" {
		t.Fatalf("got %s", codes(err))
	}
	if n := f.written(t, m); n != 0 {
		t.Fatalf("%d records written for a refused list", n)
	}
}

// TestRegisterKeepsEmptyCellsInTheirColumns is item 14 of the issue "The
// lobby's day, to the last metre": a list pasted from a spreadsheet with
// empty cells registers every attendee with their own company, and an
// attendee without a mobile gets a pass (printed) and no mobile index.
func TestRegisterKeepsEmptyCellsInTheirColumns(t *testing.T) {
	f := newConfFixture(t, clock.NewFake(confStart))
	ctx := context.Background()
	m := f.meeting(t)
	list := "Zhao Wei\t13800138000\tAcme\tMr\nLucy Liu\t13900139001\t\tMs\n王芳\t\t某某公司\t女士\nLi Lei\t\t\t\n"
	reg, err := f.confs.Register(ctx, "account:desk", m.ID, []byte(list))
	if err != nil || reg.Registered != 4 {
		t.Fatalf("registered %+v, %v", reg, err)
	}
	vs, _ := f.confs.Attendees(m.ID)
	var got []string
	for _, v := range vs {
		got = append(got, v.Visitor.Name+"|"+v.Visitor.MobileMasked+"|"+v.Visitor.Company+"|"+v.Visitor.Title)
	}
	if want := "Zhao Wei|138****8000|Acme|Mr; Lucy Liu|139****9001||Ms; 王芳||某某公司|女士; Li Lei|||"; strings.Join(got, "; ") != want {
		t.Fatalf("got %s", strings.Join(got, "; "))
	}
	if vs[2].Visitor.MobileSealed != "" || vs[2].Visitor.MobileBlind != "" || vs[2].PassID == "" {
		t.Fatalf("attendee without a mobile: %+v", vs[2].Visitor)
	}
	// Two attendees without a mobile are not duplicates of each other, in
	// one list or across lists; a mobile given twice still is.
	if _, err := f.confs.Register(ctx, "account:desk", m.ID, []byte("Han Mei\t\tAcme\n")); err != nil {
		t.Fatalf("second list without mobiles: %v", err)
	}
	if _, err := f.confs.Register(ctx, "account:desk", m.ID, []byte("Someone\t13900139001\n")); codes(err) != "1:mobile:already_registered" {
		t.Fatalf("mobile registered twice: %s", codes(err))
	}
}

func TestRegisterRefusesAttendeesAlreadyRegistered(t *testing.T) {
	f := newConfFixture(t, clock.NewFake(confStart))
	ctx := context.Background()
	m := f.meeting(t)
	if _, err := f.confs.Register(ctx, "account:desk", m.ID, []byte("张三,13800138000\n")); err != nil {
		t.Fatal(err)
	}
	_, err := f.confs.Register(ctx, "account:desk", m.ID, []byte("李四,13900139000\n张三,138 0013 8000\n"))
	if codes(err) != "2:mobile:already_registered" {
		t.Fatalf("got %s", codes(err))
	}
	if vs, _ := f.confs.Attendees(m.ID); len(vs) != 1 {
		t.Fatalf("%d attendees", len(vs))
	}
	// Another conference may have the same person.
	other, err := f.confs.Create(ctx, "account:desk", MeetingInput{Name: "Other", HostID: f.host.ID, From: confStart.Add(time.Hour), Until: confStart.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.confs.Register(ctx, "account:desk", other.ID, []byte("张三,13800138000\n")); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterAfterTheMeetingIsRefused(t *testing.T) {
	f := newConfFixture(t, clock.NewFake(confStart))
	m := f.meeting(t)
	f.clk.Set(time.Unix(0, m.Until))
	if _, err := f.confs.Register(context.Background(), "account:desk", m.ID, []byte("张三,13800138000\n")); !errors.Is(err, ErrConferenceEnded) {
		t.Fatalf("got %v", err)
	}
	if _, err := f.confs.Register(context.Background(), "account:desk", "0000000000000000", []byte("张三,13800138000\n")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown conference: %v", err)
	}
}

func TestRegisterScreensAttendees(t *testing.T) {
	f := newConfFixture(t, clock.NewFake(confStart))
	ctx := context.Background()
	m := f.meeting(t)
	if _, err := f.screen.Add(ctx, "account:manager", screen.Input{List: screen.Black, Mobile: "13900139000", Reason: "banned"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.screen.Add(ctx, "account:manager", screen.Input{List: screen.Black, Name: "Li Si", Reason: "check ID"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.confs.Register(ctx, "account:desk", m.ID, []byte("张三,13800138000\n王五,13900139000\n"))
	if codes(err) != "2:mobile:screen_blocked" {
		t.Fatalf("blacklisted mobile: %s", codes(err))
	}
	if n := f.written(t, m); n != 0 {
		t.Fatalf("%d records written", n)
	}
	reg, err := f.confs.Register(ctx, "account:desk", m.ID, []byte("张三,13800138000\nli si,13700137000\n"))
	if err != nil || reg.Flagged != 1 {
		t.Fatalf("flagged name: %+v %v", reg, err)
	}
	vs, _ := f.confs.Attendees(m.ID)
	if len(vs) != 2 || vs[0].Flag != "" || vs[1].Flag != "check ID" {
		t.Fatalf("flags: %+v", vs)
	}
	hits, err := f.screen.Hits(10)
	if err != nil || len(hits) != 2 {
		t.Fatalf("hits %+v %v", hits, err)
	}
	// The blocked one of the refused list, and the flagged attendee,
	// pointing at the visit.
	if !hits[0].Blocked {
		hits[0], hits[1] = hits[1], hits[0]
	}
	if !hits[0].Blocked || hits[0].Where != "conference" || hits[1].Blocked || hits[1].VisitID != vs[1].ID {
		t.Fatalf("hits %+v", hits)
	}
}

// stage issues the stage commands of a list by hand, as Register would
// before a crash.
func (f *confFixture) stage(t *testing.T, m Meeting, list []byte) (string, int, int) {
	t.Helper()
	as, err := ParseAttendees(list)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := f.confs.build(context.Background(), m, as, f.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	batch := store.NewID(f.clk.Now())
	chunks := 0
	for start := 0; start < len(rows); start += registerChunk {
		p := confStagePayload{Batch: batch, Conference: m.ID, Seq: chunks, Rows: rows[start:min(start+registerChunk, len(rows))]}
		if err := f.confs.issue(context.Background(), CmdConferenceStage, "account:desk", p); err != nil {
			t.Fatal(err)
		}
		chunks++
	}
	return batch, chunks, len(rows)
}

func TestRecoverFinishesCommittedListsAndDropsTheRest(t *testing.T) {
	f := newConfFixture(t, clock.NewFake(confStart))
	ctx := context.Background()
	m := f.meeting(t)
	// A list committed, one chunk of three written, then the power went.
	batch, chunks, rows := f.stage(t, m, attendeeList(1100, 0))
	if err := f.confs.issue(ctx, CmdConferenceCommit, "account:desk", confBatch{Batch: batch, Conference: m.ID, Chunks: chunks, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	if err := f.confs.issue(ctx, CmdConferenceApply, "account:desk", confBatchPayload{Batch: batch, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	// While it is unfinished, another list waits.
	if _, err := f.confs.Register(ctx, "account:desk", m.ID, []byte("迟到者,13600136000\n")); !errors.Is(err, ErrRegistrationRunning) {
		t.Fatalf("second list during a running one: %v", err)
	}
	// A second list only staged.
	f.stage(t, m, attendeeList(10, 5000))
	if err := f.confs.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	vs, err := f.confs.Attendees(m.ID)
	if err != nil || len(vs) != 1100 {
		t.Fatalf("after recovery %d attendees, %v", len(vs), err)
	}
	f.st.View(func(r *store.Reader) error {
		for _, k := range []store.Kind{store.KindConferenceStage, store.KindConferenceBatch} {
			r.Scan(store.Prefix(k), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
				t.Errorf("left over after recovery: %q", k)
				return true, nil
			})
		}
		return nil
	})
	if m, _ = f.confs.Get(m.ID); m.Attendees != 1100 {
		t.Fatalf("count %d", m.Attendees)
	}
	// Recovering again does nothing.
	if err := f.confs.Recover(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestHandlersRefuseForgedCommands(t *testing.T) {
	f := newConfFixture(t, clock.NewFake(confStart))
	ctx := context.Background()
	m := f.meeting(t)
	batch, chunks, rows := f.stage(t, m, attendeeList(3, 0))
	tests := []struct {
		name    string
		typ     string
		payload any
	}{
		{"commit with the wrong count", CmdConferenceCommit, confBatch{Batch: batch, Conference: m.ID, Chunks: chunks, Rows: rows + 1}},
		{"commit of another conference", CmdConferenceCommit, confBatch{Batch: batch, Conference: "0000000000000000", Chunks: chunks, Rows: rows}},
		{"apply before commit", CmdConferenceApply, confBatchPayload{Batch: batch}},
		{"close before the end", CmdConferenceClose, confClosePayload{Conference: m.ID, Final: true}},
		{"stage garbage", CmdConferenceStage, map[string]any{"batch": "x"}},
		{"create garbage", CmdConferenceCreate, map[string]any{"id": "../x", "name": "n", "host_id": f.host.ID, "from": 1, "until": 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.confs.issue(ctx, tc.typ, "x", tc.payload); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	// A staged visit that is not what a conference visit must be.
	as, _ := ParseAttendees([]byte("张三,13800138000\n"))
	bad, _, _ := f.confs.build(ctx, m, as, f.clk.Now())
	bad[0].Visit.Until += int64(time.Hour)
	b2 := store.NewID(f.clk.Now())
	if err := f.confs.issue(ctx, CmdConferenceStage, "x", confStagePayload{Batch: b2, Conference: m.ID, Rows: bad}); err != nil {
		t.Fatal(err)
	}
	if err := f.confs.issue(ctx, CmdConferenceCommit, "x", confBatch{Batch: b2, Conference: m.ID, Chunks: 1, Rows: 1}); !errors.Is(err, field.ErrInvalid) {
		t.Fatalf("commit of a visit outside the window: %v", err)
	}
}

func TestCloseEndedClosesPassesAtTheMeetingsEnd(t *testing.T) {
	f := newConfFixture(t, clock.NewFake(confStart))
	ctx := context.Background()
	m := f.meeting(t)
	if _, err := f.confs.Register(ctx, "account:desk", m.ID, attendeeList(4, 0)); err != nil {
		t.Fatal(err)
	}
	vs, _ := f.confs.Attendees(m.ID)
	f.clk.Set(confStart.Add(2 * time.Hour))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.visits.Move(ctx, "device:lane1", vs[0].ID, EvEnter, ""))
	must(f.visits.Move(ctx, "device:lane1", vs[1].ID, EvEnter, ""))
	must(f.visits.Move(ctx, "device:lane1", vs[1].ID, EvExit, ""))
	must(f.visits.Move(ctx, "account:desk", vs[3].ID, EvCancel, "not coming"))
	tok, _ := f.visits.Token(vs[0])

	// Before the end nothing moves.
	if n, err := f.confs.CloseEnded(ctx, time.Unix(0, m.Until-1)); err != nil || n != 0 {
		t.Fatalf("before the end: %d %v", n, err)
	}
	end := time.Unix(0, m.Until)
	n, err := f.confs.CloseEnded(ctx, end)
	if err != nil || n != 3 {
		t.Fatalf("at the end: %d %v", n, err)
	}
	want := []State{Closed, Closed, NoShow, Cancelled}
	for i, v := range vs {
		got, _ := f.visits.Get(v.ID)
		if got.State != want[i] {
			t.Errorf("attendee %d: %s, want %s", i, got.State, want[i])
		}
		if i < 3 {
			last := got.History[len(got.History)-1]
			if last.At != end.UnixNano() || last.Note != "meeting ended" || last.By != "system:conference-end" {
				t.Errorf("attendee %d last step %+v", i, last)
			}
		}
	}
	if m, _ = f.confs.Get(m.ID); m.Closed != end.UnixNano() {
		t.Fatalf("conference not marked closed: %+v", m)
	}
	f.clk.Set(end.Add(-time.Minute)) // a pass scanned with the clock still inside the window
	if _, err := f.visits.CheckPass(tok, false); pass.ReasonOf(err) != pass.Revoked {
		t.Fatalf("pass after the end: %v", err)
	}
	// The sweep is done with it.
	if n, err := f.confs.CloseEnded(ctx, end.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("second sweep: %d %v", n, err)
	}
	// A closed conference takes no more attendees.
	if _, err := f.confs.Register(ctx, "account:desk", m.ID, []byte("迟到者,13600136000\n")); !errors.Is(err, ErrConferenceEnded) {
		t.Fatalf("register after close: %v", err)
	}
}

func TestCloseEndedHandlesBigConferencesAndEmptyOnes(t *testing.T) {
	f := newConfFixture(t, clock.NewFake(confStart))
	ctx := context.Background()
	big := f.meeting(t)
	empty := f.meeting(t)
	if _, err := f.confs.Register(ctx, "account:desk", big.ID, attendeeList(registerChunk+3, 0)); err != nil {
		t.Fatal(err)
	}
	n, err := f.confs.CloseEnded(ctx, time.Unix(0, big.Until))
	if err != nil || n != registerChunk+3 {
		t.Fatalf("closed %d %v", n, err)
	}
	for _, id := range []string{big.ID, empty.ID} {
		if m, _ := f.confs.Get(id); m.Closed == 0 {
			t.Fatalf("conference %s still open", id)
		}
	}
	vs, _ := f.confs.Attendees(big.ID)
	if slices.ContainsFunc(vs, func(v Visit) bool { return v.State != NoShow }) {
		t.Fatal("an attendee was left open")
	}
}
