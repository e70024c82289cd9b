package ui

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/drivers/osdp"
	"gatehouse/drivers/runner"
	"gatehouse/ui/i18n"
)

// TestBrowserDevicesHealthUnplugAndTest: the administrator sees the
// configured devices and the serial ports; simulated devices show online
// (the OSDP reader on its own secure channel key); a scanner and the OSDP
// bus pulled out show offline and come back when plugged in again; the
// relay's test button pulses the simulated board.
func TestBrowserDevicesHealthUnplugAndTest(t *testing.T) {
	app, base := startBrowserApp(t)
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
		"entry": {Name: "Gate A entry scanner", Port: filepath.Join(sims, "entry"), Protocol: device.Scanner, Role: device.EntryReader, LaneID: lane.ID},
		"relay": {Name: "Gate A relay", Port: filepath.Join(sims, "board"), Protocol: device.Modbus, Address: "1:0", Role: device.Relay, LaneID: lane.ID},
		"osdp": {Name: "Gate A OSDP reader", Port: filepath.Join(sims, "rs485"), Protocol: device.OSDP, Address: "1", Role: device.ExitReader,
			LaneID: lane.ID, Options: device.Options{Secure: true}},
		"print": {Name: "Desk printer", Port: filepath.Join(sims, "printer"), Protocol: device.ESCPOS, Role: device.Printer},
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
	t.Cleanup(app.Devices.AttachBench(bench))
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
	b.mustLogin(browserAdminUser, browserAdminPass)
	b.open("/admin/devices", "devices")
	for short, d := range dev {
		if !b.exists("#device-" + d.ID) {
			b.fatalf("device %s not listed", short)
		}
	}
	if !b.exists("#ports") && !b.exists("#no-ports") {
		b.fatalf("no serial ports section")
	}

	// The page refreshes itself every 2 s: wait for each row's status.
	status := func(short, key string) string {
		return fmt.Sprintf(`(() => { const s = document.querySelector("#device-%s .status"); const t = s ? s.innerText : "";
			return t.includes(%q) || t.includes(%q) })()`, dev[short].ID, i18n.EN.T(key), i18n.ZH.T(key))
	}
	for _, short := range []string{"entry", "relay", "osdp", "print"} {
		b.waitFor(short+" online", status(short, "devices.online"))
	}
	b.waitFor("the OSDP reader on its own key", status("osdp", "devices.secure_on"))

	// Pulled out: offline, with the outage's start; plugged back: online.
	for _, short := range []string{"entry", "osdp"} {
		if err := bench.Unplug(dev[short]); err != nil {
			t.Fatal(err)
		}
		b.waitFor(short+" offline", status(short, "devices.offline"))
		// The outage's start is shown with it (the status cell of an
		// online device has no time in it).
		b.waitFor(short+" outage start", fmt.Sprintf(`/\d\d:\d\d/.test(document.querySelector("#device-%s .status").innerText)`, dev[short].ID))
		if err := bench.Replug(dev[short]); err != nil {
			t.Fatal(err)
		}
		b.waitFor(short+" back online", status(short, "devices.online"))
	}
	b.waitFor("the OSDP reader back on its key", status("osdp", "devices.secure_on"))

	// The relay's test button pulses the simulated board.
	if st := b.submit("test-" + dev["relay"].ID); st != http.StatusOK {
		b.fatalf("relay test: %d", st)
	}
	if !b.exists("#test-result.ok") {
		b.fatalf("relay test did not succeed")
	}
	if got := bench.Boards()[0].Log; !reflect.DeepEqual(got, []device.Switch{{Point: 0, On: true}, {Point: 0, On: false}}) {
		b.fatalf("relay board saw %v", got)
	}

	// For a person to look at (see TestScreenshots).
	if dir := os.Getenv("GATEHOUSE_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/admin/devices", "/admin/devices/sim"} {
			b.do("nav", chromedp.EmulateViewport(1024, 768), chromedp.Navigate(base+p))
			buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, "tablet"+sanitize(p)+".png"), buf, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}
