package shell

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gatehouse/appliance"
	"gatehouse/appliance/access"
	"gatehouse/appliance/config"
	"gatehouse/appliance/device"
	"gatehouse/appliance/directory"
	"gatehouse/drivers/sim"
)

// `devices test BOARD` releases every floor of the car's map in one write
// and switches them off again; `devices test FIRE` reads the fire input.
func TestDevicesTestElevatorBoard(t *testing.T) {
	d, sims := t.TempDir(), t.TempDir()
	ctx := context.Background()
	cfg, _ := config.Load("", nil)
	a, err := appliance.Open(ctx, d, cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f1, err := a.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "1F", Level: 1})
	must(err)
	f2, err := a.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "2F", Level: 2})
	must(err)
	z, err := a.Access.SaveZone(ctx, "t", access.Zone{Name: "Lifts"})
	must(err)
	car, err := a.Access.SaveLane(ctx, "t", access.Lane{Name: "Car A", ZoneID: z.ID, Kind: access.LaneElevator, PulseMs: 200,
		Floors: []access.FloorCoil{{Floor: f1.ID, Coil: 1}, {Floor: f2.ID, Coil: 3}}})
	must(err)
	port := filepath.Join(sims, "lift")
	_, err = a.Devices.Save(ctx, "t", device.Device{Name: "Car A board", Port: port, Protocol: device.Modbus, Address: "2:0",
		Role: device.ElevatorBoard, LaneID: car.ID, Enabled: true})
	must(err)
	_, err = a.Devices.Save(ctx, "t", device.Device{Name: "Fire panel", Port: port, Protocol: device.Modbus, Address: "2:4",
		Role: device.FireInput, Options: device.Options{Invert: true}, Enabled: true})
	must(err)
	a.Close()

	board, err := sim.NewModbusBoard(port, sim.ModbusBoardConfig{Address: 2})
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer board.Close()
	code, out, errs := run(t, "", "devices", "test", "Car A board", "--data", d)
	if code != 0 || !strings.Contains(out, "Car A board: 2 floors released for 200ms, in one write") {
		t.Fatalf("test board = %d %q %q", code, out, errs)
	}
	// The start's normal state, every floor on, every floor off: three 0x0F.
	fs := board.Frames()
	want := [][]bool{{false, false, false}, {true, false, true}, {false, false, false}}
	if len(fs) != 3 {
		t.Fatalf("writes %+v", fs)
	}
	for i, f := range fs {
		if f.Function != 0x0F || !reflect.DeepEqual(f.Values, want[i]) {
			t.Fatalf("write %d: %+v, want %v", i, f, want[i])
		}
	}
	// The fire input is wired normally closed: on is no fire.
	board.SetInput(4, true)
	code, out, errs = run(t, "", "devices", "test", "fire panel", "--data", d)
	if code != 0 || !strings.Contains(out, "Fire panel: fire alarm input normal") {
		t.Fatalf("test fire = %d %q %q", code, out, errs)
	}
	board.SetInput(4, false)
	code, out, _ = run(t, "", "devices", "test", "fire panel", "--data", d)
	if code != 0 || !strings.Contains(out, "ACTIVE") {
		t.Fatalf("test fire (open contact) = %d %q", code, out)
	}
}
