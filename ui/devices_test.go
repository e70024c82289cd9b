package ui

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/device"
	"gatehouse/appliance/gate"
	"gatehouse/drivers/runner"
	"gatehouse/drivers/sim"
)

// waitFor waits for cond; the deadline only stops a broken test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lobby is the harness with a lane, its devices on simulators, and the
// device runtime attached, as serve --demo runs it.
type lobby struct {
	*harness
	lane  access.Lane
	bench *runner.Bench
	run   *runner.Runner
	dev   map[string]device.Device
}

func newLobby(t *testing.T) *lobby {
	t.Helper()
	h := newHarness(t)
	ctx := context.Background()
	z, err := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby", Passback: access.PassbackSoft})
	if err != nil {
		t.Fatal(err)
	}
	lane, err := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "Gate A", ZoneID: z.ID, Visitors: true, PulseMs: 100})
	if err != nil {
		t.Fatal(err)
	}
	l := &lobby{harness: h, lane: lane, dev: map[string]device.Device{}}
	sims := filepath.Join(t.TempDir(), "sim")
	for short, d := range map[string]device.Device{
		"entry": {Name: "Gate A entry", Port: filepath.Join(sims, "entry"), Protocol: device.Scanner, Role: device.EntryReader, LaneID: lane.ID},
		"card":  {Name: "Gate A cards", Port: filepath.Join(sims, "card"), Protocol: device.Scanner, Role: device.EntryReader, LaneID: lane.ID, Options: device.Options{Reads: gate.Card}},
		"relay": {Name: "Gate A relay", Port: filepath.Join(sims, "board"), Protocol: device.Modbus, Address: "1:0", Role: device.Relay, LaneID: lane.ID},
		"door":  {Name: "Gate A door", Port: filepath.Join(sims, "board"), Protocol: device.Modbus, Address: "1:1", Role: device.DoorContact, LaneID: lane.ID},
		"docs":  {Name: "Desk passports", Port: filepath.Join(sims, "mrz"), Protocol: device.MRZ, Role: device.DocumentReader},
		"osdp":  {Name: "Gate A OSDP", Port: filepath.Join(sims, "rs485"), Protocol: device.OSDP, Address: "0", Role: device.ExitReader, LaneID: lane.ID},
		"print": {Name: "Desk printer", Port: filepath.Join(sims, "printer"), Protocol: device.ESCPOS, Role: device.Printer},
	} {
		d.Enabled = true
		if l.dev[short], err = h.app.Devices.Save(ctx, "t", d); err != nil {
			t.Fatalf("%s: %v", short, err)
		}
	}
	ds, _ := h.app.Devices.Devices()
	if l.bench, err = runner.NewBench(sims, ds); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.bench.Close() })
	t.Cleanup(h.app.Devices.AttachBench(l.bench))
	if l.run, err = runner.Start(ctx, runner.Config{Source: h.app.Devices, Decider: h.app.Access, Lanes: h.app.Access, Clock: h.app.Clock,
		Observer:   h.app.Metrics, // as serve connects it
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, ModbusTimeout: 3 * time.Second, PollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.run.Close() })
	t.Cleanup(h.app.Devices.Attach(l.run))
	for _, short := range []string{"entry", "card", "relay", "docs", "print"} {
		waitFor(t, short+" online", func() bool { hl, _ := l.run.Health(l.dev[short].ID); return hl.Online })
	}
	return l
}

func (l *lobby) coils() []device.Switch { return l.bench.Boards()[0].Log }

func (l *lobby) admin(method, path string, form url.Values) (*http.Response, string) {
	l.t.Helper()
	resp := l.do(req{method: method, path: path, form: form, session: l.session(auth.Admin), header: map[string]string{"Accept-Language": "en"}})
	return resp, readBody(l.t, resp)
}

func TestDevicesPageShowsHealth(t *testing.T) {
	l := newLobby(t)
	resp, body := l.admin("GET", "/admin/devices", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{
		`id="device-` + l.dev["entry"].ID + `"`, "Gate A entry", "Gate A", "Online", // online scanner on its lane
		`id="test-` + l.dev["print"].ID + `"`,  // a printer prints a test slip
		`hx-trigger="every 2s"`,                // refreshes itself
		`id="test-` + l.dev["relay"].ID + `"`,  // a relay has a test button
		"errors 0 · timeouts 0 · reconnects 0", // counters
		`id="sim-link"`,                        // simulators run
	} {
		if !strings.Contains(body, want) {
			t.Errorf("devices page lacks %q", want)
		}
	}
	if strings.Contains(body, `id="test-`+l.dev["entry"].ID+`"`) {
		t.Error("a scanner has a test button")
	}
	// A decision at a reader shows on the next refresh.
	if err := l.bench.Present(l.dev["entry"], "x"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "decision shown", func() bool {
		_, body := l.admin("GET", "/admin/devices", nil)
		return strings.Contains(body, ">unknown<")
	})
	// A scanner pulled out shows as offline; plugged back in, online with
	// one reconnect.
	if err := l.bench.Unplug(l.dev["entry"]); err != nil {
		t.Fatal(err)
	}
	row := func(body string) string {
		i := strings.Index(body, `id="device-`+l.dev["entry"].ID+`"`)
		j := strings.Index(body[i:], "</tr>")
		return body[i : i+j]
	}
	waitFor(t, "offline shown", func() bool {
		_, body := l.admin("GET", "/admin/devices", nil)
		return strings.Contains(row(body), "Offline")
	})
	if err := l.bench.Replug(l.dev["entry"]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "back online", func() bool {
		_, body := l.admin("GET", "/admin/devices", nil)
		r := row(body)
		return strings.Contains(r, "Online") && strings.Contains(r, "reconnects 1")
	})
}

func TestDeviceFormValidatesAndSaves(t *testing.T) {
	l := newLobby(t)
	valid := func(mod func(url.Values)) url.Values {
		f := url.Values{"name": {"Gate A exit"}, "role": {"exit_reader"}, "protocol": {"scanner"}, "lane_id": {l.lane.ID},
			"port": {"/dev/ttyACM7"}, "baud": {"115200"}, "prefix": {"]Q1"}, "enabled": {"1"}}
		if mod != nil {
			mod(f)
		}
		return f
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   string // in the body
	}{
		{"no name", valid(func(f url.Values) { f.Set("name", "") }), 422, "Required."},
		{"relative port", valid(func(f url.Values) { f.Set("port", "ttyUSB0") }), 422, "A device path such as /dev/ttyUSB0."},
		{"baud not a number", valid(func(f url.Values) { f.Set("baud", "fast") }), 422, "Not a baud rate this appliance uses."},
		{"scanner as a relay", valid(func(f url.Values) { f.Set("role", "relay") }), 422, "This protocol cannot fill this role."},
		{"unknown lane", valid(func(f url.Values) { f.Set("lane_id", "0000000000000000") }), 422, "No such lane."},
		{"lane not an ID", valid(func(f url.Values) { f.Set("lane_id", "<script>") }), 422, "No such lane."},
		{"name taken", valid(func(f url.Values) { f.Set("name", "gate a ENTRY") }), 422, "Another device has this name."},
		{"port of a scanner", valid(func(f url.Values) { f.Set("port", l.dev["entry"].Port) }), 422, "Gate A entry uses this port"},
		{"second relay", valid(func(f url.Values) {
			f.Set("role", "relay")
			f.Set("protocol", "modbus")
			f.Set("port", l.dev["relay"].Port)
			f.Set("baud", "9600")
			f.Set("address", "1:5")
		}), 422, "This lane already has a relay: Gate A relay."},
		{"bad modbus address", valid(func(f url.Values) { f.Set("role", "relay"); f.Set("protocol", "modbus"); f.Set("address", "x") }), 422, "Slave and coil or input"},
		{"garbage protocol", valid(func(f url.Values) { f.Set("protocol", "\x00<b>") }), 422, "Not valid."},
		{"valid", valid(nil), 303, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.admin("POST", "/admin/devices", tc.form)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("status %d, want %d with %q:\n%.2000s", resp.StatusCode, tc.status, tc.want, body)
			}
		})
	}
	d, err := l.app.Devices.ByName("Gate A exit")
	if err != nil || d.Baud != 115200 || d.Options.Prefix != "]Q1" || d.Direction() != gate.Out || !d.Enabled {
		t.Fatalf("saved %+v %v", d, err)
	}
	// The runtime starts it.
	waitFor(t, "new device running", func() bool { hl, _ := l.run.Health(d.ID); return hl.Running })

	// Edit with an error keeps what was typed; then a good edit.
	resp, body := l.admin("POST", "/admin/devices/"+d.ID, valid(func(f url.Values) { f.Set("name", "Exit"); f.Set("baud", "12") }))
	if resp.StatusCode != 422 || !strings.Contains(body, `value="Exit"`) {
		t.Fatalf("edit with error: %d", resp.StatusCode)
	}
	resp, _ = l.admin("POST", "/admin/devices/"+d.ID, valid(func(f url.Values) { f.Set("name", "Exit"); f.Del("enabled") }))
	if resp.StatusCode != 303 {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	if got, _ := l.app.Devices.Get(d.ID); got.Name != "Exit" || got.Enabled {
		t.Fatalf("after edit %+v", got)
	}
	resp, body = l.admin("GET", "/admin/devices/"+d.ID+"/edit", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `value="Exit"`) {
		t.Fatalf("edit page %d", resp.StatusCode)
	}
	// Delete, and a second delete is not found.
	if resp, _ := l.admin("POST", "/admin/devices/"+d.ID+"/delete", nil); resp.StatusCode != 303 {
		t.Fatalf("delete %d", resp.StatusCode)
	}
	if resp, _ := l.admin("POST", "/admin/devices/"+d.ID+"/delete", nil); resp.StatusCode != 404 {
		t.Fatalf("second delete %d", resp.StatusCode)
	}
	for _, p := range []string{"/admin/devices/" + d.ID + "/edit", "/admin/devices/%00/edit", "/admin/devices/..%2F..%2Fetc/edit"} {
		if resp, _ := l.admin("GET", p, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestTestButtonPulsesTheRelay(t *testing.T) {
	l := newLobby(t)
	resp, body := l.admin("POST", "/admin/devices/"+l.dev["relay"].ID+"/test", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Relay pulsed for 100ms.") {
		t.Fatalf("test: %d\n%.2000s", resp.StatusCode, body)
	}
	if got := l.coils(); !reflect.DeepEqual(got, []device.Switch{{Point: 0, On: true}, {Point: 0, On: false}}) {
		t.Fatalf("coil log %v", got)
	}
	resp, body = l.admin("POST", "/admin/devices/"+l.dev["door"].ID+"/test", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "The door is closed.") {
		t.Fatalf("door test: %d", resp.StatusCode)
	}
	// A scanner is not tested from the page; an OSDP reader does not run.
	if resp, _ := l.admin("POST", "/admin/devices/"+l.dev["entry"].ID+"/test", nil); resp.StatusCode != 422 {
		t.Fatalf("scanner test %d", resp.StatusCode)
	}
	if resp, _ := l.admin("POST", "/admin/devices/0000000000000000/test", nil); resp.StatusCode != 404 {
		t.Fatalf("unknown device test %d", resp.StatusCode)
	}
}

func TestSimPageRunsTheLoop(t *testing.T) {
	l := newLobby(t)
	resp, body := l.admin("GET", "/admin/devices/sim", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="scan-`+l.dev["entry"].ID+`"`) || !strings.Contains(body, `id="present-`+l.dev["card"].ID+`"`) {
		t.Fatalf("sim page %d\n%.3000s", resp.StatusCode, body)
	}
	// A demo visitor's pass, scanned at the entry: granted, the board pulses.
	resp, _ = l.admin("POST", "/admin/devices/sim/visitor", url.Values{"device": {l.dev["entry"].ID}})
	if resp.StatusCode != 303 {
		t.Fatalf("visitor scan %d", resp.StatusCode)
	}
	waitFor(t, "pulse", func() bool { return len(l.coils()) == 2 })
	// A garbage QR: denied, nothing more on the board; the page shows both.
	resp, _ = l.admin("POST", "/admin/devices/sim/present", url.Values{"device": {l.dev["entry"].ID}, "text": {"GH1.forged"}})
	if resp.StatusCode != 303 {
		t.Fatalf("present %d", resp.StatusCode)
	}
	waitFor(t, "deny shown", func() bool {
		_, body := l.admin("GET", "/admin/devices/sim", nil)
		return strings.Contains(body, "pass_invalid") && strings.Contains(body, "Gate A relay")
	})
	if n := len(l.coils()); n != 2 {
		t.Fatalf("%d coil writes after a deny", n)
	}
	// A document on the desk reader shows what was read.
	resp, _ = l.admin("POST", "/admin/devices/sim/present", url.Values{"device": {l.dev["docs"].ID}, "text": {mrzSample}})
	if resp.StatusCode != 303 {
		t.Fatalf("document %d", resp.StatusCode)
	}
	waitFor(t, "document shown", func() bool {
		_, body := l.admin("GET", "/admin/devices/sim", nil)
		return strings.Contains(body, "ERIKSSON")
	})
	// Opening the simulated door is polled by the runtime.
	if resp, _ := l.admin("POST", "/admin/devices/sim/door", url.Values{"device": {l.dev["door"].ID}, "open": {"1"}}); resp.StatusCode != 303 {
		t.Fatalf("door %d", resp.StatusCode)
	}
	waitFor(t, "door open", func() bool {
		res, err := l.run.Test(context.Background(), l.dev["door"].ID)
		return err == nil && res.DoorOpen
	})
}

// TestDeviceRequestsNeverFail500 throws malformed requests at every device
// route: each is refused for what it is, never an internal error.
func TestDeviceRequestsNeverFail500(t *testing.T) {
	l := newLobby(t)
	long := strings.Repeat("A", 5000)
	cases := []struct {
		method, path string
		form         url.Values
		want         int
	}{
		{"POST", "/admin/devices/sim/present", url.Values{"device": {l.dev["entry"].ID}, "text": {"two\nlines"}}, 422},
		{"POST", "/admin/devices/sim/present", url.Values{"device": {l.dev["entry"].ID}, "text": {long}}, 422},
		{"POST", "/admin/devices/sim/present", url.Values{"device": {l.dev["entry"].ID}}, 422},
		{"POST", "/admin/devices/sim/present", url.Values{"device": {l.dev["osdp"].ID}, "text": {"x"}}, 422},
		{"POST", "/admin/devices/sim/present", url.Values{"device": {"nope"}, "text": {"x"}}, 404},
		{"POST", "/admin/devices/sim/present", nil, 404},
		{"POST", "/admin/devices/sim/visitor", url.Values{"device": {l.dev["card"].ID}}, 422},
		{"POST", "/admin/devices/sim/visitor", url.Values{"device": {l.dev["relay"].ID}}, 422},
		{"POST", "/admin/devices/sim/door", url.Values{"device": {l.dev["entry"].ID}, "open": {"1"}}, 422},
		{"POST", "/admin/devices/sim/door", url.Values{"device": {"\x00"}}, 404},
		{"POST", "/admin/devices", url.Values{"name": {long}, "port": {long}, "baud": {"99999999999999999999"}, "address": {long}, "prefix": {long}}, 422},
		{"POST", "/admin/devices", url.Values{"role": {"relay"}, "protocol": {"usbrelay"}, "address": {"-1"}, "port": {"/dev/x"}, "name": {"r"}}, 422},
		{"POST", "/admin/devices", url.Values{"role": {"entry_reader"}, "protocol": {"osdp"}, "address": {"1"}, "port": {"/dev/x"}, "name": {"o"}, "output": {long}}, 422},
		{"POST", "/admin/devices", url.Values{"role": {"entry_reader"}, "protocol": {"osdp"}, "address": {"1"}, "port": {"/dev/x"}, "name": {"o"}, "output": {"999"}}, 422},
		{"POST", "/admin/devices/" + l.dev["osdp"].ID + "/key", url.Values{"scbk": {long}}, 422},
		{"POST", "/admin/devices/" + l.dev["osdp"].ID + "/key", url.Values{"scbk": {"\x00\xff"}}, 422},
		{"POST", "/admin/devices/" + l.dev["osdp"].ID + "/key", nil, 422},
		{"POST", "/admin/devices/" + l.dev["relay"].ID + "/key", url.Values{"scbk": {"00112233445566778899aabbccddeeff"}}, 422},
		{"POST", "/admin/devices/nope/key", url.Values{"scbk": {"00112233445566778899aabbccddeeff"}}, 404},
		{"POST", "/desk/visits/nope/slip", nil, 404},
		{"GET", "/admin/devices?x=%00", nil, 200},
	}
	for _, tc := range cases {
		resp, body := l.admin(tc.method, tc.path, tc.form)
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s %v = %d, want %d\n%.500s", tc.method, tc.path, tc.form, resp.StatusCode, tc.want, body)
		}
	}
	// Without simulators (not the demo), the demo page says so and its
	// forms are not found.
	h := newHarness(t)
	resp := h.do(req{method: "GET", path: "/admin/devices/sim", session: h.session(auth.Admin)})
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, `id="sim-off"`) {
		t.Fatalf("sim page without simulators: %d", resp.StatusCode)
	}
	resp = h.do(req{method: "POST", path: "/admin/devices/sim/present", form: url.Values{"device": {"x"}, "text": {"x"}}, session: h.session(auth.Admin)})
	if resp.StatusCode != 404 {
		t.Fatalf("present without simulators: %d", resp.StatusCode)
	}
	resp = h.do(req{method: "GET", path: "/admin/devices", session: h.session(auth.Admin)})
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, `id="no-devices"`) {
		t.Fatalf("empty devices page: %d", resp.StatusCode)
	}
}

func TestDeskPrintsAVisitorSlip(t *testing.T) {
	l := newLobby(t)
	desk := l.session(auth.Reception)
	form := url.Values{"name": {"Walk In"}, "mobile": {"13700137002"}, "host_id": {l.ids["{person}"]}, "reason": {"Delivery"},
		"until": {"23:30"}}
	resp := l.do(req{method: "POST", path: "/desk/walkin", form: form, session: desk, header: map[string]string{"Accept-Language": "en"}})
	b := readBody(t, resp)
	m := regexp.MustCompile(`action="/desk/visits/([0-9a-z]{16})/slip"`).FindStringSubmatch(b)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("walk-in = %d, print button: %v", resp.StatusCode, m != nil)
	}
	resp = l.do(req{method: "POST", path: "/desk/visits/" + m[1] + "/slip", session: desk, header: map[string]string{"Accept-Language": "en"}})
	if b := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(b, "Slip printed.") || !strings.Contains(b, `id="pass-qr"`) {
		t.Fatalf("print = %d", resp.StatusCode)
	}
	sp := l.bench.Printer(l.dev["print"])
	waitFor(t, "slip at the printer", func() bool { return len(sp.Jobs()) == 1 })
	job := sp.Jobs()[0]
	v, err := l.app.Visits.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := l.app.Visits.Token(v)
	if len(job.QR) != 1 || job.QR[0].Data != tok || !strings.Contains(job.Text(), "Walk In") || !strings.Contains(job.Text(), "Host: ") {
		t.Fatalf("slip %q, QR %d", job.Text(), len(job.QR))
	}

	// The demo page shows the slip the simulated printer printed.
	if _, b := l.admin("GET", "/admin/devices/sim", nil); !strings.Contains(b, `id="slip-0"`) || !strings.Contains(b, "Walk In") {
		t.Fatal("the demo page does not show the slip")
	}

	// Out of paper: the page says so, nothing is sent, nothing fails.
	sp.SetPaper(sim.PaperOut)
	resp = l.do(req{method: "POST", path: "/desk/visits/" + m[1] + "/slip", session: desk, header: map[string]string{"Accept-Language": "en"}})
	if b := readBody(t, resp); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(b, "The slip was not printed") {
		t.Fatalf("print without paper = %d", resp.StatusCode)
	}
	if n := len(sp.Jobs()); n != 1 {
		t.Fatalf("%d jobs", n)
	}
}

func TestNoPrintButtonWithoutAPrinter(t *testing.T) {
	h := newHarness(t)
	desk := h.session(auth.Reception)
	form := url.Values{"name": {"Walk In"}, "mobile": {"13700137002"}, "host_id": {h.ids["{person}"]}, "reason": {"Delivery"}, "until": {"23:30"}}
	b := readBody(t, h.do(req{method: "POST", path: "/desk/walkin", form: form, session: desk}))
	if strings.Contains(b, `id="print-slip"`) {
		t.Fatal("print button without a printer")
	}
}
