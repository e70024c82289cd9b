package shell

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/appliance"
	"gatehouse/appliance/config"
	"gatehouse/appliance/device"
	"gatehouse/appliance/keys"
	"gatehouse/drivers/sim"
)

// `devices test CABINET` reads the cabinet's inputs and prints each slot
// present or absent, with the key mapped to it.
func TestDevicesTestKeyCabinet(t *testing.T) {
	d, sims := t.TempDir(), t.TempDir()
	ctx := context.Background()
	cfg, _ := config.Load("", nil)
	a, err := appliance.Open(ctx, d, cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cab, err := a.Devices.Save(ctx, "t", device.Device{Name: "Key cabinet", Port: filepath.Join(sims, "cab"), Protocol: device.Modbus,
		Address: "3:2", Role: device.KeyCabinet, Options: device.Options{Slots: 3}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	by := keys.Person{ID: "0000000000000001", Name: "Admin", Role: "admin"}
	k, err := a.KeyRoom.RegisterKey(ctx, by, keys.Key{Tag: "K-101", Customer: "Acme", Cabinet: "A", Slot: "3", Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.KeyRoom.SetSensor(ctx, by, k.ID, &keys.Sensor{Device: cab.ID, Input: 3}); err != nil {
		t.Fatal(err)
	}
	a.Close()

	board, err := sim.NewModbusBoard(filepath.Join(sims, "cab"), sim.ModbusBoardConfig{Address: 3})
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer board.Close()
	board.SetInputs(2, []bool{true, false, true})
	code, out, errs := run(t, "", "devices", "test", "key cabinet", "--data", d)
	want := []string{"Key cabinet: 2 of 3 slots hold a key", "input 2    present", "input 3    absent   key K-101 (A / 3, in)", "input 4    present"}
	for _, w := range want {
		if code != 0 || !strings.Contains(out, w) {
			t.Fatalf("test cabinet = %d %q %q, want %q", code, out, errs, w)
		}
	}
}
