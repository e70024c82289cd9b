package visit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

func TestStateMachine(t *testing.T) {
	all := []State{Requested, Approved, Rejected, Cancelled, In, Out, Closed, NoShow}
	allowed := map[State]map[Event]State{
		Requested: {EvApprove: Approved, EvReject: Rejected, EvCancel: Cancelled},
		Approved:  {EvEnter: In, EvCancel: Cancelled, EvClose: Closed, EvNoShow: NoShow},
		In:        {EvExit: Out, EvClose: Closed},
		Out:       {EvEnter: In, EvClose: Closed},
	}
	for _, s := range all {
		for _, ev := range []Event{EvApprove, EvReject, EvCancel, EvEnter, EvExit, EvClose, EvNoShow} {
			got, err := Next(s, ev)
			want, ok := allowed[s][ev]
			switch {
			case ok && (err != nil || got != want):
				t.Errorf("%s --%s--> %s, %v; want %s", s, ev, got, err, want)
			case !ok && !errors.Is(err, ErrTransition):
				t.Errorf("%s --%s--> %s allowed; want refused", s, ev, got)
			}
		}
	}
}

type fixture struct {
	st   *store.Store
	svc  *Service
	clk  *clock.Fake
	host directory.Person
	keys *secret.Keys
	dir  *directory.Service
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	directory.Register(st)
	Register(st)
	clk := clock.NewFake(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	keys, _ := secret.FromMaster(bytes.Repeat([]byte{9}, 32))
	dir := directory.New(st, clk, keys)
	ctx := context.Background()
	f, _ := dir.SaveFloor(ctx, "t", directory.Floor{Name: "5F", Level: 5})
	co, _ := dir.SaveCompany(ctx, "t", directory.Company{Name: "Acme", FloorIDs: []string{f.ID}})
	host, err := dir.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "Host", Mobile: "13900139000", CompanyID: co.ID, FloorID: f.ID, EmployeeNo: "H1", CanHost: true})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, svc: New(st, clk, keys), clk: clk, host: host, keys: keys, dir: dir}
}

func (f *fixture) request() Request {
	now := f.clk.Now()
	return Request{Name: "访客 Zhao", Title: "先生", Mobile: "138 0013 8000", IDLast6: "12345x", HostID: f.host.ID,
		Reason: "Meeting", From: now.Add(time.Hour), Until: now.Add(3 * time.Hour)}
}

func TestPreBookedVisitEndToEnd(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v, link, err := f.svc.Book(ctx, f.request())
	if err != nil {
		t.Fatal(err)
	}
	if v.State != Requested || v.Visitor.MobileMasked != "138****8000" {
		t.Fatalf("booked = %+v", v)
	}
	got, err := f.svc.ByLink(link)
	if err != nil || got.ID != v.ID {
		t.Fatalf("status link: %v", err)
	}
	if _, err := f.svc.ByLink(strings.Repeat("x", LinkTokenLen)); !errors.Is(err, ErrNotFound) {
		t.Fatal("a made-up link found a visit")
	}
	// Only the visit's own host decides.
	if _, err := f.svc.Decide(ctx, "account:x", v.ID, store.NewID(time.Now()), true, ""); !errors.Is(err, ErrNotHost) {
		t.Fatalf("another host approved: %v", err)
	}
	v, err = f.svc.Decide(ctx, "account:host", v.ID, f.host.ID, true, "")
	if err != nil || v.State != Approved || v.PassID == "" {
		t.Fatalf("approve = %+v %v", v, err)
	}
	tok, err := f.svc.Token(v)
	if err != nil {
		t.Fatal(err)
	}
	// Before the window, the pass is not yet valid.
	if _, err := f.svc.CheckPass(tok, true); pass.ReasonOf(err) != pass.NotYetValid {
		t.Fatalf("early scan: %v", err)
	}
	f.clk.Advance(time.Hour + time.Minute)
	if _, err := f.svc.CheckPass(tok, false); pass.ReasonOf(err) != pass.Replayed {
		t.Fatalf("exit before entry: %v", err)
	}
	if _, err := f.svc.CheckPass(tok, true); err != nil {
		t.Fatalf("entry scan: %v", err)
	}
	if err := f.svc.Move(ctx, "device:lane1", v.ID, EvEnter, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CheckPass(tok, true); pass.ReasonOf(err) != pass.Replayed {
		t.Fatalf("second entry: %v", err)
	}
	f.clk.Advance(time.Hour)
	if err := f.svc.Move(ctx, "device:lane1", v.ID, EvExit, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Move(ctx, "account:host", v.ID, EvClose, "meeting over"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CheckPass(tok, true); pass.ReasonOf(err) != pass.Revoked {
		t.Fatalf("scan after close: %v", err)
	}
	v, _ = f.svc.Get(v.ID)
	states := []string{}
	for _, h := range v.History {
		states = append(states, string(h.State))
	}
	if strings.Join(states, ",") != "requested,approved,in,out,closed" || v.FirstIn == 0 || v.LastOut == 0 {
		t.Fatalf("history = %v, in %d out %d", states, v.FirstIn, v.LastOut)
	}
	day, err := f.svc.Day(f.clk.Now(), time.UTC)
	if err != nil || len(day) != 1 {
		t.Fatalf("today = %d %v", len(day), err)
	}
	hv, _ := f.svc.ForHost(f.host.ID, 10)
	if len(hv) != 1 {
		t.Fatalf("host's visits = %d", len(hv))
	}
}

func TestRejectNeedsReasonAndRevokes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v, _, err := f.svc.Book(ctx, f.request())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Decide(ctx, "h", v.ID, f.host.ID, false, " "); !errors.Is(err, field.ErrInvalid) {
		t.Fatalf("reject without reason: %v", err)
	}
	v, err = f.svc.Decide(ctx, "h", v.ID, f.host.ID, false, "I am away")
	if err != nil || v.State != Rejected || v.RejectReason != "I am away" {
		t.Fatalf("reject = %+v %v", v, err)
	}
	if _, err := f.svc.Decide(ctx, "h", v.ID, f.host.ID, true, ""); !errors.Is(err, ErrTransition) {
		t.Fatalf("approve after reject: %v", err)
	}
}

func TestBookingValidation(t *testing.T) {
	f := newFixture(t)
	now := f.clk.Now()
	tests := []struct {
		name string
		edit func(*Request)
		want string
	}{
		{"no name", func(q *Request) { q.Name = "" }, "name:required"},
		{"bad mobile", func(q *Request) { q.Mobile = "12" }, "mobile:invalid_mobile"},
		{"no id digits", func(q *Request) { q.IDLast6 = "" }, "id_last6:required"},
		{"bad id digits", func(q *Request) { q.IDLast6 = "12a456" }, "id_last6:invalid_id_last6"},
		{"no host", func(q *Request) { q.HostID = "" }, "host_id:required"},
		{"inverted", func(q *Request) { q.Until = q.From.Add(-time.Minute) }, "until:window_inverted"},
		{"too long", func(q *Request) { q.Until = q.From.Add(25 * time.Hour) }, "until:window_too_long"},
		{"past", func(q *Request) { q.From, q.Until = now.Add(-3*time.Hour), now.Add(-time.Hour) }, "from:window_past"},
		{"too far", func(q *Request) { q.From, q.Until = now.AddDate(0, 4, 0), now.AddDate(0, 4, 0).Add(time.Hour) }, "from:window_too_far"},
		{"party", func(q *Request) { q.PartySize = 51 }, "party_size:out_of_range"},
		{"title", func(q *Request) { q.Title = "Lord" }, "title:invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := f.request()
			tc.edit(&q)
			_, _, err := f.svc.Book(context.Background(), q)
			es, _ := field.As(err)
			if len(es) == 0 || es[0].Field+":"+es[0].Code != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
	// A host who may not receive visitors is refused by the handler.
	q := f.request()
	q.HostID = store.NewID(time.Now())
	if _, _, err := f.svc.Book(context.Background(), q); !strings.Contains(err.Error(), "not_a_host") {
		t.Fatalf("unknown host: %v", err)
	}
}

// TestPersonalDataNeverStoredInClear scans every byte Badger holds after a
// booking, with an employee (the host), a member of property staff and an
// imported employee in the directory: no mobile or ID digits may appear
// anywhere, nor in the import's staged rows while it is being written.
func TestPersonalDataNeverStoredInClear(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v, _, err := f.svc.Book(ctx, f.request())
	if err != nil {
		t.Fatal(err)
	}
	staff, err := f.dir.SavePerson(ctx, "t", directory.Person{Kind: directory.Staff, Name: "Guard", Mobile: "13600136000"})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{
		"13800138000", "12345X", "8001380", // the visitor
		"13900139000", "9001390", // the host, an employee
		"13600136000", "6001360", // property staff
		"13500135000", "5001350", // an imported employee
	}
	staged := false
	csv := directory.CSVHeader + "\nImported,135 0013 5000,Acme,5F,I1,,yes\n"
	if _, err := f.dir.ImportEmployeesCSV(ctx, "t", []byte(csv), func(p directory.Progress) {
		if p.Phase == "staging" {
			staged = true
			noClearBytes(t, f.st, "while staging an import", secrets)
		}
	}); err != nil || !staged {
		t.Fatalf("import: %v (staged: %v)", err, staged)
	}
	noClearBytes(t, f.st, "", secrets)
	if m, err := f.svc.Mobile(v); err != nil || m != "13800138000" {
		t.Fatalf("unsealed mobile = %q %v", m, err)
	}
	for id, want := range map[string]string{f.host.ID: "13900139000", staff.ID: "13600136000"} {
		p, err := f.dir.Person(id)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := f.dir.Mobile(p); err != nil || m != want {
			t.Errorf("unsealed mobile of %s = %q %v, want %s", p.Name, m, err, want)
		}
	}
}

// noClearBytes fails t if any key or value in st holds one of secrets.
func noClearBytes(t *testing.T, st *store.Store, when string, secrets []string) {
	t.Helper()
	_ = st.View(func(r *store.Reader) error {
		for k := 0; k < 256; k++ {
			_ = r.Scan([]byte{byte(k)}, store.ScanOptions{}, func(key, val []byte) (bool, error) {
				for _, secretText := range secrets {
					if bytes.Contains(key, []byte(secretText)) || bytes.Contains(val, []byte(secretText)) {
						t.Errorf("%q stored in clear under key %x %s", secretText, key, when)
					}
				}
				return true, nil
			})
		}
		return nil
	})
}

func TestInviteIsApprovedWithPassAndCountsVisits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		v, _, err := f.svc.Invite(ctx, "account:host", f.request())
		if err != nil || v.State != Approved || v.PassID == "" {
			t.Fatalf("invite = %+v %v", v, err)
		}
	}
	_ = f.st.View(func(r *store.Reader) error {
		n, err := VisitCount(r, f.keys.Blind("mobile", "13800138000"))
		if err != nil || n != 2 {
			t.Errorf("visit count = %d %v", n, err)
		}
		vs, err := InState(r, Approved, f.clk.Now().Add(24*time.Hour), 0)
		if err != nil || len(vs) != 2 {
			t.Errorf("approved = %d %v", len(vs), err)
		}
		return nil
	})
}

func TestWalkInWithBadge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	q := f.request()
	q.IDLast6, q.IDNumber, q.Badge = "", "E12345678", "T-07"
	q.From = f.clk.Now()
	v, _, err := f.svc.WalkIn(ctx, "account:desk", q)
	if err != nil || v.Mode != WalkIn || v.State != Approved || v.Badge != "T-07" || v.Visitor.IDFullBlind == "" {
		t.Fatalf("walk-in = %+v %v", v, err)
	}
	if id, _ := f.keys.Open(v.Visitor.IDSealed); id != "E12345678" {
		t.Fatalf("sealed document number = %q", id)
	}
	out, _ := f.svc.UnreturnedBadges(f.clk.Now(), time.UTC)
	if len(out) != 1 {
		t.Fatalf("unreturned = %d", len(out))
	}
	if err := f.svc.ReturnBadge(ctx, "account:desk", v.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ReturnBadge(ctx, "account:desk", v.ID); !errors.Is(err, ErrTransition) {
		t.Fatalf("second return: %v", err)
	}
	out, _ = f.svc.UnreturnedBadges(f.clk.Now(), time.UTC)
	if len(out) != 0 {
		t.Fatalf("unreturned after return = %d", len(out))
	}
	q.IDNumber = "bad id!"
	if _, _, err := f.svc.WalkIn(ctx, "account:desk", q); !strings.Contains(fmt.Sprint(err), "invalid_id_no") {
		t.Fatalf("bad document number: %v", err)
	}
}

func TestRecordsSearchAndVisitorHistory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i, name := range []string{"Alpha Li", "Beta Wu", "Gamma Li"} {
		q := f.request()
		q.Name = name
		q.From = f.clk.Now().Add(time.Duration(i+1) * time.Hour)
		q.Until = q.From.Add(time.Hour)
		if i == 2 {
			q.Mobile = "13900139999"
		}
		if _, _, err := f.svc.Invite(ctx, "h", q); err != nil {
			t.Fatal(err)
		}
	}
	day := f.clk.Now().Truncate(24 * time.Hour)
	p, err := f.svc.Search(Query{From: day, To: day.Add(24 * time.Hour), Name: "li"})
	if err != nil || p.Total != 2 || p.Visits[0].Visitor.Name != "Alpha Li" {
		t.Fatalf("search = %+v %v", p, err)
	}
	p, _ = f.svc.Search(Query{From: day, To: day.Add(24 * time.Hour), Offset: 2, Limit: 5})
	if p.Total != 3 || len(p.Visits) != 1 {
		t.Fatalf("paged = %d of %d", len(p.Visits), p.Total)
	}
	p, _ = f.svc.Search(Query{From: day.Add(24 * time.Hour), To: day.Add(48 * time.Hour)})
	if p.Total != 0 {
		t.Fatalf("tomorrow = %d", p.Total)
	}
	vs, n, err := f.svc.VisitorHistory("138-0013-8000", 10)
	if err != nil || n != 2 || len(vs) != 2 || vs[0].Visitor.Name != "Beta Wu" {
		t.Fatalf("history = %d %d %v", len(vs), n, err)
	}
}

func TestVisitorPhotoSealed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v, _, err := f.svc.Invite(ctx, "h", f.request())
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetPhoto(ctx, "desk", v.ID, []byte("GIF89a not a jpeg")); err == nil {
		t.Fatal("non-JPEG accepted")
	}
	if err := f.svc.SetPhoto(ctx, "desk", v.ID, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Photo(v.ID)
	if err != nil || !bytes.Equal(got, buf.Bytes()) {
		t.Fatalf("photo back: %d bytes, %v", len(got), err)
	}
	_ = f.st.View(func(r *store.Reader) error {
		raw, _ := r.Get(store.Key(store.KindVisitPhoto, v.ID))
		if bytes.Contains(raw, buf.Bytes()[:16]) {
			t.Error("photo stored in clear")
		}
		return nil
	})
	if v, _ := f.svc.Get(v.ID); !v.Photo {
		t.Fatal("visit does not know it has a photo")
	}
}
