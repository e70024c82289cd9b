package ui

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/device"
	"gatehouse/appliance/keys"
	"gatehouse/drivers/runner"
	"gatehouse/drivers/sim"
)

// cabinetRig is the harness with a key cabinet on a simulated Modbus board
// (pseudo-terminal) and the device runtime attached, its slot changes going
// to the key room as serve connects them.
type cabinetRig struct {
	*harness
	cab   device.Device
	bench *runner.Bench
	run   *runner.Runner
}

func newCabinetRig(t *testing.T) *cabinetRig {
	t.Helper()
	h := newHarness(t)
	ctx := context.Background()
	sims := filepath.Join(t.TempDir(), "sim")
	r := &cabinetRig{harness: h}
	// Configured through the devices page, like any device.
	resp := h.do(req{method: "POST", path: "/admin/devices", session: h.session(auth.Admin), form: url.Values{
		"name": {"Cabinet A"}, "role": {"key_cabinet"}, "protocol": {"modbus"}, "port": {filepath.Join(sims, "cabinet")},
		"baud": {"9600"}, "address": {"2:0"}, "slots": {"8"}, "poll_ms": {"100"}, "enabled": {"1"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving the cabinet: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var err error
	if r.cab, err = h.app.Devices.ByName("Cabinet A"); err != nil {
		t.Fatal(err)
	}
	if r.cab.Options.Slots != 8 || r.cab.Options.PollMs != 100 || r.cab.Address != "2:0" {
		t.Fatalf("cabinet saved as %+v", r.cab)
	}
	ds, _ := h.app.Devices.Devices()
	if r.bench, err = runner.NewBench(sims, ds); err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { r.bench.Close() })
	t.Cleanup(h.app.Devices.AttachBench(r.bench))
	if r.run, err = runner.Start(ctx, runner.Config{Source: h.app.Devices, Decider: h.app.Access, Slots: h.app.KeySensors, Clock: h.app.Clock,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, ModbusTimeout: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.run.Close() })
	t.Cleanup(h.app.Devices.Attach(r.run))
	waitFor(t, "cabinet polled", func() bool { _, _, ok := r.run.Slots(r.cab.ID); return ok })
	return r
}

// page GETs path as role, in English.
func (r *cabinetRig) page(role auth.Role, path string) string {
	r.t.Helper()
	resp := r.do(req{method: "GET", path: path, session: r.session(role), header: map[string]string{"Accept-Language": "en"}})
	body := readBody(r.t, resp)
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return body
}

func (r *cabinetRig) post(role auth.Role, path string, form url.Values) *http.Response {
	r.t.Helper()
	return r.do(req{method: "POST", path: path, form: form, session: r.session(role), header: map[string]string{"Accept-Language": "en"}})
}

// key registers a key in cabinet A and maps its slot to input n, through
// the key room's pages.
func (r *cabinetRig) key(tag, slot string, n int) keys.Key {
	r.t.Helper()
	resp := r.post(auth.Manager, "/keys", url.Values{"tag": {tag}, "customer": {"Acme"}, "cabinet": {"A"}, "slot": {slot}, "level": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		r.t.Fatalf("register %s: %d %s", tag, resp.StatusCode, readBody(r.t, resp))
	}
	k, err := r.app.KeyRoom.ByTag(tag)
	if err != nil {
		r.t.Fatal(err)
	}
	resp = r.post(auth.Manager, "/keys/"+k.ID+"/sensor", url.Values{"sensor_device": {r.cab.ID}, "sensor_input": {strconv.Itoa(n)}})
	if resp.StatusCode != http.StatusSeeOther {
		r.t.Fatalf("map %s: %d %s", tag, resp.StatusCode, readBody(r.t, resp))
	}
	k, _ = r.app.KeyRoom.Get(k.ID)
	return k
}

// slot takes the key out of input n (present false) or puts it back, on
// the simulator page.
func (r *cabinetRig) slot(n int, present bool) {
	r.t.Helper()
	p := "0"
	if present {
		p = "1"
	}
	resp := r.post(auth.Admin, "/admin/devices/sim/slot", url.Values{"device": {r.cab.ID}, "input": {strconv.Itoa(n)}, "present": {p}})
	if resp.StatusCode != http.StatusSeeOther {
		r.t.Fatalf("sim slot %d: %d %s", n, resp.StatusCode, readBody(r.t, resp))
	}
}

func (r *cabinetRig) history(k keys.Key) []string {
	hs, err := r.app.KeyRoom.History(k.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, e := range hs {
		out = append(out, e.Kind+":"+e.Note)
	}
	return out
}

func (r *cabinetRig) waitHistory(k keys.Key, want string) {
	r.t.Helper()
	waitFor(r.t, k.Tag+" history "+want, func() bool {
		h := r.history(k)
		return len(h) > 0 && h[len(h)-1] == want
	})
}

func keyTakenAlarms(t *testing.T, r *cabinetRig) int {
	as, err := r.app.Access.Alarms(true, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range as {
		if a.Kind == "key_taken" {
			n++
		}
	}
	return n
}

// The key room made live, end to end over a pseudo-terminal: a key taken
// from its sensed slot without a checkout raises the alarm the guard
// station lists; taken on a checkout raises none; put back, it is seen in
// its slot and the checkout is returned; an audit from sensors shows the
// key that is gone; the cabinet going silent shows offline.
func TestKeyCabinetEndToEnd(t *testing.T) {
	r := newCabinetRig(t)
	k1 := r.key("K-101", "1", 0)
	k2 := r.key("K-102", "2", 1)
	if k1.Sensor == nil || k1.Sensor.Input != 0 || k1.Sensor.Device != r.cab.ID {
		t.Fatalf("K-101's sensor %+v", k1.Sensor)
	}
	body := r.page(auth.Reception, "/keys/"+k1.ID)
	if !strings.Contains(body, `id="key-sensor"`) || !strings.Contains(body, "Cabinet A") || !strings.Contains(body, ">Present<") {
		t.Errorf("key page does not show its sensor present")
	}

	// Taken without a checkout: the guard station's alarm names the key and its slot.
	r.slot(0, false)
	r.waitHistory(k1, "sensed_out:no_checkout")
	waitFor(t, "alarm", func() bool { return keyTakenAlarms(t, r) == 1 })
	guard := r.page(auth.Reception, "/guard")
	if !strings.Contains(guard, "Key taken without checkout") || !strings.Contains(guard, "K-101 · A / 1") {
		t.Errorf("guard station does not list the key-taken alarm")
	}
	resp := r.do(req{method: "GET", path: "/guard", session: r.session(auth.Reception), header: map[string]string{"Accept-Language": "zh-CN"}})
	if body := readBody(t, resp); !strings.Contains(body, "钥匙未登记借出被取走") {
		t.Errorf("guard station in Chinese lacks the alarm's name")
	}
	body = r.page(auth.Reception, "/keys/"+k1.ID)
	if !strings.Contains(body, "Sensed leaving its slot") || !strings.Contains(body, "without checkout") || !strings.Contains(body, ">Absent<") {
		t.Errorf("key page does not show the sensed change")
	}
	r.slot(0, true)
	r.waitHistory(k1, "sensed_in:in_slot")

	// Taken on a checkout: no alarm. Put back: returned to its slot.
	due := r.clock.Now().Add(2 * time.Hour).In(r.app.Config.Location).Format(dueLayout)
	resp = r.post(auth.Reception, "/keys/"+k1.ID+"/checkout", url.Values{"reason": {"cleaning"}, "due": {due}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("checkout: %d %s", resp.StatusCode, readBody(t, resp))
	}
	r.slot(0, false)
	r.waitHistory(k1, "sensed_out:checked_out")
	r.slot(0, true)
	r.waitHistory(k1, "sensed_in:returned")
	if n := keyTakenAlarms(t, r); n != 1 {
		t.Errorf("%d key-taken alarms, want the first only", n)
	}
	if k, _ := r.app.KeyRoom.Get(k1.ID); k.State != keys.In || k.Checkout != "" {
		t.Errorf("K-101 after its return to the slot: %s %q", k.State, k.Checkout)
	}
	body = r.page(auth.Reception, "/keys/"+k1.ID)
	if !strings.Contains(body, "Sensed in its slot") || !strings.Contains(body, "returned to its slot") {
		t.Errorf("key history does not show the key seen back in its slot")
	}

	// An audit from sensors: K-102 gone from its slot (no checkout).
	r.slot(1, false)
	r.waitHistory(k2, "sensed_out:no_checkout")
	resp = r.post(auth.Reception, "/keys/audits", url.Values{"cabinet": {"A"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("audit start: %d", resp.StatusCode)
	}
	audit := resp.Header.Get("Location")
	body = r.page(auth.Reception, audit)
	sec := body[strings.Index(body, `id="audit-sensors"`):]
	row102 := sec[strings.Index(sec, `data-tag="K-102"`):]
	row102 = row102[:strings.Index(row102, "</tr>")]
	row101 := sec[strings.Index(sec, `data-tag="K-101"`):]
	row101 = row101[:strings.Index(row101, "</tr>")]
	if !strings.Contains(row102, "Absent") || !strings.Contains(row102, "Discrepancy") || !strings.Contains(sec, `class="flagged" data-tag="K-102"`) {
		t.Errorf("K-102 is not flagged absent: %s", row102)
	}
	if !strings.Contains(row101, "Present") || strings.Contains(row101, "Discrepancy") {
		t.Errorf("K-101 is not present and fine: %s", row101)
	}
	resp = r.post(auth.Reception, audit+"/sensors", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("audit from sensors: %d %s", resp.StatusCode, readBody(t, resp))
	}
	resp = r.post(auth.Reception, audit+"/finish", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("finish: %d", resp.StatusCode)
	}
	a, err := r.app.KeyRoom.Audit(strings.TrimPrefix(audit, "/keys/audits/"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Report == nil || a.Report.Present != 1 || len(a.Report.Missing) != 1 || a.Report.Missing[0].Tag != "K-102" {
		t.Errorf("audit report %+v", a.Report)
	}

	// A cabinet that stops answering is offline on the devices page.
	r.bench.ModbusBoard(r.cab).SetMode(sim.Silent)
	waitFor(t, "cabinet offline", func() bool { h, _ := r.run.Health(r.cab.ID); return h.State() == device.StateOffline })
	body = r.page(auth.Admin, "/admin/devices")
	row := body[strings.Index(body, `id="device-`+r.cab.ID+`"`):]
	if row = row[:strings.Index(row, "</tr>")]; !strings.Contains(row, "Offline") {
		t.Errorf("devices page row of the silent cabinet: %s", row)
	}
	if body := r.page(auth.Reception, "/keys/"+k1.ID); !strings.Contains(body, "Not answering") {
		t.Error("key page does not say the sensor is not answering")
	}
}

// The cabinet's forms refuse what is not theirs without a 500: a sensor
// input outside the cabinet, not a number, on a device that is no cabinet;
// a slot the simulator does not have.
func TestKeyCabinetFormsRefuseBadInput(t *testing.T) {
	r := newCabinetRig(t)
	k := r.key("K-201", "1", 7)
	for _, f := range []url.Values{
		{"sensor_device": {r.cab.ID}, "sensor_input": {"8"}},
		{"sensor_device": {r.cab.ID}, "sensor_input": {"x"}},
		{"sensor_device": {r.cab.ID}, "sensor_input": {"-1"}},
		{"sensor_device": {"0000000000000000"}, "sensor_input": {"1"}},
		{"sensor_device": {"../../etc"}, "sensor_input": {"1"}},
	} {
		if resp := r.post(auth.Manager, "/keys/"+k.ID+"/sensor", f); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("sensor %v: %d", f, resp.StatusCode)
		}
	}
	if resp := r.post(auth.Reception, "/keys/"+k.ID+"/sensor", url.Values{"sensor_device": {""}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("reception unmaps a sensor: %d", resp.StatusCode)
	}
	if resp := r.post(auth.Manager, "/keys/0000000000000000/sensor", url.Values{"sensor_device": {""}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown key: %d", resp.StatusCode)
	}
	for _, f := range []url.Values{
		{"device": {r.cab.ID}, "input": {"8"}, "present": {"0"}},
		{"device": {r.cab.ID}, "input": {"zz"}, "present": {"0"}},
	} {
		if resp := r.post(auth.Admin, "/admin/devices/sim/slot", f); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("sim slot %v: %d", f, resp.StatusCode)
		}
	}
	for _, f := range []url.Values{
		{"name": {"Cab B"}, "role": {"key_cabinet"}, "protocol": {"modbus"}, "port": {"/dev/ttyX"}, "address": {"1:0"}, "slots": {"many"}},
		{"name": {"Cab B"}, "role": {"key_cabinet"}, "protocol": {"modbus"}, "port": {"/dev/ttyX"}, "address": {"1:0"}, "slots": {"4"}, "poll_ms": {"99999999999999999999"}},
	} {
		if resp := r.post(auth.Admin, "/admin/devices", f); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("device %v: %d", f, resp.StatusCode)
		}
	}
	// The simulator page lists the cabinet's slots with their keys; the
	// devices page's test reads them.
	if body := r.page(auth.Admin, "/admin/devices/sim"); !strings.Contains(body, `id="sim-cabinet-`+r.cab.ID+`"`) || !strings.Contains(body, "K-201") {
		t.Error("simulator page lacks the cabinet")
	}
	resp := r.post(auth.Admin, "/admin/devices/"+r.cab.ID+"/test", nil)
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "8 of 8 slots hold a key") {
		t.Errorf("cabinet test: %d", resp.StatusCode)
	}
}
