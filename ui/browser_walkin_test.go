package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/drivers/osdp"
	"gatehouse/drivers/runner"
	"gatehouse/ui/i18n"
)

// TestBrowserDocFill: the desk's walk-in form is open; a passport laid on
// the simulated passport reader fills it by itself (every field the form
// has), a passport whose birth date fails its check digit marks and names
// that field, and an ID card on the ID card reader fills it and offers
// the card as the visitor's pass. Registered without a phone, the
// visitor's ID card then opens the lane at the simulated OSDP reader.
func TestBrowserDocFill(t *testing.T) {
	app, base := startBrowserApp(t)
	fx := setUpVisits(t, app)
	ctx := context.Background()
	z, err := app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	if err != nil {
		t.Fatal(err)
	}
	lane, err := app.Access.SaveLane(ctx, "t", access.Lane{Name: "Gate A", ZoneID: z.ID, Visitors: true, PulseMs: 100})
	if err != nil {
		t.Fatal(err)
	}
	sims := filepath.Join(t.TempDir(), "sim")
	dev := map[string]device.Device{}
	for short, d := range map[string]device.Device{
		"passport": {Name: "Desk passport reader", Port: filepath.Join(sims, "mrz"), Protocol: device.MRZ, Role: device.DocumentReader},
		"idcard":   {Name: "Desk ID card reader", Port: filepath.Join(sims, "idcard"), Protocol: device.IDCard, Role: device.DocumentReader},
		"reader":   {Name: "Gate A reader", Port: filepath.Join(sims, "rs485"), Protocol: device.OSDP, Address: "1", Role: device.EntryReader, LaneID: lane.ID},
		"relay":    {Name: "Gate A relay", Port: filepath.Join(sims, "board"), Protocol: device.Modbus, Address: "1:0", Role: device.Relay, LaneID: lane.ID},
	} {
		d.Enabled = true
		if dev[short], err = app.Devices.Save(ctx, "t", d); err != nil {
			t.Fatalf("%s: %v", short, err)
		}
	}
	ds, _ := app.Devices.Devices()
	bench, err := runner.NewBench(sims, ds)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { bench.Close() })
	run, err := runner.Start(ctx, runner.Config{Source: app.Devices, Decider: app.Access, Lanes: app.Access, Clock: app.Clock,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, ModbusTimeout: 3 * time.Second,
		Keys: device.NewReaderKeys(app.Store, app.Clock, app.Keys),
		OSDP: func(c *osdp.Config) { c.ProbeEvery, c.ReplyTimeout = 50*time.Millisecond, 2*time.Second }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Close() })
	t.Cleanup(app.Devices.Attach(run))

	b := startBrowser(t, base)
	b.mustLogin(visitsDeskUser, visitsDeskPass)
	b.open("/desk/walkin", "walkin-form")
	b.waitFor("the form listening", `document.getElementById("doc-status") !== null`)
	value := func(id string) string { return b.eval(fmt.Sprintf(`document.getElementById(%q).value`, id)) }
	waitValue := func(id, want string) {
		b.t.Helper()
		b.waitFor("#"+id+" = "+want, fmt.Sprintf(`document.getElementById(%q).value === %q`, id, want))
	}

	// A passport (ICAO 9303's specimen: expired in 2012).
	td3 := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
	if err := bench.Present(dev["passport"], td3); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"f-name": "ANNA MARIA ERIKSSON", "f-id_number": "L898902C3", "f-nationality": "UTO",
		"f-birth": "1974-08-12", "f-sex": "F", "f-doc_expiry": "2012-04-15"} {
		waitValue(id, want)
	}
	if w := b.text("#doc-warning"); !strings.Contains(w, i18n.ZH.T("walkin.doc_expired")) && !strings.Contains(w, i18n.EN.T("walkin.doc_expired")) {
		b.fatalf("an expired passport is not said plainly: %q", w)
	}

	// The birth date's check digit broken: that field is named.
	if err := bench.Present(dev["passport"], strings.Replace(td3, "7408122", "7408123", 1)); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the birth date marked", `document.querySelector("#e-birth.doc-error") !== null`)
	if got := b.text("#e-birth"); !strings.Contains(got, i18n.ZH.T("walkin.docfield.birth")) && !strings.Contains(got, i18n.EN.T("walkin.docfield.birth")) {
		b.fatalf("the error does not name the birth date: %q", got)
	}
	if b.exists("#e-id_number") {
		b.fatalf("the document number is marked though its check passed")
	}

	// A resident ID card: filled, and its card offered as the pass.
	card := runner.DemoIDCard("")
	if err := bench.Present(dev["idcard"], ""); err != nil {
		t.Fatal(err)
	}
	waitValue("f-name", card.Name)
	waitValue("f-id_number", card.Number)
	for id, want := range map[string]string{"f-nationality": "CHN", "f-birth": "1949-12-31", "f-sex": "F", "f-doc_expiry": "2040-01-01"} {
		if got := value(id); got != want {
			b.fatalf("#%s = %q, want %q", id, got, want)
		}
	}
	if b.exists("#e-birth") {
		b.fatalf("the earlier read's error stayed")
	}
	chip := bench.IDCardReader(dev["idcard"]).Chip()
	waitValue("f-chip", chip)
	b.waitFor("the ID card offered as the pass", `!document.getElementById("bind-card").hidden`)

	// Registered without a phone; the card is the pass.
	b.pickHost("Wang", fx.host.ID)
	b.fill("f-reason", "Delivery of documents")
	b.do("no phone", chromedp.Click(chromedp.ID("f-bind_card")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-mobile").value = ""`))
	if st := b.submit("walkin-submit"); st != 200 {
		b.fatalf("register: %d", st)
	}
	if !b.exists("#pass-qr") {
		b.fatalf("no pass page after registering: %s", b.path())
	}
	before := len(bench.Boards()[0].Log)
	if err := bench.Present(dev["reader"], chip); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(bench.Boards()[0].Log) == before {
		if time.Now().After(deadline) {
			h, _ := run.Health(dev["reader"].ID)
			t.Fatalf("the visitor's ID card did not open the lane (reader: %+v)", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
