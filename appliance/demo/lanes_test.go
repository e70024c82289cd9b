package demo

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"gatehouse/appliance"
	"gatehouse/appliance/access"
	"gatehouse/appliance/config"
	"gatehouse/appliance/device"
	"gatehouse/appliance/gate"
)

func TestLanesOnceAndRepointed(t *testing.T) {
	cfg, _ := config.Load("", nil)
	ctx := context.Background()
	a, err := appliance.Open(ctx, t.TempDir(), cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := Seed(ctx, a); err != nil {
		t.Fatal(err)
	}
	first := t.TempDir()
	if err := Lanes(ctx, a, first); err != nil {
		t.Fatal(err)
	}
	ds, _ := a.Devices.Devices()
	if len(ds) != 18 {
		t.Fatalf("%d devices, want 18", len(ds))
	}
	// The demo keys of cabinet A are on its sensors, slot n on input n-1.
	cab, err := a.Devices.ByName(CabinetA)
	if err != nil {
		t.Fatal(err)
	}
	for tag, in := range map[string]int{"K-1201": 0, "K-0302": 1, "K-PLANT": 8} {
		if k, err := a.KeyRoom.ByTag(tag); err != nil || k.Sensor == nil || k.Sensor.Device != cab.ID || k.Sensor.Input != in {
			t.Errorf("%s's sensor %+v %v, want input %d", tag, k.Sensor, err, in)
		}
	}
	if k, _ := a.KeyRoom.ByTag("K-1201-S"); k.Sensor != nil {
		t.Error("the spare in cabinet S is on cabinet A's sensors")
	}
	// Again, from a moved data directory: nothing doubles, the devices
	// point at the new simulator paths.
	moved := t.TempDir()
	if err := Lanes(ctx, a, moved); err != nil {
		t.Fatal(err)
	}
	ds, _ = a.Devices.Devices()
	if len(ds) != 18 {
		t.Fatalf("%d devices after the second run", len(ds))
	}
	for _, d := range ds {
		if d.Protocol == device.ISAPI {
			continue // on the LAN: serve points it at its simulator's port
		}
		if filepath.Dir(d.Port) != moved || !d.Enabled {
			t.Errorf("%s at %s, enabled %v", d.Name, d.Port, d.Enabled)
		}
	}
	lanes, _ := a.Access.Lanes()
	zones, _ := a.Access.Zones()
	if len(lanes) != 2 || len(zones) != 1 || zones[0].Passback != access.PassbackSoft || !lanes[0].Visitors {
		t.Fatalf("lanes %+v zones %+v", lanes, zones)
	}
	// The demo cards decide as their notes say (the clock is the
	// machine's, so the working-hours card is not checked).
	for _, c := range []struct{ number, want string }{{Cards[0].Number, "granted"}, {Cards[2].Number, "suspended"}, {"0BADCAFE", "unknown"}} {
		o, err := a.Access.Check(gate.Presentation{Lane: lanes[0].ID, Direction: gate.In, Kind: gate.Card, Value: c.number})
		if err != nil || string(o.Reason) != c.want {
			t.Errorf("card %s: %s %v, want %s", c.number, o.Reason, err, c.want)
		}
	}
	tok, err := VisitorPass(ctx, a, "t")
	if err != nil {
		t.Fatal(err)
	}
	o, err := a.Access.Check(gate.Presentation{Lane: lanes[1].ID, Direction: gate.In, Kind: gate.QR, Value: tok})
	if err != nil || !o.Grant {
		t.Fatalf("demo visitor pass: %+v %v", o, err)
	}
}
