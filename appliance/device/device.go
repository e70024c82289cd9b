// Package device is the lobby's device configuration: which serial device
// hangs off which port, what it speaks, which lane it serves and in what
// role. The records change through commands (device.save, device.delete)
// like every other state; the drivers that run them live in drivers/runner,
// which reads this configuration and reports each device's health back
// through the Monitor interface declared here.
//
// Several devices may share a port when the protocol is a bus: the coils
// and inputs of one Modbus board, the readers of one OSDP bus, the relays
// of one USB relay board. Line devices (scanners, document readers,
// printers, modems) own their port alone.
package device

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/store"
)

// Errors.
var (
	// ErrNotFound: no such device.
	ErrNotFound = errors.New("device: not found")
	// ErrNotRunning: no driver runtime is attached (the shell, tests), or
	// the device's driver is not running (disabled, unsupported protocol).
	ErrNotRunning = errors.New("device: driver not running")
	// ErrNotSupported: the device cannot be tested this way.
	ErrNotSupported = errors.New("device: not supported for this device")
	// ErrNotSimulated: the device has no simulator behind its port.
	ErrNotSimulated = errors.New("device: not simulated")
)

// Protocol is what a device speaks.
type Protocol string

// Protocols.
const (
	Scanner  Protocol = "scanner"  // QR/barcode scanner or card reader sending one code per line
	OSDP     Protocol = "osdp"     // OSDP readers on RS-485
	Modbus   Protocol = "modbus"   // Modbus RTU relay and input board
	USBRelay Protocol = "usbrelay" // A0 <relay> <state> <sum> boards
	MRZ      Protocol = "mrz"      // ICAO 9303 document reader
	IDCard   Protocol = "idcard"   // resident ID card desk reader (SAM protocol, GA 467)
	ESCPOS   Protocol = "escpos"   // receipt printer
	Modem    Protocol = "modem"    // GSM modem (AT commands)
	// ISAPI is a face-recognition terminal on the LAN (Hikvision ISAPI,
	// drivers/isapi): Port is its address, http(s)://host[:port], and
	// Address the door number of its own lock.
	ISAPI Protocol = "isapi"
)

// Protocols lists the protocols in the order the form offers them.
var Protocols = []Protocol{Scanner, OSDP, Modbus, USBRelay, MRZ, IDCard, ESCPOS, Modem, ISAPI}

// Role is what a device does in the lobby.
type Role string

// Roles.
const (
	EntryReader     Role = "entry_reader"
	ExitReader      Role = "exit_reader"
	EnrolmentReader Role = "enrolment_reader"
	Relay           Role = "relay"
	DoorContact     Role = "door_contact"
	DocumentReader  Role = "document_reader"
	Printer         Role = "printer"
	ModemRole       Role = "modem"
	// KeyCabinet is a Modbus input board whose discrete inputs are the
	// presence switches of a key cabinet's slots (appliance/keys).
	KeyCabinet Role = "key_cabinet"
	// ElevatorBoard is a lift car's Modbus relay board: its coils, from
	// the address's coil on, enable floor buttons (outputs 1.. of the
	// lane's floor map, access.FloorCoil), all written in one request.
	ElevatorBoard Role = "elevator_board"
	// FireInput is the fire-alarm panel's contact on a Modbus input:
	// while it is active every lift releases every floor. Invert is for a
	// contact wired normally closed.
	FireInput Role = "fire_input"
)

// Roles lists the roles in the order the form offers them.
var Roles = []Role{EntryReader, ExitReader, EnrolmentReader, Relay, DoorContact, DocumentReader, Printer, ModemRole, KeyCabinet,
	ElevatorBoard, FireInput}

// roleProtocols says which protocols can fill a role.
var roleProtocols = map[Role][]Protocol{
	EntryReader:     {Scanner, OSDP, ISAPI},
	ExitReader:      {Scanner, OSDP, ISAPI},
	EnrolmentReader: {Scanner, OSDP},
	Relay:           {Modbus, USBRelay},
	DoorContact:     {Modbus},
	DocumentReader:  {MRZ, IDCard},
	Printer:         {ESCPOS},
	ModemRole:       {Modem},
	KeyCabinet:      {Modbus},
	ElevatorBoard:   {Modbus},
	FireInput:       {Modbus},
}

// Fits reports whether protocol p can fill role r.
func Fits(r Role, p Protocol) bool { return slices.Contains(roleProtocols[r], p) }

// Reader reports whether the role reads credentials.
func (r Role) Reader() bool { return r == EntryReader || r == ExitReader || r == EnrolmentReader }

// AtLane reports whether the role belongs to a lane and needs one.
func (r Role) AtLane() bool {
	return r == EntryReader || r == ExitReader || r == Relay || r == DoorContact || r == ElevatorBoard
}

// Bus reports whether several devices may share a port of this protocol.
func (p Protocol) Bus() bool { return p == Modbus || p == OSDP || p == USBRelay }

// Bauds are the rates the form offers and the validation accepts.
var Bauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200}

// DefaultBaud is the speed a protocol's devices usually leave the factory
// with: 115200 for ID card readers, 9600 for the rest.
func DefaultBaud(p Protocol) int {
	if p == IDCard {
		return 115200
	}
	return 9600
}

// Options are the protocol-specific settings.
type Options struct {
	// Prefix and Suffix are stripped from a scanner's codes when present.
	Prefix string `json:"prefix,omitempty"`
	Suffix string `json:"suffix,omitempty"`
	// Reads is what a line device at a reader role delivers: "qr" (the
	// default, a QR or barcode scanner) or "card" or "pin" (a card reader or
	// keypad in serial mode that sends each card number or PIN as a line).
	Reads gate.CredentialKind `json:"reads,omitempty"`
	// Invert is for door contacts wired normally closed: the input is on
	// while the door is shut; for a fire input, on while there is no fire.
	Invert bool `json:"invert,omitempty"`
	// Secure switches the OSDP secure channel on. The keys are the OSDP
	// driver's business and are never stored here.
	Secure bool `json:"secure,omitempty"`
	// Output is the OSDP reader's own output (0..255) that switches the
	// lane's lock or turnstile on a grant (osdp_OUT); nil: the lane's
	// relay device is pulsed instead.
	Output *int `json:"output,omitempty"`
	// Slots is how many presence switches a key cabinet has, on the
	// inputs from its address's input on (1..MaxSlots).
	Slots int `json:"slots,omitempty"`
	// PollMs is how often a key cabinet's inputs are read, in
	// milliseconds (0: DefaultCabinetPoll).
	PollMs int `json:"poll_ms,omitempty"`
	// Face terminals (ISAPI): the account the appliance logs in with, its
	// password sealed with the site key (never shown back, never logged),
	// and who decides: FaceApplianceDecides (the default) or
	// FaceTerminalDecides.
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	Mode     string `json:"mode,omitempty"`
}

// Face terminal modes: the appliance decides every recognised face and
// opens the terminal's door on a grant, or the terminal opens by itself
// for the people it holds and the appliance logs the passage.
const (
	FaceApplianceDecides = ""
	FaceTerminalDecides  = "terminal"
)

// LogValue keeps the sealed password out of logs.
func (o Options) LogValue() slog.Value {
	o.Password = ""
	type plain Options
	return slog.AnyValue(plain(o))
}

// DoorNumber parses a face terminal's door number (1..8).
func DoorNumber(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 8 {
		return 0, fmt.Errorf("device: door number %q: want 1–8", s)
	}
	return n, nil
}

// checkAddressURL checks a face terminal's address: http or https, a host,
// nothing else.
func checkAddressURL(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || len(s) > 255 {
		return "", false
	}
	u.Path = ""
	return u.String(), true
}

// Key cabinet limits: the slots one request can read comfortably, and the
// poll interval's range — fast enough that a key taken is known within a
// second or so, slow enough to leave the bus to its relays.
const (
	MaxSlots           = 256
	MinCabinetPollMs   = 100
	MaxCabinetPollMs   = 10000
	DefaultCabinetPoll = 500 * time.Millisecond
)

// Inputs is the input span a Modbus device reads: a door contact its one
// input, a key cabinet its slots from its first input. ok is false for
// devices that read no inputs or whose address does not parse.
func (d Device) Inputs() (slave byte, first, count uint16, ok bool) {
	if d.Protocol != Modbus || (d.Role != DoorContact && d.Role != KeyCabinet && d.Role != FireInput) {
		return 0, 0, 0, false
	}
	pt, err := ModbusPoint(d.Address)
	if err != nil {
		return 0, 0, 0, false
	}
	count = 1
	if d.Role == KeyCabinet {
		if d.Options.Slots < 1 || d.Options.Slots > MaxSlots || int(pt.N)+d.Options.Slots > 65536 {
			return 0, 0, 0, false
		}
		count = uint16(d.Options.Slots)
	}
	return pt.Slave, pt.N, count, true
}

// PollInterval is a key cabinet's poll interval.
func (d Device) PollInterval() time.Duration {
	if d.Options.PollMs <= 0 {
		return DefaultCabinetPoll
	}
	return time.Duration(d.Options.PollMs) * time.Millisecond
}

// Device is one configured device.
type Device struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Port     string   `json:"port"` // /dev/ttyUSB0, /dev/serial/by-id/..., or a simulator's path
	Baud     int      `json:"baud"`
	Protocol Protocol `json:"protocol"`
	// Address on the bus: Modbus "slave:coil" or "slave:input" (1:0), the
	// USB relay board's relay number (1..), an OSDP reader address (0..126).
	// Empty for line devices.
	Address string  `json:"address,omitempty"`
	LaneID  string  `json:"lane_id,omitempty"`
	Role    Role    `json:"role"`
	Options Options `json:"options"`
	Enabled bool    `json:"enabled"`
	// Node is the lobby whose appliance runs the device, in a site of
	// several lobbies (its node ID): the configuration is replicated, the
	// device is wired to one appliance. "" is a single appliance's, and in
	// a site the founder's (the appliance the site was formed from).
	Node    string `json:"node,omitempty"`
	Created int64  `json:"created"`
	Updated int64  `json:"updated"`
}

// Direction is the passage direction of a lane reader.
func (d Device) Direction() gate.Direction {
	if d.Role == ExitReader {
		return gate.Out
	}
	return gate.In
}

// Reads is the kind of credential a reader delivers. An OSDP reader
// delivers cards (and keypad PINs, which its driver tells apart).
func (d Device) Reads() gate.CredentialKind {
	if d.Protocol == OSDP {
		return gate.Card
	}
	if d.Protocol == ISAPI {
		return gate.Face
	}
	if d.Options.Reads == "" {
		return gate.QR
	}
	return d.Options.Reads
}

// Point is a Modbus address: the slave and its coil or input (0-based).
type Point struct {
	Slave byte
	N     uint16
}

// ModbusPoint parses a Modbus address "slave:n".
func ModbusPoint(s string) (Point, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Point{}, fmt.Errorf("device: modbus address %q: want slave:number", s)
	}
	slave, err := strconv.Atoi(strings.TrimSpace(a))
	if err != nil || slave < 1 || slave > 247 {
		return Point{}, fmt.Errorf("device: modbus address %q: slave must be 1–247", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(b))
	if err != nil || n < 0 || n > 65535 {
		return Point{}, fmt.Errorf("device: modbus address %q: number must be 0–65535", s)
	}
	return Point{Slave: byte(slave), N: uint16(n)}, nil
}

func (p Point) String() string { return fmt.Sprintf("%d:%d", p.Slave, p.N) }

// RelayNumber parses a USB relay board's relay number (1..255).
func RelayNumber(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 255 {
		return 0, fmt.Errorf("device: relay number %q: want 1–255", s)
	}
	return n, nil
}

// OSDPAddress parses an OSDP reader address (0..126; 127 is broadcast).
func OSDPAddress(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 126 {
		return 0, fmt.Errorf("device: osdp address %q: want 0–126", s)
	}
	return n, nil
}

// Check validates d on its own and normalises it (trimmed text, default
// baud, the address in its canonical spelling, options that do not apply
// cleared). What depends on other records — the lane, the name's and the
// port's other users — is checked when the command is applied.
func Check(d *Device) field.Errors {
	var es field.Errors
	if !store.ValidID(d.ID) {
		es.Add("id", "invalid")
	}
	d.Name = es.Text("name", d.Name, true, 64)
	d.Port = strings.TrimSpace(d.Port)
	switch {
	case d.Protocol == ISAPI:
		if u, ok := checkAddressURL(d.Port); ok {
			d.Port = u
		} else {
			es.Add("port", "device_url_invalid")
		}
	case d.Port == "":
		es.Add("port", "required")
	case len(d.Port) > 255 || !filepath.IsAbs(d.Port) || strings.ContainsFunc(d.Port, func(r rune) bool { return r < 0x20 || r == 0x7F }):
		es.Add("port", "device_port_invalid")
	default:
		d.Port = filepath.Clean(d.Port)
	}
	if d.Protocol == ISAPI {
		d.Baud = 0 // on the LAN
	} else if d.Baud == 0 {
		d.Baud = DefaultBaud(d.Protocol)
	}
	if d.Protocol != ISAPI && !slices.Contains(Bauds, d.Baud) {
		es.Add("baud", "device_baud_invalid")
	}
	protoOK := slices.Contains(Protocols, d.Protocol)
	if !protoOK {
		es.Add("protocol", "invalid")
	}
	_, roleOK := roleProtocols[d.Role]
	switch {
	case !roleOK:
		es.Add("role", "invalid")
	case protoOK && !Fits(d.Role, d.Protocol):
		es.Add("role", "device_role_mismatch")
	}
	d.Address = strings.TrimSpace(d.Address)
	switch d.Protocol {
	case Modbus:
		if p, err := ModbusPoint(d.Address); err != nil {
			es.Add("address", "device_modbus_address")
		} else {
			d.Address = p.String()
		}
	case USBRelay:
		if n, err := RelayNumber(d.Address); err != nil {
			es.Add("address", "device_relay_number")
		} else {
			d.Address = strconv.Itoa(n)
		}
	case OSDP:
		if n, err := OSDPAddress(d.Address); err != nil {
			es.Add("address", "device_osdp_address")
		} else {
			d.Address = strconv.Itoa(n)
		}
	case ISAPI:
		if d.Address == "" {
			d.Address = "1"
		}
		if n, err := DoorNumber(d.Address); err != nil {
			es.Add("address", "device_door_number")
		} else {
			d.Address = strconv.Itoa(n)
		}
	default:
		d.Address = "" // line devices have no address
	}
	d.LaneID = strings.TrimSpace(d.LaneID)
	if d.Role.AtLane() && d.LaneID == "" {
		es.Add("lane_id", "required")
	} else if d.LaneID != "" && !store.ValidID(d.LaneID) {
		es.Add("lane_id", "device_lane_unknown")
	}
	o := &d.Options
	if d.Protocol == Scanner {
		o.Prefix = es.Text("prefix", o.Prefix, false, 16)
		o.Suffix = es.Text("suffix", o.Suffix, false, 16)
		switch o.Reads {
		case "", gate.QR:
			o.Reads = ""
		case gate.Card, gate.PIN:
		default:
			es.Add("reads", "invalid")
		}
	} else {
		o.Prefix, o.Suffix, o.Reads = "", "", ""
	}
	if d.Role != DoorContact && d.Role != FireInput {
		o.Invert = false
	}
	if d.Protocol != OSDP {
		o.Secure = false
	}
	if d.Protocol == ISAPI {
		o.User = es.Text("user", o.User, true, 32)
		if o.Password == "" {
			es.Add("password", "required")
		}
		if o.Mode != FaceApplianceDecides && o.Mode != FaceTerminalDecides {
			es.Add("mode", "invalid")
		}
	} else {
		o.User, o.Password, o.Mode = "", "", ""
	}
	if d.Role == KeyCabinet {
		if o.Slots < 1 || o.Slots > MaxSlots {
			es.Add("slots", "device_slots_invalid")
		} else if p, err := ModbusPoint(d.Address); err == nil && int(p.N)+o.Slots > 65536 {
			es.Add("slots", "device_slots_invalid")
		}
		if o.PollMs != 0 && (o.PollMs < MinCabinetPollMs || o.PollMs > MaxCabinetPollMs) {
			es.Add("poll_ms", "device_poll_invalid")
		}
	} else {
		o.Slots, o.PollMs = 0, 0
	}
	if d.Protocol != OSDP || d.Role == EnrolmentReader {
		o.Output = nil
	} else if o.Output != nil && (*o.Output < 0 || *o.Output > 255) {
		es.Add("output", "invalid")
	}
	return es
}

// shares reports whether a and b may sit on the same port.
func shares(a, b Device) bool {
	return a.Protocol == b.Protocol && a.Protocol.Bus() && a.Baud == b.Baud
}

// sameAddress reports whether a and b, on one port, would answer to the
// same address: two relays on one coil, two readers at one OSDP address.
// A Modbus coil and an input of the same number are different points.
// Door contacts and key cabinets both read inputs: a cabinet's slots must
// not overlap a contact or another cabinet on the same slave.
func sameAddress(a, b Device) bool {
	if a.Protocol == Modbus {
		sa, fa, na, okA := a.Inputs()
		sb, fb, nb, okB := b.Inputs()
		switch {
		case okA != okB:
			return false // a coil and an input
		case okA:
			return sa == sb && int(fa) < int(fb)+int(nb) && int(fb) < int(fa)+int(na)
		}
	}
	return a.Address == b.Address
}
