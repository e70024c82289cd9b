package access

import (
	"context"
	"testing"
	"time"

	"gatehouse/appliance/gate"
)

func TestEventRecordRoundTrip(t *testing.T) {
	e := Event{Time: time.Unix(0, 1795420800123456789), Lane: "06h0ett402y008av", Entry: true, Kind: 'c', Grant: false,
		Reason: AntiPassback, Alarm: AlarmPassback, CredID: "06h0ett400zmqm4y", Holder: "visit:06h0ett40340nsnv", Rand: 77}
	b := e.encode()
	if len(b) != eventLen {
		t.Fatalf("record is %d bytes", len(b))
	}
	got, err := decodeEvent(b)
	if err != nil || got != e {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := decodeEvent(b[:10]); err == nil {
		t.Fatal("short record accepted")
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add(Event{Time: time.Unix(0, 1), Lane: "06h0ett402y008av", Holder: "cred:06h0ett400zmqm4y"}.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEvent(b)
		if err != nil {
			return
		}
		if got, err := decodeEvent(e.encode()); err != nil || got.Time != e.Time || got.Lane != e.Lane {
			t.Fatalf("re-encode differs: %+v %+v", e, got)
		}
	})
}

func TestEventsOccupancyAndHistory(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c, err := w.acc.Enrol(ctx, "t", Credential{Kind: Card, Number: "0A0B0C0D", HolderKind: HolderEmployee, HolderID: w.host.ID,
		HolderName: "Host", GroupIDs: []string{w.group.ID}})
	if err != nil {
		t.Fatal(err)
	}
	w.present(t, gate.Card, "0A0B0C0D", true) // grant
	w.clk.Advance(time.Second)
	w.present(t, gate.Card, "0A0B0C0D", true) // anti-passback
	w.clk.Advance(time.Second)
	w.present(t, gate.Card, "FFFFFFFF", true) // unknown
	inside, err := w.acc.Inside("")
	if err != nil || len(inside) != 1 || inside[0].Holder != w.host.ID || inside[0].ZoneID != w.zone.ID {
		t.Fatalf("inside = %+v %v", inside, err)
	}
	recent, _ := w.acc.Recent(10)
	if len(recent) != 3 || recent[0].Reason != Unknown || recent[1].Reason != AntiPassback || !recent[2].Grant || recent[2].CredID != c.ID {
		t.Fatalf("recent = %+v", recent)
	}
	hist, _ := w.acc.HolderEvents(w.host.ID, 10)
	if len(hist) != 2 {
		t.Fatalf("holder history = %d", len(hist))
	}
	w.clk.Advance(time.Second)
	w.present(t, gate.Card, "0A0B0C0D", false)
	if inside, _ := w.acc.Inside(w.zone.ID); len(inside) != 0 {
		t.Fatalf("still inside after leaving: %+v", inside)
	}
}

func TestAlarmsRaisedAndAcknowledged(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.acc.Enrol(ctx, "t", Credential{Kind: Card, Number: "0A0B0C0E", HolderKind: HolderEmployee, HolderName: "Twice",
		GroupIDs: []string{w.group.ID}}); err != nil {
		t.Fatal(err)
	}
	var live []AlarmRecord
	w.acc.OnEvent(func(o Outcome, e Event) {
		if e.Alarm != NoAlarm {
			live = append(live, AlarmOf(e, o.Name))
		}
	})
	w.present(t, gate.Card, "0A0B0C0E", true)
	w.clk.Advance(time.Second)
	w.present(t, gate.Card, "0A0B0C0E", true) // hard anti-passback: alarm
	stored, _ := w.acc.Alarms(true, 10)
	if len(live) != 1 || len(stored) != 1 || live[0] != stored[0] {
		t.Fatalf("the live feed's alarm %+v is not the stored %+v", live, stored)
	}
	w.clk.Advance(time.Second)
	if err := w.acc.Raise(ctx, "device:contact-1", AlarmDoorForced, w.lane.ID, ""); err != nil {
		t.Fatal(err)
	}
	open, err := w.acc.Alarms(true, 10)
	if err != nil || len(open) != 2 || open[1].Kind != AlarmPassback || open[1].Name != "Twice" || open[0].Kind != AlarmDoorForced {
		t.Fatalf("open alarms = %+v %v", open, err)
	}
	if err := w.acc.Acknowledge(ctx, "account:guard", open[0].Key, " "); err == nil {
		t.Fatal("acknowledged without a note")
	}
	if err := w.acc.Acknowledge(ctx, "account:guard", open[0].Key, "checked, wind"); err != nil {
		t.Fatal(err)
	}
	if err := w.acc.Acknowledge(ctx, "account:guard", open[0].Key, "again"); err == nil {
		t.Fatal("acknowledged twice")
	}
	if err := w.acc.Acknowledge(ctx, "account:guard", "nonsense", "x"); err == nil {
		t.Fatal("unknown alarm acknowledged")
	}
	open, _ = w.acc.Alarms(true, 10)
	all, _ := w.acc.Alarms(false, 10)
	if len(open) != 1 || len(all) != 2 || all[0].AckNote != "checked, wind" || all[0].AckBy != "account:guard" {
		t.Fatalf("after ack: open %d all %+v", len(open), all)
	}
}

func TestDoorForcedAndHeldOpen(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	door := func(open bool) {
		w.acc.DoorChanged(ctx, gate.DoorState{Lane: w.lane.ID, Open: open, Device: "contact"})
	}
	kinds := func() []Alarm {
		as, _ := w.acc.Alarms(false, 10)
		var out []Alarm
		for _, a := range as {
			out = append(out, a.Kind)
		}
		return out
	}
	// Opened with no grant: forced.
	door(true)
	door(true) // the same opening reported again raises nothing new
	if k := kinds(); len(k) != 1 || k[0] != AlarmDoorForced {
		t.Fatalf("alarms = %v", k)
	}
	door(false)
	// A grant, then the door opens: fine; left open past a minute: held.
	if _, err := w.acc.Enrol(ctx, "t", Credential{Kind: Card, Number: "01020304", HolderKind: HolderEmployee, HolderName: "P", GroupIDs: []string{w.group.ID}}); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(time.Second)
	w.present(t, gate.Card, "01020304", true)
	w.clk.Advance(2 * time.Second)
	door(true)
	w.clk.Advance(30 * time.Second)
	w.acc.CheckDoors(ctx)
	if k := kinds(); len(k) != 1 {
		t.Fatalf("alarms after a granted opening = %v", k)
	}
	w.clk.Advance(31 * time.Second)
	w.acc.CheckDoors(ctx)
	w.acc.CheckDoors(ctx)
	if k := kinds(); len(k) != 2 || k[0] != AlarmDoorHeld {
		t.Fatalf("alarms after a minute open = %v", k)
	}
}
