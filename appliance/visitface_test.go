package appliance

import (
	"context"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/visit"
)

var testJPEG = []byte{0xFF, 0xD8, 0xFF, 0xE0, 'J', 'F', 'I', 'F', 0, 0xFF, 0xD9}

// A walk-in's face, enrolled with consent for the visit's window, is
// decided as the visit's pass (the visitor lanes only), is held by the
// terminals while the pass is usable, says so on the visit's history, and
// goes with the visit: the picture at the first retention purge after the
// window, the name with the visit's personal data.
func TestVisitorFaceGoesWithTheVisit(t *testing.T) {
	a, clk := openTestApp(t)
	ctx := context.Background()
	host, _ := testHost(t, a)
	z, err := a.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	must(t, err)
	turnstile, err := a.Access.SaveLane(ctx, "t", access.Lane{Name: "Turnstile", ZoneID: z.ID, Visitors: true, PulseMs: 300})
	must(t, err)
	staffDoor, err := a.Access.SaveLane(ctx, "t", access.Lane{Name: "Staff door", ZoneID: z.ID, PulseMs: 300})
	must(t, err)
	now := clk.Now()
	v, _, err := a.Visits.WalkIn(ctx, "account:desk", visit.Request{Name: "王芳", Mobile: "13900139000", HostID: host.ID,
		Reason: "Meeting", From: now, Until: now.Add(2 * time.Hour)})
	must(t, err)
	photo, err := a.Keys.Seal(string(testJPEG))
	must(t, err)
	from, until := v.Window()
	c, err := a.Access.EnrolFace(ctx, "account:desk", access.Credential{HolderKind: access.HolderVisitor, HolderID: v.ID,
		HolderName: v.Visitor.Name, NotBefore: from.UnixNano(), NotAfter: until.UnixNano()}, photo, now)
	must(t, err)

	face := func(lane string) gate.Action {
		t.Helper()
		act, err := a.Access.Decide(ctx, gate.Presentation{Lane: lane, Direction: gate.In, Kind: gate.Face, Value: c.Number, Device: "face"})
		must(t, err)
		return act
	}
	if act := face(staffDoor.ID); act.Open || act.Reason != string(access.NoPermission) {
		t.Fatalf("the visitor's face at a staff door: %+v", act)
	}
	if act := face(turnstile.ID); !act.Open {
		t.Fatalf("the visitor's face at the turnstile: %+v", act)
	}
	must(t, a.Access.Flush(ctx))
	got, err := a.Visits.Get(v.ID)
	must(t, err)
	if got.State != visit.In {
		t.Fatalf("the visit after the face's entry: %s", got.State)
	}
	noted := false
	for _, h := range got.History {
		noted = noted || strings.Contains(h.Note, "consent")
	}
	if !noted {
		t.Fatalf("the consent is not on the visit's history: %+v", got.History)
	}
	if es, err := a.Access.FaceEnrolments(); err != nil || len(es) != 1 || !es[0].Visitor || es[0].Number != c.Number {
		t.Fatalf("enrolments while the visit runs: %+v %v", es, err)
	}
	if f, err := a.Access.FaceOf(v.ID); err != nil || f.ID != c.ID {
		t.Fatalf("FaceOf the visit: %+v %v", f, err)
	}

	// Checked out before the window ends: off the terminals at once.
	must(t, a.Visits.Move(ctx, "account:desk", v.ID, visit.EvClose, ""))
	if es, err := a.Access.FaceEnrolments(); err != nil || len(es) != 0 {
		t.Fatalf("enrolments after the check-out: %+v %v", es, err)
	}

	// The nightly purge after the window: the picture goes.
	clk.Advance(3 * time.Hour)
	n, err := a.Purge(ctx, "system:retention")
	must(t, err)
	if n.Photos < 1 {
		t.Fatalf("purge after the window: %+v", n)
	}
	c2, err := a.Access.Credential(c.ID)
	must(t, err)
	if c2.Photo != "" || c2.Consent != 0 || c2.State != access.StateRevoked {
		t.Fatalf("the face after the visit's window: %+v", c2)
	}
	if c2.HolderName == "" {
		t.Fatal("the name went before the visit's personal data")
	}

	// The visit's personal data purged: the name on the credential goes too.
	personal, _ := a.Config.Retention()
	clk.Advance(personal + 48*time.Hour)
	n, err = a.Purge(ctx, "system:retention")
	must(t, err)
	if n.Visits < 1 || n.Credentials < 1 {
		t.Fatalf("purge after the retention: %+v", n)
	}
	c3, err := a.Access.Credential(c.ID)
	must(t, err)
	if c3.HolderName != "" || c3.Purged == 0 {
		t.Fatalf("the face credential keeps the visitor's name: %+v", c3)
	}
}
