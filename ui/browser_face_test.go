package ui

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/drivers/isapi/sim"
	"gatehouse/drivers/runner"
)

// TestBrowserFaceDesk: the desk registers a walk-in with a photo and the
// visitor's consent; the face terminal (the ISAPI simulator on loopback,
// configured as a device) receives the person, recognises them, the
// appliance grants and the terminal's door opens; the desk then records
// the visitor withdrawing consent on the visit's page, and the terminal
// forgets them. Headless Chromium has no camera here, so the photo field
// is filled by the page's own canvas, as photo.js does after a capture.
func TestBrowserFaceDesk(t *testing.T) {
	app, base := startBrowserApp(t)
	fx := setUpVisits(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	z, err := app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	if err != nil {
		t.Fatal(err)
	}
	lane, err := app.Access.SaveLane(ctx, "t", access.Lane{Name: "Face gate", ZoneID: z.ID, Visitors: true, PulseMs: 100})
	if err != nil {
		t.Fatal(err)
	}
	term := sim.New(sim.Config{User: "admin", Password: "Face-2026"})
	ts := httptest.NewServer(term.Handler())
	t.Cleanup(ts.Close)
	pw, err := app.Keys.Seal("Face-2026")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Devices.Save(ctx, "t", device.Device{Name: "Face 1", Port: ts.URL, Protocol: device.ISAPI, Role: device.EntryReader,
		LaneID: lane.ID, Address: "1", Enabled: true, Options: device.Options{User: "admin", Password: pw}}); err != nil {
		t.Fatal(err)
	}
	run, err := runner.Start(ctx, runner.Config{Source: app.Devices, Decider: app.Access, Lanes: app.Access, Faces: app.Access,
		Secrets: app.Keys, EventBase: base, FaceSync: time.Hour, Clock: app.Clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Close() })
	t.Cleanup(app.Devices.Attach(run))

	b := startBrowser(t, base)
	b.mustLogin(visitsDeskUser, visitsDeskPass)
	b.open("/desk/walkin", "walkin-form")
	b.pickHost("Wang", fx.host.ID)
	b.fill("f-name", "Li Na")
	b.fill("f-mobile", "13700137009")
	b.fill("f-reason", "Meeting")
	b.do("the photo", chromedp.Evaluate[chromedp.Void](`(() => {
		const c = document.createElement("canvas"); c.width = 64; c.height = 48;
		const g = c.getContext("2d"); g.fillStyle = "#888"; g.fillRect(0, 0, 64, 48);
		document.getElementById("f-photo").value = c.toDataURL("image/jpeg", 0.8);
	})()`), chromedp.Click(chromedp.ID("f-face_consent")))
	if st := b.submit("walkin-submit"); st != http.StatusOK || !b.exists("#pass-qr") {
		b.fatalf("register: %d", st)
	}
	es, err := app.Access.FaceEnrolments()
	if err != nil || len(es) != 1 {
		t.Fatalf("enrolments: %d %v", len(es), err)
	}
	no := es[0].Number
	if err := term.WaitPerson(ctx, no, true); err != nil {
		t.Fatal("the terminal never received the visitor")
	}
	if code, err := term.Recognise(ctx, no); err != nil || code != http.StatusOK {
		t.Fatalf("the terminal's push: %d %v", code, err)
	}
	if err := term.WaitOpens(ctx, 1); err != nil {
		t.Fatal("the terminal's door did not open")
	}
	if err := app.Access.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	face, err := app.Access.Credential(no)
	if err != nil {
		t.Fatal(err)
	}
	var granted bool
	evs, err := app.Access.Recent(10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		granted = granted || (e.Lane == lane.ID && e.Grant && e.CredID == face.ID)
	}
	if !granted {
		t.Fatalf("no granted face event at the lane: %+v", evs)
	}

	b.open("/desk/visits/"+face.HolderID, "face-consent")
	if st := b.submit("face-withdraw"); st != http.StatusOK || !b.exists("#face-withdrawn") {
		b.fatalf("withdraw: %d", st)
	}
	if err := term.WaitPerson(ctx, no, false); err != nil {
		t.Fatal("the terminal still holds the visitor")
	}
}
