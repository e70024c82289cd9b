package ui

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/device"
	"gatehouse/drivers/isapi/sim"
	"gatehouse/drivers/runner"
)

// The desk registers a walk-in with a photo and the visitor's consent:
// the face is enrolled for the visit's window, the face terminal (the
// ISAPI simulator on loopback, configured from the device page, pushing to
// the appliance's real router) receives the person, recognises them, the
// appliance grants and the terminal's door opens. The desk then records
// the visitor withdrawing consent and the terminal forgets them. Consent
// without a photo is a field error.
func TestWalkInFaceOpensTheFaceGate(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	z, err := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	if err != nil {
		t.Fatal(err)
	}
	lane, err := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "Face gate", ZoneID: z.ID, Visitors: true, PulseMs: 100})
	if err != nil {
		t.Fatal(err)
	}
	term := sim.New(sim.Config{User: "admin", Password: "Face-2026"})
	ts := httptest.NewServer(term.Handler())
	t.Cleanup(ts.Close)
	admin, desk := h.session(auth.Admin), h.session(auth.Reception)
	if resp := h.do(req{method: "POST", path: "/admin/devices", session: admin, form: url.Values{"name": {"Face 1"}, "protocol": {"isapi"},
		"role": {"entry_reader"}, "lane_id": {lane.ID}, "port": {ts.URL}, "address": {"1"}, "user": {"admin"}, "password": {"Face-2026"},
		"enabled": {"1"}}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("configuring the terminal: %d", resp.StatusCode)
	}
	run, err := runner.Start(ctx, runner.Config{Source: h.app.Devices, Decider: h.app.Access, Lanes: h.app.Access, Faces: h.app.Access,
		Secrets: h.app.Keys, EventBase: h.ts.URL, FaceSync: time.Hour, Clock: h.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Close() })
	t.Cleanup(h.app.Devices.Attach(run))
	waitFor(t, "the terminal told where to push", func() bool { return term.Host() != nil })

	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 40, 30)), nil); err != nil {
		t.Fatal(err)
	}
	photo := "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
	form := url.Values{"name": {"Li Na"}, "mobile": {"13700137009"}, "host_id": {h.ids["{person}"]}, "reason": {"Meeting"},
		"until": {"23:30"}, "face_consent": {"1"}}
	resp := h.do(req{method: "POST", path: "/desk/walkin", form: form, session: desk, header: map[string]string{"Accept-Language": "en"}})
	if b := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b, "Take the visitor") {
		t.Fatalf("consent without a photo: %d", resp.StatusCode)
	}
	form.Set("photo", photo)
	if resp := h.do(req{method: "POST", path: "/desk/walkin", form: form, session: desk}); resp.StatusCode != http.StatusOK {
		t.Fatalf("walk-in with face: %d", resp.StatusCode)
	}
	es, err := h.app.Access.FaceEnrolments()
	if err != nil || len(es) != 1 || !es[0].Visitor || !bytes.Equal(es[0].Photo, buf.Bytes()) {
		t.Fatalf("enrolments after the walk-in: %d %v", len(es), err)
	}
	no := es[0].Number
	face, err := h.app.Access.Credential(no)
	if err != nil {
		t.Fatal(err)
	}
	v, err := h.app.Visits.Get(face.HolderID)
	if err != nil {
		t.Fatal(err)
	}
	if from, until := v.Window(); face.NotBefore != from.UnixNano() || face.NotAfter != until.UnixNano() || face.Consent != h.clock.Now().UnixNano() {
		t.Fatalf("the face's window or consent: %+v", face)
	}
	if err := term.WaitPerson(ctx, no, true); err != nil {
		t.Fatal("the terminal never received the visitor")
	}
	if p := term.Persons()[no]; p.User.UserType != "visitor" || p.User.Name != "Li Na" {
		t.Fatalf("person on the terminal: %+v", p.User)
	}

	if code, err := term.Recognise(ctx, no); err != nil || code != http.StatusOK {
		t.Fatalf("the terminal's push: %d %v", code, err)
	}
	if err := term.WaitOpens(ctx, 1); err != nil {
		t.Fatal("the terminal's door did not open for the visitor")
	}
	if err := h.app.Access.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := h.app.Visits.Get(v.ID); v.State != "in" {
		t.Fatalf("the visit after the face's entry: %s", v.State)
	}

	page := readBody(t, h.do(req{method: "GET", path: "/desk/visits/" + v.ID, session: desk, header: map[string]string{"Accept-Language": "en"}}))
	if !strings.Contains(page, `id="face-consent"`) || !strings.Contains(page, "face enrolled for the gates with the visitor") {
		t.Fatal("the visit's page does not show the face's consent on the page and in its history")
	}
	if resp := h.do(req{method: "POST", path: "/desk/visits/" + v.ID + "/face/withdraw", session: desk}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("withdrawing: %d", resp.StatusCode)
	}
	if err := term.WaitPerson(ctx, no, false); err != nil {
		t.Fatal("the terminal still holds the visitor after the withdrawal")
	}
	if c, _ := h.app.Access.Credential(no); c.Photo != "" || c.State != access.StateRevoked {
		t.Fatalf("the face after the withdrawal: %+v", c)
	}
	page = readBody(t, h.do(req{method: "GET", path: "/desk/visits/" + v.ID, session: desk}))
	if !strings.Contains(page, `id="face-withdrawn"`) || strings.Contains(page, `id="face-withdraw"`) {
		t.Fatal("the visit's page does not say the face was removed")
	}

	// The device page shows the terminal's state.
	var dev device.Device
	ds, _ := h.app.Devices.Devices()
	for _, d := range ds {
		if d.Protocol == device.ISAPI {
			dev = d
		}
	}
	page = readBody(t, h.do(req{method: "GET", path: "/admin/devices/" + dev.ID + "/edit", session: admin, header: map[string]string{"Accept-Language": "en"}}))
	if !strings.Contains(page, `id="face-health"`) || !strings.Contains(page, term.Host().URL) {
		t.Fatal("the device page lacks the terminal's state or its event URL")
	}
}
