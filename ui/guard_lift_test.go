package ui

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/device"
	"gatehouse/appliance/directory"
	"gatehouse/drivers/runner"
	"gatehouse/ui/i18n"
)

// The guard station draws each lift car's floors, and while the fire
// input is active a red banner naming it, with every floor lit; the
// fire's start is an alarm on the station.
func TestGuardShowsLiftsAndFire(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f1, err := h.app.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "1F", Level: 1})
	must(err)
	z, err := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lifts"})
	must(err)
	car, err := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "Car A", ZoneID: z.ID, Kind: access.LaneElevator,
		Floors: []access.FloorCoil{{Floor: f1.ID, Coil: 1}}})
	must(err)
	sims := t.TempDir()
	port := filepath.Join(sims, "lift")
	_, err = h.app.Devices.Save(ctx, "t", device.Device{Name: "Car A board", Port: port, Protocol: device.Modbus, Address: "1:0",
		Role: device.ElevatorBoard, LaneID: car.ID, Enabled: true})
	must(err)
	fire, err := h.app.Devices.Save(ctx, "t", device.Device{Name: "Fire panel", Port: port, Protocol: device.Modbus, Address: "1:2",
		Role: device.FireInput, Enabled: true})
	must(err)
	ds, err := h.app.Devices.Devices()
	must(err)
	bench, err := runner.NewBench(sims, ds)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { bench.Close() })
	run, err := runner.Start(ctx, runner.Config{Source: h.app.Devices, Decider: h.app.Access, Lanes: h.app.Access, Fire: h.app.Access,
		Clock: h.clock, PollInterval: 20 * time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	must(err)
	t.Cleanup(func() { run.Close() })
	t.Cleanup(h.app.Devices.Attach(run))
	waitFor(t, "the car written", func() bool { st, ok := run.Elevator(car.ID); return ok && st.Written })

	guard := func() string {
		resp := h.do(req{method: "GET", path: "/guard", session: h.session(auth.Reception), header: map[string]string{"Accept-Language": "en"}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("guard = %d", resp.StatusCode)
		}
		return readBody(t, resp)
	}
	body := guard()
	if !strings.Contains(body, `id="lift-`+car.ID+`"`) || strings.Contains(body, `id="fire-banner"`) || strings.Contains(body, "ok-badge") {
		t.Fatal("guard station before the fire: want the car, no banner, no floor lit")
	}
	must(bench.SetInput(fire, true))
	waitFor(t, "fire release", func() bool { st, _ := run.Elevator(car.ID); return st.Fire })
	body = guard()
	if !strings.Contains(body, `id="fire-banner"`) || !strings.Contains(body, i18n.EN.T("guard.fire", "Fire panel")) ||
		!strings.Contains(body, "ok-badge") || !strings.Contains(body, i18n.EN.T("alarm.fire_release")) {
		t.Fatal("guard station during the fire: want the banner, the floor lit and the alarm")
	}
	must(bench.SetInput(fire, false))
	waitFor(t, "fire cleared", func() bool { st, _ := run.Elevator(car.ID); return !st.Fire && st.Written })
	if body = guard(); strings.Contains(body, `id="fire-banner"`) {
		t.Fatal("banner still up after the fire cleared")
	}
}
