package ui

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/device"
	"gatehouse/drivers/modbus"
)

// A door contact configured at an input its board refuses (the simulator
// answers exception 2 for it, as a board does for an address it lacks)
// goes from online to failing on the devices page and in /metrics; after
// the site's set time the guard station shows a device alarm, and when the
// board answers again the device is online and the alarm is cleared.
func TestMisaddressedContactFailsAlarmsAndRecovers(t *testing.T) {
	l := newLobby(t)
	ctx := context.Background()
	door := l.dev["door"]
	state := func() device.State { h, _ := l.run.Health(door.ID); return h.State() }
	waitFor(t, "door online", func() bool { return state() == device.StateOnline })
	row := func() string {
		_, body := l.admin("GET", "/admin/devices", nil)
		i := strings.Index(body, `id="device-`+door.ID+`"`)
		j := strings.Index(body[i:], "</tr>")
		return body[i : i+j]
	}
	guard := func() (int, string) {
		resp := l.do(req{method: "GET", path: "/guard", session: l.session(auth.Reception), header: map[string]string{"Accept-Language": "en"}})
		return resp.StatusCode, readBody(t, resp)
	}
	deviceAlarms := func() []access.AlarmRecord {
		as, err := l.app.Access.Alarms(true, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []access.AlarmRecord
		for _, a := range as {
			if a.Kind == access.AlarmDevice {
				out = append(out, a)
			}
		}
		return out
	}

	board := l.bench.ModbusBoard(door)
	board.Refuse(1, modbus.IllegalDataAddress)
	waitFor(t, "door failing", func() bool { return state() == device.StateFailing })
	r := row()
	const why = "modbus: slave 1 function 0x02: exception 2 (illegal data address)"
	for _, want := range []string{"Failing", why} {
		if !strings.Contains(r, want) {
			t.Errorf("door row lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r, "errors 0") || strings.Count(r, "modbus") != 1 {
		t.Errorf("door row: %s", r)
	}
	if resp := l.do(req{method: "GET", path: "/metrics", token: l.tokens[auth.Admin]}); resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics %d", resp.StatusCode)
	} else if body := readBody(t, resp); !strings.Contains(body, `gatehouse_device_state{device="Gate A door",protocol="modbus",state="failing"} 1`) {
		t.Error("/metrics does not say the door is failing")
	}

	// Not yet: the set time has not passed.
	if err := l.app.DeviceWatch.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(deviceAlarms()); n != 0 {
		t.Fatalf("%d device alarms before the set time", n)
	}
	l.clock.Advance(l.app.DeviceWatch.After())
	if err := l.app.DeviceWatch.Check(ctx); err != nil {
		t.Fatal(err)
	}
	as := deviceAlarms()
	if len(as) != 1 || as[0].Name != "Gate A door" || as[0].Lane != l.lane.ID {
		t.Fatalf("device alarms after the set time: %+v", as)
	}
	status, body := guard()
	if status != http.StatusOK || !strings.Contains(body, `id="alarm-`+as[0].Key+`"`) ||
		!strings.Contains(body, "Device offline or failing") || !strings.Contains(body, "Gate A door") {
		t.Fatalf("guard station (%d) does not show the device alarm", status)
	}
	// Checked again while still failing: still one alarm.
	l.clock.Advance(time.Minute)
	if err := l.app.DeviceWatch.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(deviceAlarms()); n != 1 {
		t.Fatalf("%d device alarms while the door stays failing", n)
	}

	// The board answers again: online, the error shown as recovered, the
	// alarm cleared from the guard station and kept in the history.
	board.Refuse(1, 0)
	waitFor(t, "door online again", func() bool { return state() == device.StateOnline })
	if r := row(); !strings.Contains(r, "Online") || !strings.Contains(r, "(recovered ") {
		t.Errorf("recovered door row: %s", r)
	}
	if err := l.app.DeviceWatch.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(deviceAlarms()); n != 0 {
		t.Fatalf("%d device alarms open after the recovery", n)
	}
	if _, body := guard(); strings.Contains(body, `id="alarm-`+as[0].Key+`"`) {
		t.Fatal("the guard station still shows the cleared alarm")
	}
	all, _ := l.app.Access.Alarms(false, 100)
	for _, a := range all {
		if a.Key == as[0].Key && (a.AckBy != "devices" || a.AckNote != device.Recovered) {
			t.Fatalf("cleared alarm %+v", a)
		}
	}
}
