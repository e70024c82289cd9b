package appliance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"reflect"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// TestPurgeKeepsEveryFigure: a year of visits of every kind, with photos,
// is purged under the default retention (names, mobiles and ID numbers
// after 180 days, photos after 30). The year's report and the people-flow
// dashboard are identical before and after, the purged visits keep nothing
// personal, the recent ones keep everything, the preview said what the
// purge did, and a second purge finds nothing.
func TestPurgeKeepsEveryFigure(t *testing.T) {
	a, clk := openTestApp(t)
	ctx := context.Background()
	host, _ := testHost(t, a)
	loc := a.Config.Location
	start := time.Date(2025, 12, 1, 0, 0, 0, 0, loc)
	clk.Set(start)
	var pic bytes.Buffer
	if err := jpeg.Encode(&pic, image.NewGray(image.Rect(0, 0, 32, 32)), nil); err != nil {
		t.Fatal(err)
	}
	type made struct {
		id, name, mobile string
		ended            time.Time
		photo            bool
	}
	var visits []made
	for day := range 365 {
		morning := start.AddDate(0, 0, day).Add(9 * time.Hour)
		clk.Set(morning.Add(-time.Hour))
		for k := range 3 {
			name := fmt.Sprintf("Visitor %d-%d", day, k)
			mobile := fmt.Sprintf("139%04d%04d", day, k)
			q := visit.Request{Name: name, Mobile: mobile, IDNumber: "11010519491231002X", HostID: host.ID, Reason: "Meeting",
				From: morning.Add(time.Duration(k) * time.Hour), Until: morning.Add(time.Duration(k+2) * time.Hour), PartySize: 1 + k%2}
			var v visit.Visit
			var err error
			switch k {
			case 0, 1:
				v, _, err = a.Visits.Invite(ctx, "host", q)
			case 2:
				q.IDNumber, q.IDLast6 = "", "12345X"
				v, _, err = a.Visits.Book(ctx, q)
			}
			if err != nil {
				t.Fatalf("day %d visit %d: %v", day, k, err)
			}
			photo := false
			switch {
			case k == 0: // comes and goes, with a photo at the desk
				if err := a.Visits.SetPhoto(ctx, "desk", v.ID, pic.Bytes()); err != nil {
					t.Fatal(err)
				}
				photo = true
				clk.Set(q.From.Add(5 * time.Minute))
				must(t, a.Visits.Move(ctx, "gate", v.ID, visit.EvEnter, ""))
				clk.Set(q.From.Add(time.Duration(30+day%60) * time.Minute))
				must(t, a.Visits.Move(ctx, "gate", v.ID, visit.EvExit, ""))
				must(t, a.Visits.Move(ctx, "desk", v.ID, visit.EvClose, ""))
			case k == 1 && day%4 == 0: // never came
				clk.Set(q.Until.Add(time.Minute))
				must(t, a.Visits.Move(ctx, "system", v.ID, visit.EvNoShow, ""))
			case k == 1:
				must(t, a.Visits.Move(ctx, "host", v.ID, visit.EvCancel, ""))
			case k == 2:
				_, err := a.Visits.Decide(ctx, "host", v.ID, "", day%3 == 0, "busy")
				must(t, err)
				if day%3 == 0 {
					must(t, a.Visits.Move(ctx, "desk", v.ID, visit.EvClose, ""))
				}
			}
			visits = append(visits, made{id: v.ID, name: name, mobile: mobile, ended: q.Until, photo: photo})
		}
	}
	end := start.AddDate(1, 0, 0)
	clk.Set(end.Add(6 * time.Hour))
	report := func() any {
		r, err := a.Reports.Report(start, end)
		if err != nil {
			t.Fatal(err)
		}
		r.Now = time.Time{}
		d, err := a.Reports.Dashboard()
		if err != nil {
			t.Fatal(err)
		}
		return []any{r, d}
	}
	before := report()
	preview, err := a.Visits.PurgePreview(a.Retention())
	if err != nil {
		t.Fatal(err)
	}
	done, err := a.Visits.Purge(ctx, "system:retention", a.Retention())
	if err != nil {
		t.Fatal(err)
	}
	if done != preview || done.Visits < 500 || done.Photos < 300 {
		t.Fatalf("purged %+v, preview said %+v", done, preview)
	}
	if after := report(); !reflect.DeepEqual(before, after) {
		t.Fatalf("the figures changed with the purge:\nbefore %+v\nafter  %+v", before, after)
	}
	now := clk.Now()
	personal, photos := a.Config.Retention()
	for _, m := range visits {
		v, err := a.Visits.Get(m.id)
		if err != nil {
			t.Fatal(err)
		}
		old := m.ended.Before(now.Add(-personal))
		switch {
		case old && (v.Visitor != visit.Visitor{Purged: v.Visitor.Purged} || v.Visitor.Purged == 0 || v.LinkSealed != ""):
			t.Fatalf("visit of %s (ended %s) keeps personal data: %+v", m.name, m.ended, v.Visitor)
		case !old && (v.Visitor.Name != m.name || v.Visitor.Purged != 0):
			t.Fatalf("visit of %s (ended %s) lost its data too early", m.name, m.ended)
		}
		if m.photo && m.ended.Before(now.Add(-photos)) {
			if _, err := a.Visits.Photo(m.id); err == nil || v.Photo {
				t.Fatalf("photo of %s (ended %s) kept", m.name, m.ended)
			}
		} else if m.photo {
			if _, err := a.Visits.Photo(m.id); err != nil {
				t.Fatalf("photo of %s (ended %s) gone too early: %v", m.name, m.ended, err)
			}
		}
		if hist, _, _ := a.Visits.VisitorHistory(m.mobile, 10); old && len(hist) != 0 {
			t.Fatalf("a purged visitor is still found by mobile: %s", m.mobile)
		}
	}
	if again, err := a.Visits.Purge(ctx, "system:retention", a.Retention()); err != nil || again != (visit.PurgeCount{}) {
		t.Fatalf("a second purge: %+v %v", again, err)
	}
	if n, err := a.VerifyAudit(); err != nil || n == 0 {
		t.Fatalf("audit after the purge: %d %v", n, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPersonPurgeKeepsEveryFigure: employees pass the gates with their
// cards and host visits for a month; one is deactivated, and 90 days later
// (the default) the purge removes their name, mobile and employee number,
// takes them out of every index and out of their card's holder name, while
// the month's report and the people-flow dashboard (where they are still
// counted inside, by company and floor) stay identical, and their gate
// history, card and visits still resolve. Someone deactivated recently
// keeps everything; someone deactivated before the time was recorded is
// stamped by the first run and purged 90 days after it.
func TestPersonPurgeKeepsEveryFigure(t *testing.T) {
	a, clk := openTestApp(t)
	ctx := context.Background()
	loc := a.Config.Location
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, loc)
	clk.Set(start)
	host, _ := testHost(t, a)
	zone, err := a.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby", Passback: access.PassbackHard})
	must(t, err)
	lane, err := a.Access.SaveLane(ctx, "t", access.Lane{Name: "Gate 1", ZoneID: zone.ID, Visitors: true, PulseMs: 800})
	must(t, err)
	group, err := a.Access.SaveGroup(ctx, "t", access.Group{Name: "Staff", ZoneIDs: []string{zone.ID}})
	must(t, err)
	people := map[string]directory.Person{}
	cards := map[string]string{}
	for i, name := range []string{"Leaver", "Recent", "Legacy"} {
		p, err := a.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: name, Mobile: fmt.Sprintf("1390000000%d", i),
			CompanyID: host.CompanyID, FloorID: host.FloorID, EmployeeNo: "E" + name, Position: "Clerk", CanHost: true})
		must(t, err)
		people[name] = p
		clk.Advance(time.Millisecond)
		c, err := a.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: fmt.Sprintf("0A0B0C%02X", i), HolderKind: access.HolderEmployee,
			HolderID: p.ID, HolderName: name, GroupIDs: []string{group.ID}})
		must(t, err)
		cards[name] = c.Number
	}
	pass := func(card string, in bool) {
		t.Helper()
		dir := gate.In
		if !in {
			dir = gate.Out
		}
		act, err := a.Access.Decide(ctx, gate.Presentation{Lane: lane.ID, Direction: dir, Kind: gate.Card, Value: card, Device: "test"})
		if err != nil || !act.Open {
			t.Fatalf("card %s at %s: %+v %v", card, clk.Now(), act, err)
		}
		clk.Advance(time.Second)
	}
	leaver := people["Leaver"]
	var hosted []string
	for day := range 30 {
		clk.Set(start.AddDate(0, 0, day).Add(8 * time.Hour))
		for _, name := range []string{"Leaver", "Recent", "Legacy"} {
			pass(cards[name], true)
		}
		clk.Set(start.AddDate(0, 0, day).Add(8 * time.Hour))
		from := start.AddDate(0, 0, day).Add(10 * time.Hour)
		v, _, err := a.Visits.Invite(ctx, "host", visit.Request{Name: fmt.Sprintf("Guest %d", day), Mobile: fmt.Sprintf("1370000%04d", day),
			HostID: leaver.ID, Reason: "Meeting", From: from, Until: from.Add(2 * time.Hour), PartySize: 1})
		must(t, err)
		hosted = append(hosted, v.ID)
		clk.Set(from.Add(5 * time.Minute))
		must(t, a.Visits.Move(ctx, "gate", v.ID, visit.EvEnter, ""))
		clk.Set(from.Add(time.Hour))
		must(t, a.Visits.Move(ctx, "gate", v.ID, visit.EvExit, ""))
		must(t, a.Visits.Move(ctx, "desk", v.ID, visit.EvClose, ""))
		clk.Set(start.AddDate(0, 0, day).Add(18 * time.Hour))
		for _, name := range []string{"Leaver", "Recent", "Legacy"} {
			if day < 29 || name != "Leaver" { // the leaver's last exit is never recorded: still counted inside
				pass(cards[name], false)
			}
		}
	}
	end := start.AddDate(0, 0, 30)
	clk.Set(end.Add(time.Hour))
	must(t, a.Directory.SetPersonActive(ctx, "admin", leaver.ID, false))
	// Deactivated before the time was recorded: as an older release left it.
	clk.Advance(time.Second)
	must(t, a.Directory.SetPersonActive(ctx, "admin", people["Legacy"].ID, false))
	a.Store.Register("test.unstamp", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var id string
		if err := cmd.Decode(&id); err != nil {
			return store.Effect{}, err
		}
		var p directory.Person
		if err := tx.GetJSON(store.Key(store.KindPerson, id), &p); err != nil {
			return store.Effect{}, err
		}
		p.Deactivated = 0
		return store.Effect{}, tx.SetJSON(store.Key(store.KindPerson, id), p)
	})
	clk.Advance(time.Second)
	if _, err := store.Issue(ctx, a.Store, "test.unstamp", "t", clk.Now(), people["Legacy"].ID); err != nil {
		t.Fatal(err)
	}
	now := end.Add(time.Hour).Add(a.Config.PersonRetention() + 24*time.Hour)
	clk.Set(now.Add(-30 * 24 * time.Hour))
	must(t, a.Directory.SetPersonActive(ctx, "admin", people["Recent"].ID, false))
	clk.Set(now)

	figures := func() any {
		r, err := a.Reports.Report(start, end)
		must(t, err)
		r.Now = time.Time{}
		d, err := a.Reports.Dashboard()
		must(t, err)
		return []any{r, d}
	}
	before := figures()
	preview, err := a.PurgePreview()
	must(t, err)
	if preview.People != 1 {
		t.Fatalf("the preview counts %d people, want 1 (the leaver; the legacy one is only stamped)", preview.People)
	}
	done, err := a.Purge(ctx, "system:retention")
	must(t, err)
	if done.People != preview.People || done.Stamped != 1 || done.Credentials != 1 {
		t.Fatalf("purged %+v, preview said %+v", done, preview)
	}
	if after := figures(); !reflect.DeepEqual(before, after) {
		t.Fatalf("the figures changed with the purge:\nbefore %+v\nafter  %+v", before, after)
	}

	p, err := a.Directory.Person(leaver.ID)
	must(t, err)
	if p.Purged == 0 || p.Name != "" || p.MobileSealed != "" || p.MobileBlind != "" || p.EmployeeNo != "" || p.Position != "" ||
		p.CompanyID != leaver.CompanyID || p.FloorID != leaver.FloorID || p.Kind != directory.Employee {
		t.Fatalf("the purged leaver: %+v", p)
	}
	if m, err := a.Directory.Mobile(p); err != nil || m != "" {
		t.Fatalf("mobile of a purged person: %q %v", m, err)
	}
	for _, q := range []directory.Query{{Text: "leaver", IncludeInactive: true}, {CompanyID: host.CompanyID, IncludeInactive: true},
		{FloorID: host.FloorID, IncludeInactive: true}, {Text: "eleaver", IncludeInactive: true}} {
		pg, err := a.Directory.Search(q)
		must(t, err)
		for _, x := range pg.People {
			if x.ID == leaver.ID {
				t.Fatalf("the purged leaver is still found by %+v", q)
			}
		}
	}
	if _, err := a.Directory.PersonByNumber("ELeaver"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("found by employee number: %v", err)
	}
	cred, err := a.Access.CredentialByCard(cards["Leaver"])
	must(t, err)
	if cred.HolderName != "" || cred.Purged != p.Purged || cred.HolderID != leaver.ID {
		t.Fatalf("the leaver's card after the purge: %+v", cred)
	}
	if hist, err := a.Access.HolderEvents(leaver.ID, 100); err != nil || len(hist) != 59 {
		t.Fatalf("gate history of the purged leaver: %d %v", len(hist), err)
	}
	for _, id := range hosted {
		if v, err := a.Visits.Get(id); err != nil || v.HostID != leaver.ID {
			t.Fatalf("visit hosted by the leaver: %+v %v", v, err)
		}
	}
	if err := a.Directory.SetPersonActive(ctx, "admin", leaver.ID, true); err == nil {
		t.Fatal("a purged person reactivated")
	}
	if _, err := a.Directory.SavePerson(ctx, "admin", directory.Person{ID: leaver.ID, Kind: directory.Employee, Name: "Back",
		Mobile: "13900000009", CompanyID: host.CompanyID, FloorID: host.FloorID, EmployeeNo: "EBack"}); err == nil {
		t.Fatal("a purged person edited back to life")
	}

	recent, err := a.Directory.Person(people["Recent"].ID)
	must(t, err)
	legacy, err := a.Directory.Person(people["Legacy"].ID)
	must(t, err)
	if recent.Name != "Recent" || recent.Purged != 0 || legacy.Name != "Legacy" || legacy.Purged != 0 || legacy.Deactivated != now.UnixNano() {
		t.Fatalf("purged too early: %+v %+v", recent, legacy)
	}
	if again, err := a.Purge(ctx, "system:retention"); err != nil || again != (PurgeCount{}) {
		t.Fatalf("a second purge: %+v %v", again, err)
	}
	clk.Set(now.Add(a.Config.PersonRetention() + time.Hour))
	if later, err := a.Purge(ctx, "system:retention"); err != nil || later.People != 2 {
		t.Fatalf("the legacy and recent people %s later: %+v %v", a.Config.PersonRetention(), later, err)
	}
	if n, err := a.VerifyAudit(); err != nil || n == 0 {
		t.Fatalf("audit after the purge: %d %v", n, err)
	}
	if rep, err := a.VerifyAuditDeep(); err != nil {
		t.Fatalf("deep audit after the purge: %+v %v", rep, err)
	}
}
