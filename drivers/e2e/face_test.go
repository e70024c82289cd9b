package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/drivers/isapi"
	"gatehouse/drivers/isapi/sim"
	"gatehouse/drivers/runner"
)

// faceRig is the lobby with a face terminal (the ISAPI simulator on
// loopback HTTP) at its own lane, the real runner syncing enrolments and
// taking the terminal's pushes through an HTTP server in front of
// Runner.FaceEvent, as the appliance's web server does (ui/isapi_events.go).
type faceRig struct {
	l      *lobby
	term   *sim.Terminal
	run    *runner.Runner
	lane   access.Lane
	group  access.Group
	events *httptest.Server
}

var fakeJPEG = []byte{0xFF, 0xD8, 0xFF, 0xE0, 'J', 'F', 'I', 'F', 0, 0xFF, 0xD9}

func newFaceRig(t testing.TB) *faceRig { return newFaceRigRate(t, 0) }

func newFaceRigRate(t testing.TB, rate float64) *faceRig {
	return newFaceRigWith(t, rate, device.FaceApplianceDecides, nil)
}

// newFaceRigWith is the rig with the terminal's mode (a terminal that
// decides opens by itself), and before run on the terminal before the
// appliance's runtime starts.
func newFaceRigWith(t testing.TB, rate float64, mode string, before func(*sim.Terminal)) *faceRig {
	t.Helper()
	ctx := context.Background()
	l := newLobby(t)
	f := &faceRig{l: l, term: sim.New(sim.Config{User: "admin", Password: "Face-2026", SelfOpen: mode == device.FaceTerminalDecides})}
	if before != nil {
		before(f.term)
	}
	tsrv := httptest.NewServer(f.term.Handler())
	t.Cleanup(tsrv.Close)
	// No anti-passback in the hall behind the face terminal: the
	// benchmark walks the same person in again and again.
	zone, err := l.app.Access.SaveZone(ctx, "setup", access.Zone{Name: "Hall"})
	if err != nil {
		t.Fatal(err)
	}
	if f.lane, err = l.app.Access.SaveLane(ctx, "setup", access.Lane{Name: "Face gate", ZoneID: zone.ID, PulseMs: 100}); err != nil {
		t.Fatal(err)
	}
	if f.group, err = l.app.Access.SaveGroup(ctx, "setup", access.Group{Name: "Hall", ZoneIDs: []string{zone.ID}}); err != nil {
		t.Fatal(err)
	}
	pw, err := l.app.Keys.Seal("Face-2026")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.app.Devices.Save(ctx, "setup", device.Device{Name: "Face 1", Port: tsrv.URL, Protocol: device.ISAPI,
		Role: device.EntryReader, LaneID: f.lane.ID, Address: "1", Enabled: true,
		Options: device.Options{User: "admin", Password: pw, Mode: mode}}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /isapi/events/{id}/{token}", func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 0, 4096)
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err != nil {
				break
			}
		}
		err := f.run.FaceEvent(r.Context(), r.PathValue("id"), r.PathValue("token"), r.Header.Get("Content-Type"), body)
		switch {
		case err == nil:
			w.WriteHeader(http.StatusOK)
		case errors.Is(err, device.ErrBadEvent):
			w.WriteHeader(http.StatusBadRequest)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	f.events = httptest.NewServer(mux)
	t.Cleanup(f.events.Close)
	f.run, err = runner.Start(ctx, runner.Config{Source: l.app.Devices, Decider: l.app.Access, Lanes: l.app.Access,
		Faces: l.app.Access, Secrets: l.app.Keys, EventBase: f.events.URL, FaceSync: 20 * time.Millisecond,
		FaceRate: rate, Clock: l.app.Clock, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.run.Close() })
	eventually(t, "the terminal told where to push", func() bool { return f.term.Host() != nil })
	return f
}

// enrol gives the host a face credential valid from nb to na (zero: open).
func (f *faceRig) enrol(t testing.TB, name string, nb, na time.Time) access.Credential {
	t.Helper()
	photo, err := f.l.app.Keys.Seal(string(fakeJPEG))
	if err != nil {
		t.Fatal(err)
	}
	c := access.Credential{HolderKind: access.HolderEmployee, HolderID: f.l.host.ID, HolderName: name, GroupIDs: []string{f.group.ID}}
	if !nb.IsZero() {
		c.NotBefore, c.NotAfter = nb.UnixNano(), na.UnixNano()
	}
	c, err = f.l.app.Access.EnrolFace(context.Background(), "desk", c, photo, f.l.app.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.run.SyncFaces()
	return c
}

func (f *faceRig) lastEvent(t testing.TB) access.Event {
	t.Helper()
	if err := f.l.app.Access.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, e := range f.l.events(t) {
		if e.Lane == f.lane.ID {
			return e
		}
	}
	t.Fatal("no event at the face gate")
	return access.Event{}
}

// A face recognised by the terminal is decided by the appliance: the
// enrolled person is granted and the terminal's door opens; an unknown
// number and an expired person are denied and the door stays shut; a
// garbled push is refused with 400; consent withdrawn removes the person
// from the terminal.
func TestFaceTerminalGrantAndDeny(t *testing.T) {
	f := newFaceRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	now := f.l.app.Clock.Now()
	host := f.enrol(t, "Host", time.Time{}, time.Time{})
	expired := f.enrol(t, "Gone", now.Add(-2*time.Hour), now.Add(-time.Hour))
	if err := f.term.WaitPerson(ctx, host.Number, true); err != nil {
		t.Fatal("host never enrolled on the terminal")
	}
	p := f.term.Persons()[host.Number]
	if p.User.Name != "Host" || p.User.UserType != "normal" || !p.User.Valid.Enable || string(p.Face) != string(fakeJPEG) {
		t.Fatalf("person on the terminal: %+v", p.User)
	}
	if _, on := f.term.Persons()[expired.Number]; on {
		t.Fatal("an expired face was pushed to the terminal")
	}

	if code, err := f.term.Recognise(ctx, host.Number); err != nil || code != http.StatusOK {
		t.Fatalf("push: %d %v", code, err)
	}
	if err := f.term.WaitOpens(ctx, 1); err != nil {
		t.Fatal("door not opened for the enrolled person")
	}
	if e := f.lastEvent(t); !e.Grant || e.Kind != 'f' || e.CredID != host.ID {
		t.Fatalf("grant event %+v", e)
	}

	for _, tc := range []struct {
		no   string
		want access.Reason
	}{{"UNKNOWN0001", access.Unknown}, {expired.Number, access.Expired}} {
		if code, err := f.term.Recognise(ctx, tc.no); err != nil || code != http.StatusOK {
			t.Fatalf("push: %d %v", code, err)
		}
		if e := f.lastEvent(t); e.Grant || e.Reason != tc.want {
			t.Fatalf("%s: event %+v, want denied %s", tc.no, e, tc.want)
		}
	}
	time.Sleep(50 * time.Millisecond) // an open would have been sent by now
	if n := len(f.term.Opens()); n != 1 {
		t.Fatalf("door opened %d times, want once", n)
	}

	// A garbled push: 400, counted, nothing decided.
	h := f.term.Host()
	resp, err := http.Post(f.events.URL+h.URL, "application/json", strings.NewReader(`{"eventType":`))
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("garbled push: %v %v", resp, err)
	}
	resp.Body.Close()
	// The wrong secret: 404.
	resp, err = http.Post(f.events.URL+h.URL[:strings.LastIndex(h.URL, "/")]+"/0000", "application/json", strings.NewReader(`{}`))
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("wrong token: %v %v", resp, err)
	}
	resp.Body.Close()
	var dev device.Device
	ds, _ := f.l.app.Devices.Devices()
	for _, d := range ds {
		if d.Protocol == device.ISAPI {
			dev = d
		}
	}
	if hl, _ := f.run.Health(dev.ID); hl.Errors == 0 || !hl.Online {
		t.Fatalf("health after a garbled push: %+v", hl)
	}

	// Consent withdrawn: the picture goes, the terminal forgets the person.
	if err := f.l.app.Access.WithdrawFace(ctx, "desk", host.ID); err != nil {
		t.Fatal(err)
	}
	f.run.SyncFaces()
	if err := f.term.WaitPerson(ctx, host.Number, false); err != nil {
		t.Fatal("withdrawn person still on the terminal")
	}
	c, _ := f.l.app.Access.Credential(host.ID)
	if c.Photo != "" || c.Consent != 0 || c.State != access.StateRevoked {
		t.Fatalf("withdrawn credential %+v", c)
	}
}

// A "terminal decides" site: the terminal opens by itself for a person it
// holds; the appliance records the passage (a granted event, the holder
// inside) and sends no RemoteControl.
func TestFaceTerminalDecidesByItself(t *testing.T) {
	f := newFaceRigWith(t, 0, device.FaceTerminalDecides, nil)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	host := f.enrol(t, "Host", time.Time{}, time.Time{})
	if err := f.term.WaitPerson(ctx, host.Number, true); err != nil {
		t.Fatal("host never enrolled on the terminal")
	}
	if code, err := f.term.Recognise(ctx, host.Number); err != nil || code != http.StatusOK {
		t.Fatalf("push: %d %v", code, err)
	}
	if err := f.term.WaitOpens(ctx, 1); err != nil {
		t.Fatal("the terminal did not open by itself")
	}
	if e := f.lastEvent(t); !e.Grant || e.Kind != 'f' || e.CredID != host.ID {
		t.Fatalf("the passage was not recorded as granted: %+v", e)
	}
	time.Sleep(50 * time.Millisecond) // an open would have been sent by now
	if n := f.term.Requests("/ISAPI/AccessControl/RemoteControl/door/1"); n != 0 || len(f.term.Opens()) != 1 {
		t.Fatalf("the appliance sent %d RemoteControl opens; the door opened %d times", n, len(f.term.Opens()))
	}
}

// At start the runtime reads every person the terminal holds and deletes
// those the appliance does not want: a person removed while the appliance
// was down (or typed in at the terminal) is gone, the ones it wants stay,
// over several pages of the search.
func TestFaceTerminalStartOfDayReconcile(t *testing.T) {
	fake := []byte{0xFF, 0xD8, 0xFF, 0xD9}
	f := newFaceRigWith(t, 0, device.FaceTerminalDecides, func(term *sim.Terminal) {
		for i := range 45 { // two pages of 30
			no := fmt.Sprintf("STALE%03d", i)
			term.Add(sim.Person{User: isapi.UserInfo{EmployeeNo: no, Name: "Left over", UserType: "normal", Valid: isapi.Valid{Enable: true}}, Face: fake})
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	host := f.enrol(t, "Host", time.Time{}, time.Time{})
	if err := f.term.WaitPerson(ctx, host.Number, true); err != nil {
		t.Fatal("host never enrolled on the terminal")
	}
	eventually(t, "the left-over persons deleted", func() bool { return len(f.term.Persons()) == 1 })
	if _, ok := f.term.Persons()[host.Number]; !ok {
		t.Fatal("the wanted person was deleted")
	}
	if n := f.term.Requests("/ISAPI/AccessControl/UserInfo/Search"); n < 2 {
		t.Fatalf("the search took %d requests, want the pages", n)
	}
	// Searched once per start: a later reconcile does not read again.
	n := f.term.Requests("/ISAPI/AccessControl/UserInfo/Search")
	f.run.SyncFaces()
	time.Sleep(100 * time.Millisecond)
	if m := f.term.Requests("/ISAPI/AccessControl/UserInfo/Search"); m != n {
		t.Fatalf("searched again: %d then %d", n, m)
	}
}

// BenchmarkFaceEventToGrant: the terminal pushes "face recognised", the
// appliance decides and sends RemoteControl open; timed until the
// terminal has the open. Loopback HTTP, digest authentication on the
// open, the decision's event written to the lobby's journal.
func BenchmarkFaceEventToGrant(b *testing.B) {
	f := newFaceRigRate(b, 1e6) // the terminal's rate limit is not what is measured
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	host := f.enrol(b, "Host", time.Time{}, time.Time{})
	if err := f.term.WaitPerson(ctx, host.Number, true); err != nil {
		b.Fatal(err)
	}
	// One round first: the digest challenge is learnt once per client.
	if _, err := f.term.Recognise(ctx, host.Number); err != nil {
		b.Fatal(err)
	}
	if err := f.term.WaitOpens(ctx, 1); err != nil {
		b.Fatal(err)
	}
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if code, err := f.term.Recognise(ctx, host.Number); err != nil || code != http.StatusOK {
			b.Fatal(code, err)
		}
		if err := f.term.WaitOpens(ctx, i+2); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	b.ReportMetric(float64(q(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms")
}
