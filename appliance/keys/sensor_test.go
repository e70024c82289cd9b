package keys

import (
	"context"
	"errors"
	"testing"
	"time"

	"gatehouse/appliance/device"
)

func TestSense(t *testing.T) {
	cases := []struct {
		name    string
		state   State
		level   int
		present bool
		want    Sensing
	}{
		{"taken without checkout", In, 1, false, Sensing{Event: "sensed_out", Note: SensedNoCheckout, Alarm: true}},
		{"taken on its checkout", Out, 1, false, Sensing{Event: "sensed_out", Note: SensedCheckedOut}},
		{"top-level taken without checkout", In, TopLevel, false, Sensing{Event: "sensed_out", Note: SensedNoCheckout, Alarm: true}},
		{"lost key's slot empties", Lost, 1, false, Sensing{Event: "sensed_out", Note: "lost"}},
		{"back from its checkout", Out, 1, true, Sensing{Event: "sensed_in", Note: SensedReturned, Return: true}},
		{"restricted key back from its checkout", Out, 2, true, Sensing{Event: "sensed_in", Note: SensedReturned, Return: true}},
		{"top-level back: the second person must confirm", Out, TopLevel, true, Sensing{Event: "sensed_in", Note: SensedAwaitsReturn}},
		{"put back after being taken unchecked", In, 1, true, Sensing{Event: "sensed_in", Note: SensedInSlot}},
		{"lost key found in its slot", Lost, 1, true, Sensing{Event: "sensed_in", Note: "lost"}},
		{"retired key in a slot", Retired, 1, true, Sensing{Event: "sensed_in", Note: "retired"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Sense(Key{State: c.state, Level: c.level}, c.present); got != c.want {
				t.Errorf("Sense = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestSensorAuditLines(t *testing.T) {
	sn := func(in int) *Sensor { return &Sensor{Device: "cab", Input: in} }
	ks := []Key{
		{Tag: "K3", Cabinet: "A", State: In, Sensor: sn(2)},      // present: fine
		{Tag: "K1", Cabinet: "A", State: In, Sensor: sn(0)},      // absent: missing
		{Tag: "K2", Cabinet: "A", State: Out, Sensor: sn(1)},     // absent: fine
		{Tag: "K4", Cabinet: "A", State: Out, Sensor: sn(3)},     // present though out
		{Tag: "K5", Cabinet: "A", State: In, Sensor: sn(4)},      // cabinet not answering
		{Tag: "K6", Cabinet: "B", State: In, Sensor: sn(5)},      // another cabinet
		{Tag: "K7", Cabinet: "A", State: In},                     // no sensor
		{Tag: "K8", Cabinet: "A", State: Retired, Sensor: sn(6)}, // retired
	}
	present := map[int]bool{2: true, 3: true}
	state := func(s Sensor) (bool, bool) { return present[s.Input], s.Input != 4 }
	ls := SensorAudit("a", ks, state)
	type row struct {
		tag                string
		present, known, dx bool
	}
	want := []row{{"K1", false, true, true}, {"K2", false, true, false}, {"K3", true, true, false}, {"K4", true, true, true}, {"K5", false, false, false}}
	if len(ls) != len(want) {
		t.Fatalf("lines %+v, want %d", ls, len(want))
	}
	for i, w := range want {
		l := ls[i]
		if got := (row{l.Key.Tag, l.Present, l.Known, l.Discrepancy}); got != w {
			t.Errorf("line %d = %+v, want %+v", i, got, w)
		}
	}
}

type taken struct{ tags []string }

func (t *taken) KeyTaken(_ context.Context, k Key, cabinet string) error {
	t.tags = append(t.tags, k.Tag+"@"+cabinet)
	return nil
}

func (f *fixture) cabinet(name, addr string, slots int) device.Device {
	f.t.Helper()
	device.Register(f.st)
	d, err := device.New(f.st, f.clock).Save(context.Background(), "test", device.Device{Name: name, Port: "/dev/ttyCAB" + name,
		Protocol: device.Modbus, Role: device.KeyCabinet, Address: addr, Options: device.Options{Slots: slots}, Enabled: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func TestSensorMappingChecked(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cab := f.cabinet("Cab", "1:8", 4) // inputs 8..11
	k1, k2 := f.key("K1", 1, nil), f.key("K2", 1, nil)
	for _, c := range []struct {
		name  string
		s     Sensor
		field string
		code  string
	}{
		{"unknown device", Sensor{Device: "nope", Input: 8}, "sensor_device", "key_sensor_device"},
		{"below the cabinet's inputs", Sensor{Device: cab.ID, Input: 7}, "sensor_input", "key_sensor_input"},
		{"past the cabinet's inputs", Sensor{Device: cab.ID, Input: 12}, "sensor_input", "key_sensor_input"},
	} {
		if err := f.svc.SetSensor(ctx, f.boss, k1.ID, &c.s); code(err, c.field) != c.code {
			t.Errorf("%s: %v, want %s on %s", c.name, err, c.code, c.field)
		}
	}
	if err := f.svc.SetSensor(ctx, f.boss, k1.ID, &Sensor{Device: cab.ID, Input: 11}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetSensor(ctx, f.boss, k2.ID, &Sensor{Device: cab.ID, Input: 11}); code(err, "sensor_input") != "key_sensor_taken" {
		t.Errorf("second key on one input: %v", err)
	}
	if k, err := f.svc.BySensor(Sensor{Device: cab.ID, Input: 11}); err != nil || k.ID != k1.ID {
		t.Errorf("BySensor = %v, %v", k.Tag, err)
	}
	if err := f.svc.SetSensor(ctx, f.boss, k1.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.BySensor(Sensor{Device: cab.ID, Input: 11}); !errors.Is(err, ErrNoSensor) {
		t.Errorf("unmapped: %v", err)
	}
	h, _ := f.svc.History(k1.ID)
	if last := h[len(h)-1]; last.Kind != "sensor" || last.Note != "removed" {
		t.Errorf("history ends %+v", last)
	}
	verify(t, f.st)
}

func TestSlotChangesBecomeKeyRoomCommands(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cab := f.cabinet("Cab", "1:0", 8)
	alarm := &taken{}
	ss := NewSensors(f.svc, alarm)
	k := f.key("K1", 1, nil)
	top := f.key("K9", TopLevel, func(k *Key) { k.Slot = "9" })
	if err := f.svc.SetSensor(ctx, f.boss, k.ID, &Sensor{Device: cab.ID, Input: 0}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetSensor(ctx, f.boss, top.ID, &Sensor{Device: cab.ID, Input: 1}); err != nil {
		t.Fatal(err)
	}
	change := func(in int, present bool) Sensing {
		t.Helper()
		f.clock.Advance(time.Minute)
		sn, err := ss.SlotChanged(ctx, SlotChange{Device: cab.ID, Name: cab.Name, Input: in, Present: present, At: f.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return sn
	}
	// Taken without a checkout: the alarm, and the key stays in on the records.
	if sn := change(0, false); !sn.Alarm || sn.Note != SensedNoCheckout {
		t.Errorf("taken unchecked: %+v", sn)
	}
	if len(alarm.tags) != 1 || alarm.tags[0] != "K1@Cab" {
		t.Errorf("alarms %v", alarm.tags)
	}
	if sn := change(0, true); sn.Note != SensedInSlot {
		t.Errorf("put back: %+v", sn)
	}
	// Taken on a checkout: no alarm; back in its slot: returned.
	co, err := f.svc.Checkout(ctx, f.guard, CheckoutInput{KeyID: k.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if sn := change(0, false); sn.Alarm || sn.Note != SensedCheckedOut {
		t.Errorf("taken on checkout: %+v", sn)
	}
	if sn := change(0, true); !sn.Return {
		t.Errorf("back: %+v", sn)
	}
	if len(alarm.tags) != 1 {
		t.Errorf("alarms %v", alarm.tags)
	}
	got, _ := f.svc.Get(k.ID)
	c, _ := f.svc.CheckoutByID(co.ID)
	if got.State != In || got.Checkout != "" || c.Returned == 0 || !c.ReturnSensed || c.ReturnSlot != "1" {
		t.Errorf("after sensed return: key %+v checkout %+v", got, c)
	}
	if open, _ := f.svc.OpenCheckouts(); len(open) != 0 {
		t.Errorf("open checkouts %v", open)
	}
	h, _ := f.svc.History(k.ID)
	var kinds []string
	for _, e := range h {
		kinds = append(kinds, e.Kind+":"+e.Note)
	}
	want := []string{"registered:", "sensor:Cab 0", "sensed_out:no_checkout", "sensed_in:in_slot", "checkout:", "sensed_out:checked_out", "sensed_in:returned"}
	if len(kinds) != len(want) {
		t.Fatalf("history %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Errorf("history %v, want %v", kinds, want)
			break
		}
	}
	// A top-level key seen back stays out until the second person signs.
	if _, err := f.svc.Checkout(ctx, f.boss, CheckoutInput{KeyID: top.ID, Reason: "cleaning", Due: f.clock.Now().Add(time.Hour),
		Approval: Approval{Username: "other", Password: "password-other"}}); err != nil {
		t.Fatal(err)
	}
	change(1, false)
	if sn := change(1, true); sn.Return || sn.Note != SensedAwaitsReturn {
		t.Errorf("top-level back: %+v", sn)
	}
	if got, _ := f.svc.Get(top.ID); got.State != Out {
		t.Errorf("top-level key %s after being seen back", got.State)
	}
	// An input no key is mapped to says nothing.
	if _, err := ss.SlotChanged(ctx, SlotChange{Device: cab.ID, Name: cab.Name, Input: 5, At: f.clock.Now()}); !errors.Is(err, ErrNoSensor) {
		t.Errorf("unmapped input: %v", err)
	}
	verify(t, f.st)
}

func TestFillFromSensors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cab := f.cabinet("Cab", "1:0", 4)
	k1, k2 := f.key("K1", 1, nil), f.key("K2", 1, func(k *Key) { k.Slot = "2" })
	for i, k := range []Key{k1, k2} {
		if err := f.svc.SetSensor(ctx, f.boss, k.ID, &Sensor{Device: cab.ID, Input: i}); err != nil {
			t.Fatal(err)
		}
	}
	a, err := f.svc.StartAudit(ctx, f.guard, "A")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := f.svc.FillFromSensors(ctx, f.guard, a.ID, func(s Sensor) (bool, bool) { return s.Input == 0, true })
	if err != nil || len(ls) != 2 || !ls[1].Discrepancy {
		t.Fatalf("lines %+v, %v", ls, err)
	}
	a, err = f.svc.FinishAudit(ctx, f.guard, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Report.Present != 1 || len(a.Report.Missing) != 1 || a.Report.Missing[0].Tag != "K2" {
		t.Errorf("report %+v", a.Report)
	}
}
