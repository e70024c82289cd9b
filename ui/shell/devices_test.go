package shell

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/access"
	"gatehouse/appliance/config"
	"gatehouse/appliance/device"
	"gatehouse/appliance/gate"
	"gatehouse/drivers/idcard"
	"gatehouse/drivers/sim"
)

func TestDevicesCommands(t *testing.T) {
	d := t.TempDir()
	sims := t.TempDir()
	ctx := context.Background()
	cfg, _ := config.Load("", nil)
	a, err := appliance.Open(ctx, d, cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	z, _ := a.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	lane, err := a.Access.SaveLane(ctx, "t", access.Lane{Name: "Gate A", ZoneID: z.ID, PulseMs: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, dev := range []device.Device{
		{Name: "Gate A relay", Port: filepath.Join(sims, "board"), Protocol: device.Modbus, Address: "1:2", Role: device.Relay, LaneID: lane.ID, Enabled: true},
		{Name: "Gate A cards", Port: filepath.Join(sims, "cards"), Protocol: device.Scanner, Role: device.EntryReader, LaneID: lane.ID,
			Options: device.Options{Reads: gate.Card}}, // disabled: a test may try it before it is put to use
		{Name: "Gate A OSDP", Port: filepath.Join(sims, "rs485"), Protocol: device.OSDP, Address: "0", Role: device.ExitReader, LaneID: lane.ID},
		{Name: "Desk printer", Port: filepath.Join(sims, "printer"), Protocol: device.ESCPOS, Role: device.Printer, Enabled: true},
		{Name: "SMS modem", Port: filepath.Join(sims, "modem"), Protocol: device.Modem, Role: device.ModemRole, Baud: 115200, Enabled: true},
	} {
		if _, err := a.Devices.Save(ctx, "t", dev); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()

	code, out, errs := run(t, "", "devices", "--data", d)
	if code != 0 || !strings.Contains(out, "Gate A relay") || !strings.Contains(out, "1:2") || !strings.Contains(out, "Serial ports found:") {
		t.Fatalf("devices = %d %q %q", code, out, errs)
	}

	board, err := sim.NewModbusBoard(filepath.Join(sims, "board"), sim.ModbusBoardConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer board.Close()
	code, out, errs = run(t, "", "devices", "test", "gate a relay", "--data", d)
	if code != 0 || !strings.Contains(out, "relay pulsed for 100ms") {
		t.Fatalf("test relay = %d %q %q", code, out, errs)
	}
	if got := board.CoilLog(); !reflect.DeepEqual(got, []sim.CoilWrite{{Coil: 2, On: true}, {Coil: 2, On: false}}) {
		t.Fatalf("coil writes %v", got)
	}

	// A reader test waits for one read, and shortens it unless told.
	cards, err := sim.NewScanner(filepath.Join(sims, "cards"))
	if err != nil {
		t.Fatal(err)
	}
	defer cards.Close()
	for _, show := range []bool{false, true} {
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
					cards.Scan("04A23B1C") // until the test has read one
				}
			}
		}()
		args := []string{"devices", "test", "Gate A cards", "--data", d}
		if show {
			args = append(args, "--show")
		}
		code, out, errs = run(t, "", args...)
		close(stop)
		want := "read card 04A***1C (8 characters)"
		if show {
			want = "read card 04A23B1C (8 characters)"
		}
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("test reader (show %v) = %d %q %q", show, code, out, errs)
		}
	}

	// A reader nobody presents a card to: the test gives up.
	if code, _, errs := run(t, "", "devices", "test", "Gate A OSDP", "--timeout", "200ms", "--data", d); code != 1 {
		t.Fatalf("test osdp = %d %q", code, errs)
	}

	// The printer prints a test slip with its QR code; the modem answers.
	printer, err := sim.NewPrinter(filepath.Join(sims, "printer"))
	if err != nil {
		t.Fatal(err)
	}
	defer printer.Close()
	if code, out, errs := run(t, "", "devices", "test", "Desk printer", "--data", d); code != 0 || !strings.Contains(out, "test slip printed") {
		t.Fatalf("test printer = %d %q %q", code, out, errs)
	}
	for end := time.Now().Add(10 * time.Second); len(printer.Jobs()) == 0 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond) // the simulator reads on its own goroutine
	}
	if jobs := printer.Jobs(); len(jobs) != 1 || len(jobs[0].QR) != 1 {
		t.Fatalf("printed %+v", jobs)
	}
	mdm, err := sim.NewModem(filepath.Join(sims, "modem"), sim.ModemConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer mdm.Close()
	if code, out, errs := run(t, "", "devices", "test", "SMS modem", "--data", d); code != 0 || !strings.Contains(out, "modem answers; signal") {
		t.Fatalf("test modem = %d %q %q", code, out, errs)
	}
	if code, _, errs := run(t, "", "devices", "test", "nothing", "--data", d); code != 1 || !strings.Contains(errs, "no device named") {
		t.Fatalf("test unknown = %d %q", code, errs)
	}
	if code, _, _ := run(t, "", "devices", "test", "--data", d); code != 2 {
		t.Fatalf("test without a name = %d, want 2", code)
	}
	if code, _, _ := run(t, "", "devices", "frob", "--data", d); code != 2 {
		t.Fatalf("unknown subcommand = %d, want 2", code)
	}
	// A relay that is not there: the test gives up after its timeout.
	board.Unplug()
	if code, _, errs := run(t, "", "devices", "test", "Gate A relay", "--data", d, "--timeout", "300ms"); code != 1 || !strings.Contains(errs, "offline") {
		t.Fatalf("test of an unplugged relay = %d %q", code, errs)
	}
}

// An ID card reader test reads one card and prints its fields, the ID
// number masked.
func TestDevicesTestIDCard(t *testing.T) {
	d := t.TempDir()
	sims := t.TempDir()
	ctx := context.Background()
	cfg, _ := config.Load("", nil)
	a, err := appliance.Open(ctx, d, cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Devices.Save(ctx, "t", device.Device{Name: "Desk ID", Port: filepath.Join(sims, "id"), Protocol: device.IDCard,
		Role: device.DocumentReader, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	rd, err := sim.NewIDCardReader(filepath.Join(sims, "id"))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	card := idcard.Card{Kind: idcard.Resident, Name: "张三", Sex: idcard.SexMale, Ethnicity: "01", Birth: idcard.Date{Year: 1949, Month: 12, Day: 31},
		Address: "北京市朝阳区某某路1号", Number: "11010519491231002X", Authority: "北京市公安局朝阳分局",
		ValidFrom: idcard.Date{Year: 2015, Month: 3, Day: 1}, LongTerm: true}
	stop := make(chan struct{})
	go func() { // the card laid on the reader again and again, until the test has read it
		for {
			select {
			case <-stop:
				return
			case <-time.After(400 * time.Millisecond):
				rd.RemoveCard()
			}
			select {
			case <-stop:
				return
			case <-time.After(400 * time.Millisecond):
				rd.PresentCard(card)
			}
		}
	}()
	code, out, errs := run(t, "", "devices", "test", "Desk ID", "--data", d, "--show")
	close(stop)
	if code != 0 || !strings.Contains(out, "read a resident card") || !strings.Contains(out, "张三") || !strings.Contains(out, "汉 (01)") ||
		!strings.Contains(out, "110*************2X") || !strings.Contains(out, "long-term") {
		t.Fatalf("test ID card reader = %d %q %q", code, out, errs)
	}
	if strings.Contains(out+errs, card.Number) {
		t.Fatal("the ID number was printed whole")
	}

	// No card: the test gives up after its timeout.
	rd.RemoveCard()
	if code, _, errs := run(t, "", "devices", "test", "Desk ID", "--data", d, "--timeout", "500ms"); code != 1 {
		t.Fatalf("test with no card = %d %q", code, errs)
	}
}
