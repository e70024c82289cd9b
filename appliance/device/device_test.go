package device

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/store"
)

const (
	id1   = "0000000000000001"
	lane1 = "00000000000000a1"
)

func TestCheck(t *testing.T) {
	ok := func(f func(*Device)) Device {
		d := Device{ID: id1, Name: "Gate A entry", Port: "/dev/ttyACM0", Protocol: Scanner, Role: EntryReader, LaneID: lane1, Enabled: true}
		if f != nil {
			f(&d)
		}
		return d
	}
	tests := []struct {
		name  string
		dev   Device
		field string // "" = valid
		code  string
		check func(t *testing.T, d Device)
	}{
		{"a scanner at a lane", ok(nil), "", "", func(t *testing.T, d Device) {
			if d.Baud != 9600 || d.Address != "" || d.Direction() != gate.In || d.Reads() != gate.QR {
				t.Fatalf("normalised to %+v", d)
			}
		}},
		{"no ID", ok(func(d *Device) { d.ID = "" }), "id", "invalid", nil},
		{"no name", ok(func(d *Device) { d.Name = "  " }), "name", "required", nil},
		{"name too long", ok(func(d *Device) { d.Name = string(make([]rune, 65)) }), "name", "too_long", nil},
		{"no port", ok(func(d *Device) { d.Port = "" }), "port", "required", nil},
		{"relative port", ok(func(d *Device) { d.Port = "ttyUSB0" }), "port", "device_port_invalid", nil},
		{"port with a newline", ok(func(d *Device) { d.Port = "/dev/tty\nUSB0" }), "port", "device_port_invalid", nil},
		{"port cleaned", ok(func(d *Device) { d.Port = " /dev//ttyUSB0/ " }), "", "", func(t *testing.T, d Device) {
			if d.Port != "/dev/ttyUSB0" {
				t.Fatalf("port %q", d.Port)
			}
		}},
		{"odd baud", ok(func(d *Device) { d.Baud = 9601 }), "baud", "device_baud_invalid", nil},
		{"negative baud", ok(func(d *Device) { d.Baud = -1 }), "baud", "device_baud_invalid", nil},
		{"unknown protocol", ok(func(d *Device) { d.Protocol = "x10" }), "protocol", "invalid", nil},
		{"unknown role", ok(func(d *Device) { d.Role = "coffee" }), "role", "invalid", nil},
		{"scanner as relay", ok(func(d *Device) { d.Role = Relay }), "role", "device_role_mismatch", nil},
		{"modbus reader", ok(func(d *Device) { d.Protocol, d.Address = Modbus, "1:0" }), "role", "device_role_mismatch", nil},
		{"reader without lane", ok(func(d *Device) { d.LaneID = "" }), "lane_id", "required", nil},
		{"lane not an ID", ok(func(d *Device) { d.LaneID = "../x" }), "lane_id", "device_lane_unknown", nil},
		{"enrolment reader needs no lane", ok(func(d *Device) { d.Role, d.LaneID = EnrolmentReader, "" }), "", "", nil},
		{"exit reader goes out", ok(func(d *Device) { d.Role = ExitReader }), "", "", func(t *testing.T, d Device) {
			if d.Direction() != gate.Out {
				t.Fatal("exit reader reads in")
			}
		}},
		{"card reader in serial mode", ok(func(d *Device) { d.Options.Reads = gate.Card }), "", "", func(t *testing.T, d Device) {
			if d.Reads() != gate.Card {
				t.Fatal("reads", d.Reads())
			}
		}},
		{"reads something odd", ok(func(d *Device) { d.Options.Reads = "dna" }), "reads", "invalid", nil},
		{"prefix too long", ok(func(d *Device) { d.Options.Prefix = "12345678901234567" }), "prefix", "too_long", nil},
		{"line device address dropped", ok(func(d *Device) { d.Address = "3" }), "", "", func(t *testing.T, d Device) {
			if d.Address != "" {
				t.Fatalf("address %q kept", d.Address)
			}
		}},
		{"modbus relay", ok(func(d *Device) { d.Protocol, d.Role, d.Address = Modbus, Relay, " 01 : 2 " }), "", "", func(t *testing.T, d Device) {
			if d.Address != "1:2" || d.Options.Prefix != "" {
				t.Fatalf("%+v", d)
			}
		}},
		{"modbus without coil", ok(func(d *Device) { d.Protocol, d.Role, d.Address = Modbus, Relay, "1" }), "address", "device_modbus_address", nil},
		{"modbus slave 0", ok(func(d *Device) { d.Protocol, d.Role, d.Address = Modbus, Relay, "0:1" }), "address", "device_modbus_address", nil},
		{"modbus slave 248", ok(func(d *Device) { d.Protocol, d.Role, d.Address = Modbus, Relay, "248:1" }), "address", "device_modbus_address", nil},
		{"modbus coil too big", ok(func(d *Device) { d.Protocol, d.Role, d.Address = Modbus, Relay, "1:65536" }), "address", "device_modbus_address", nil},
		{"door contact inverted", ok(func(d *Device) {
			d.Protocol, d.Role, d.Address, d.Options.Invert = Modbus, DoorContact, "2:7", true
		}), "", "", func(t *testing.T, d Device) {
			if !d.Options.Invert {
				t.Fatal("invert dropped")
			}
		}},
		{"invert only for doors", ok(func(d *Device) { d.Options.Invert = true }), "", "", func(t *testing.T, d Device) {
			if d.Options.Invert {
				t.Fatal("invert kept on a scanner")
			}
		}},
		{"usb relay", ok(func(d *Device) { d.Protocol, d.Role, d.Address = USBRelay, Relay, "04" }), "", "", func(t *testing.T, d Device) {
			if d.Address != "4" {
				t.Fatalf("address %q", d.Address)
			}
		}},
		{"usb relay 0", ok(func(d *Device) { d.Protocol, d.Role, d.Address = USBRelay, Relay, "0" }), "address", "device_relay_number", nil},
		{"osdp reader", ok(func(d *Device) { d.Protocol, d.Address, d.Options.Secure = OSDP, "0", true }), "", "", func(t *testing.T, d Device) {
			if !d.Options.Secure || d.Address != "0" {
				t.Fatalf("%+v", d)
			}
		}},
		{"osdp broadcast address", ok(func(d *Device) { d.Protocol, d.Address = OSDP, "127" }), "address", "device_osdp_address", nil},
		{"secure only for osdp", ok(func(d *Device) { d.Options.Secure = true }), "", "", func(t *testing.T, d Device) {
			if d.Options.Secure {
				t.Fatal("secure kept on a scanner")
			}
		}},
		{"osdp reader output", ok(func(d *Device) { n := 3; d.Protocol, d.Address, d.Options.Output = OSDP, "1", &n }), "", "", func(t *testing.T, d Device) {
			if d.Options.Output == nil || *d.Options.Output != 3 {
				t.Fatalf("%+v", d.Options)
			}
		}},
		{"osdp output out of range", ok(func(d *Device) { n := 256; d.Protocol, d.Address, d.Options.Output = OSDP, "1", &n }), "output", "invalid", nil},
		{"output only for osdp lane readers", ok(func(d *Device) { n := 1; d.Options.Output = &n }), "", "", func(t *testing.T, d Device) {
			if d.Options.Output != nil {
				t.Fatal("output kept on a scanner")
			}
		}},
		{"document reader", ok(func(d *Device) { d.Protocol, d.Role, d.LaneID, d.Baud = MRZ, DocumentReader, "", 115200 }), "", "", nil},
		{"ID card reader at 115200 by default", ok(func(d *Device) { d.Protocol, d.Role, d.LaneID, d.Baud = IDCard, DocumentReader, "", 0 }), "", "", func(t *testing.T, d Device) {
			if d.Baud != 115200 || d.Address != "" {
				t.Fatalf("baud %d, address %q", d.Baud, d.Address)
			}
		}},
		{"ID card reader at a lane", ok(func(d *Device) { d.Protocol = IDCard }), "role", "device_role_mismatch", nil},
		{"printer", ok(func(d *Device) { d.Protocol, d.Role, d.LaneID = ESCPOS, Printer, "" }), "", "", nil},
		{"modem", ok(func(d *Device) { d.Protocol, d.Role, d.LaneID = Modem, ModemRole, "" }), "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.dev
			es := Check(&d)
			if tc.field == "" {
				if len(es) > 0 {
					t.Fatalf("refused: %v", es)
				}
			} else if got := es.For(tc.field); got.Code != tc.code {
				t.Fatalf("%s: got %q (all: %v), want %q", tc.field, got.Code, es, tc.code)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

type world struct {
	svc  *Service
	acc  *access.Service
	lane access.Lane
	b    access.Lane
}

func newWorld(t *testing.T) *world {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	access.Register(st)
	Register(st)
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	w := &world{svc: New(st, clk), acc: access.New(st, clk, time.UTC, nil, nil)}
	ctx := context.Background()
	z, err := w.acc.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	if err != nil {
		t.Fatal(err)
	}
	if w.lane, err = w.acc.SaveLane(ctx, "t", access.Lane{Name: "Gate A", ZoneID: z.ID}); err != nil {
		t.Fatal(err)
	}
	if w.b, err = w.acc.SaveLane(ctx, "t", access.Lane{Name: "Gate B", ZoneID: z.ID}); err != nil {
		t.Fatal(err)
	}
	return w
}

func fieldCode(err error, name string) string {
	es, _ := field.As(err)
	return es.For(name).Code
}

func TestSaveChecksOtherRecords(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	save := func(d Device) (Device, error) { return w.svc.Save(ctx, "t", d) }
	scan, err := save(Device{Name: "Gate A entry", Port: "/dev/ttyACM0", Protocol: Scanner, Role: EntryReader, LaneID: w.lane.ID, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if scan.ID == "" || scan.Created == 0 || scan.Baud != 9600 {
		t.Fatalf("saved %+v", scan)
	}
	relay, err := save(Device{Name: "Gate A relay", Port: "/dev/ttyUSB0", Protocol: Modbus, Address: "1:0", Role: Relay, LaneID: w.lane.ID})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		dev         Device
		field, code string
	}{
		{"unknown lane", Device{Name: "X", Port: "/dev/ttyACM1", Protocol: Scanner, Role: EntryReader, LaneID: "00000000000000ff"}, "lane_id", "device_lane_unknown"},
		{"name taken in another case", Device{Name: "gate a ENTRY", Port: "/dev/ttyACM1", Protocol: Scanner, Role: ExitReader, LaneID: w.lane.ID}, "name", "device_name_taken"},
		{"scanner on a scanner's port", Device{Name: "X", Port: "/dev/ttyACM0", Protocol: Scanner, Role: ExitReader, LaneID: w.lane.ID}, "port", "device_port_in_use"},
		{"scanner on a modbus bus", Device{Name: "X", Port: "/dev/ttyUSB0", Protocol: Scanner, Role: ExitReader, LaneID: w.lane.ID}, "port", "device_port_in_use"},
		{"modbus at another baud", Device{Name: "X", Port: "/dev/ttyUSB0", Baud: 19200, Protocol: Modbus, Address: "1:1", Role: Relay, LaneID: w.b.ID}, "port", "device_port_in_use"},
		{"same coil twice", Device{Name: "X", Port: "/dev/ttyUSB0", Protocol: Modbus, Address: "1:0", Role: Relay, LaneID: w.b.ID}, "address", "device_address_in_use"},
		{"second relay on a lane", Device{Name: "X", Port: "/dev/ttyUSB0", Protocol: Modbus, Address: "1:1", Role: Relay, LaneID: w.lane.ID}, "lane_id", "device_lane_has_relay"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := save(tc.dev)
			if !errors.Is(err, field.ErrInvalid) || fieldCode(err, tc.field) != tc.code {
				t.Fatalf("got %v, want %s: %s", err, tc.field, tc.code)
			}
		})
	}
	// What may share a bus does: a second relay for lane B on the next
	// coil, and a door contact on input 0 (coil 0 is another point).
	if _, err := save(Device{Name: "Gate B relay", Port: "/dev/ttyUSB0", Protocol: Modbus, Address: "1:1", Role: Relay, LaneID: w.b.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := save(Device{Name: "Gate A door", Port: "/dev/ttyUSB0", Protocol: Modbus, Address: "1:0", Role: DoorContact, LaneID: w.lane.ID}); err != nil {
		t.Fatal(err)
	}
	// A device keeps its own name and address on update, and a rename
	// frees the old name.
	relay.Name = "Turnstile A"
	relay.Enabled = true
	if relay, err = save(relay); err != nil || relay.Name != "Turnstile A" || !relay.Enabled {
		t.Fatalf("update: %+v %v", relay, err)
	}
	if _, err := w.svc.ByName("gate a relay"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old name still found: %v", err)
	}
	if got, err := w.svc.ByName("TURNSTILE a"); err != nil || got.ID != relay.ID {
		t.Fatalf("by name: %+v %v", got, err)
	}
	ds, err := w.svc.Devices()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	if want := []string{"Gate A door", "Gate A entry", "Gate B relay", "Turnstile A"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("listed %v, want %v", names, want)
	}
	// Delete frees the name; deleting again is not found.
	changes := w.svc.Changes()
	if err := w.svc.Delete(ctx, "t", scan.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changes:
	default:
		t.Fatal("delete did not signal a change")
	}
	if err := w.svc.Delete(ctx, "t", scan.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := w.svc.Delete(ctx, "t", "../../etc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete of a bad ID: %v", err)
	}
	if _, err := save(Device{Name: "Gate A entry", Port: "/dev/ttyACM0", Protocol: Scanner, Role: EntryReader, LaneID: w.lane.ID}); err != nil {
		t.Fatalf("name and port not freed: %v", err)
	}
}

func TestPorts(t *testing.T) {
	root := t.TempDir()
	mk := func(p string) {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mk("dev/ttyUSB0")
	mk("dev/ttyUSB1")
	mk("dev/ttyACM0")
	mk("dev/ttyS0")
	mk("dev/ttyS1")
	mk("dev/tty0") // a console, not a serial port
	mk("sys/class/tty/ttyS0/type")
	os.WriteFile(filepath.Join(root, "sys/class/tty/ttyS0/type"), []byte("4\n"), 0o600)
	mk("sys/class/tty/ttyS1/type")
	os.WriteFile(filepath.Join(root, "sys/class/tty/ttyS1/type"), []byte("0\n"), 0o600)
	os.MkdirAll(filepath.Join(root, "dev/serial/by-id"), 0o755)
	link := filepath.Join(root, "dev/serial/by-id/usb-FTDI_FT232R-if00-port0")
	if err := os.Symlink("../../ttyUSB1", link); err != nil {
		t.Fatal(err)
	}
	got := Ports(root)
	want := []Port{
		{Path: filepath.Join(root, "dev/serial/by-id/usb-FTDI_FT232R-if00-port0"), Target: filepath.Join(root, "dev/ttyUSB1")},
		{Path: filepath.Join(root, "dev/ttyACM0")},
		{Path: filepath.Join(root, "dev/ttyS0")},
		{Path: filepath.Join(root, "dev/ttyUSB0")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ports\n got %+v\nwant %+v", got, want)
	}
}

func TestServiceWithoutRuntime(t *testing.T) {
	w := newWorld(t)
	if h, ok := w.svc.Live().Health("x"); !ok || h.Running || h.Note != NoteNotRunning {
		t.Fatalf("health without runtime: %+v", h)
	}
	if _, err := w.svc.Live().Test(context.Background(), "x"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("test without runtime: %v", err)
	}
	if w.svc.Bench() != nil {
		t.Fatal("a bench outside the demo")
	}
}

// FuzzCheck: whatever a form sends, Check does not panic, and what it
// accepts it accepts again unchanged (normalising twice changes nothing).
func FuzzCheck(f *testing.F) {
	f.Add("Gate A", "/dev/ttyUSB0", 9600, "modbus", "1:0", "relay", lane1, "", "", "")
	f.Add("x", "/dev/../x", 0, "usbrelay", "07", "relay", lane1, "", "", "")
	f.Add("y", "/dev/ttyACM0", 115200, "scanner", "", "entry_reader", lane1, "]Q1", "\r", "card")
	f.Add("z", "/dev/ttyS1", 19200, "osdp", "126", "exit_reader", "", "", "", "")
	f.Fuzz(func(t *testing.T, name, port string, baud int, proto, addr, role, lane, prefix, suffix, reads string) {
		d := Device{ID: id1, Name: name, Port: port, Baud: baud, Protocol: Protocol(proto), Address: addr, Role: Role(role), LaneID: lane,
			Options: Options{Prefix: prefix, Suffix: suffix, Reads: gate.CredentialKind(reads), Invert: true, Secure: true}}
		if es := Check(&d); len(es) > 0 {
			return
		}
		again := d
		if es := Check(&again); len(es) > 0 || !reflect.DeepEqual(again, d) {
			t.Fatalf("accepted %+v, then %+v %v", d, again, es)
		}
	})
}

func TestKeyCabinet(t *testing.T) {
	cab := func(f func(*Device)) Device {
		d := Device{ID: id1, Name: "Cabinet A", Port: "/dev/ttyUSB1", Protocol: Modbus, Role: KeyCabinet, Address: "2:8",
			Options: Options{Slots: 16}, Enabled: true}
		if f != nil {
			f(&d)
		}
		return d
	}
	for _, tc := range []struct {
		name        string
		dev         Device
		field, code string
	}{
		{"a cabinet needs no lane", cab(nil), "", ""},
		{"no slots", cab(func(d *Device) { d.Options.Slots = 0 }), "slots", "device_slots_invalid"},
		{"too many slots", cab(func(d *Device) { d.Options.Slots = MaxSlots + 1 }), "slots", "device_slots_invalid"},
		{"slots past the last input", cab(func(d *Device) { d.Address = "2:65530" }), "slots", "device_slots_invalid"},
		{"poll too fast", cab(func(d *Device) { d.Options.PollMs = 10 }), "poll_ms", "device_poll_invalid"},
		{"poll too slow", cab(func(d *Device) { d.Options.PollMs = MaxCabinetPollMs + 1 }), "poll_ms", "device_poll_invalid"},
		{"a scanner cannot be a cabinet", cab(func(d *Device) { d.Protocol, d.Address = Scanner, "" }), "role", "device_role_mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.dev
			es := Check(&d)
			if got := es.For(tc.field).Code; tc.field == "" && len(es) > 0 || tc.field != "" && got != tc.code {
				t.Fatalf("errors %v, want %s: %s", es, tc.field, tc.code)
			}
		})
	}
	d := cab(func(d *Device) { d.Options.PollMs = 250 })
	if es := Check(&d); len(es) > 0 {
		t.Fatal(es)
	}
	if s, first, n, ok := d.Inputs(); !ok || s != 2 || first != 8 || n != 16 || d.PollInterval() != 250*time.Millisecond {
		t.Fatalf("inputs %d %d %d %v, poll %s", s, first, n, ok, d.PollInterval())
	}
	// Other roles lose the cabinet's options.
	door := Device{ID: id1, Name: "Door", Port: "/dev/ttyUSB1", Protocol: Modbus, Role: DoorContact, Address: "2:0", LaneID: lane1, Options: Options{Slots: 4, PollMs: 200}}
	if es := Check(&door); len(es) > 0 || door.Options.Slots != 0 || door.Options.PollMs != 0 {
		t.Fatalf("door %+v %v", door.Options, es)
	}
}

func TestKeyCabinetInputsNotShared(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	save := func(d Device) error { _, err := w.svc.Save(ctx, "t", d); return err }
	if err := save(Device{Name: "Cabinet A", Port: "/dev/ttyUSB0", Protocol: Modbus, Role: KeyCabinet, Address: "1:4", Options: Options{Slots: 4}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dev  Device
		code string
	}{
		{"door contact on a slot", Device{Name: "Door", Port: "/dev/ttyUSB0", Protocol: Modbus, Role: DoorContact, Address: "1:7", LaneID: w.lane.ID}, "device_address_in_use"},
		{"overlapping cabinet", Device{Name: "Cabinet B", Port: "/dev/ttyUSB0", Protocol: Modbus, Role: KeyCabinet, Address: "1:0", Options: Options{Slots: 5}}, "device_address_in_use"},
		{"door contact below", Device{Name: "Door", Port: "/dev/ttyUSB0", Protocol: Modbus, Role: DoorContact, Address: "1:3", LaneID: w.lane.ID}, ""},
		{"relay on the slots' numbers", Device{Name: "Relay", Port: "/dev/ttyUSB0", Protocol: Modbus, Role: Relay, Address: "1:5", LaneID: w.lane.ID}, ""},
		{"cabinet on another slave", Device{Name: "Cabinet C", Port: "/dev/ttyUSB0", Protocol: Modbus, Role: KeyCabinet, Address: "2:4", Options: Options{Slots: 4}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := save(tc.dev)
			if got := fieldCode(err, "address"); got != tc.code || tc.code == "" && err != nil {
				t.Fatalf("got %v, want %q", err, tc.code)
			}
		})
	}
}
