package appliance

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"reflect"
	"testing"
	"time"

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
