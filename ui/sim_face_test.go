package ui

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/device"
	"gatehouse/drivers/runner"
)

// The demo page puts an enrolled person's face in front of a simulated
// face terminal: it lists the enrolled faces, the terminal pushes "face
// recognised", the appliance grants and the terminal's door opens.
func TestSimPageRecognisesAFace(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	z, _ := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	lane, err := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "Face gate", ZoneID: z.ID, PulseMs: 100})
	if err != nil {
		t.Fatal(err)
	}
	g, err := h.app.Access.SaveGroup(ctx, "t", access.Group{Name: "All", ZoneIDs: []string{z.ID}})
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := h.app.Keys.Seal("Demo-face")
	d, err := h.app.Devices.Save(ctx, "t", device.Device{Name: "Face 1", Port: "http://127.0.0.1", Protocol: device.ISAPI, Role: device.EntryReader,
		LaneID: lane.ID, Address: "1", Enabled: true, Options: device.Options{User: "admin", Password: pw}})
	if err != nil {
		t.Fatal(err)
	}
	bench, err := runner.NewBench(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bench.Close() })
	if d.Port, err = bench.StartFace(d, "Demo-face"); err != nil {
		t.Fatal(err)
	}
	if d, err = h.app.Devices.Save(ctx, "t", d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.app.Devices.AttachBench(bench))
	run, err := runner.Start(ctx, runner.Config{Source: h.app.Devices, Decider: h.app.Access, Lanes: h.app.Access, Faces: h.app.Access,
		Secrets: h.app.Keys, EventBase: h.ts.URL, FaceSync: time.Hour, Clock: h.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Close() })
	t.Cleanup(h.app.Devices.Attach(run))
	admin := h.session(auth.Admin)
	if page := readBody(t, h.do(req{method: "GET", path: "/admin/devices/sim", session: admin, header: map[string]string{"Accept-Language": "en"}})); !strings.Contains(page, "No face enrolled yet") {
		t.Fatal("the demo page does not say no face is enrolled")
	}

	photo, _ := h.app.Keys.Seal(string([]byte{0xFF, 0xD8, 0xFF, 0xD9}))
	c, err := h.app.Access.EnrolFace(ctx, "t", access.Credential{HolderKind: access.HolderEmployee, HolderID: h.ids["{person}"], HolderName: "Wang",
		GroupIDs: []string{g.ID}}, photo, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.app.Devices.SyncFaces()
	term := bench.FaceTerminal(d)
	if err := term.WaitPerson(ctx, c.Number, true); err != nil {
		t.Fatal("the simulated terminal never received the face")
	}
	page := readBody(t, h.do(req{method: "GET", path: "/admin/devices/sim", session: admin}))
	if !strings.Contains(page, `id="recognise-`+d.ID+`"`) || !strings.Contains(page, `value="`+c.Number+`"`) {
		t.Fatal("the demo page offers no face to recognise")
	}
	resp := h.do(req{method: "POST", path: "/admin/devices/sim/face", session: admin, form: url.Values{"device": {d.ID}, "number": {c.Number}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("recognise: %d", resp.StatusCode)
	}
	if err := term.WaitOpens(ctx, 1); err != nil {
		t.Fatal("the terminal's door did not open")
	}
	// A number too long: refused on the page.
	resp = h.do(req{method: "POST", path: "/admin/devices/sim/face", session: admin, form: url.Values{"device": {d.ID}, "number": {strings.Repeat("9", 40)}}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a bad number: %d", resp.StatusCode)
	}
}
