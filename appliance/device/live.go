package device

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gatehouse/appliance/gate"
)

// Health is what the device pages show about a device: its driver's state
// and its line's counters (for devices sharing a bus, the bus's).
type Health struct {
	// Running says a driver runs for the device. When it does not, Note
	// says why: "disabled", "not_supported" (no driver in this runtime for
	// the protocol yet), "not_running" (no runtime: the shell, tests), or
	// "failed" with the error in LastError.
	Running bool
	Note    string

	Online     bool      // port open and, for devices that answer, answering
	Failing    bool      // answering, but refusing every request (Modbus exceptions): see State
	Changed    time.Time // when the State last changed: the start of an outage
	LastSeen   time.Time // last byte received
	Opens      uint64
	Reconnects uint64
	Errors     uint64 // garbled frames, bad lines, overflows
	Timeouts   uint64 // requests without a reply
	LastError  string // names fields and counts, never a card or document number
	// LastErrorAt is when LastError happened (zero: the driver does not
	// say), Recovered when the device next worked (zero while it has not):
	// the page shows "Last error 14:02:11 (recovered 14:02:13)".
	LastErrorAt time.Time
	Recovered   time.Time

	// OSDP readers: the secure channel is up, on the install-mode key
	// (before the reader got its own), the reader reports tampering.
	Secure, DefaultKey, Tamper bool

	// The last decision on a lane reader's read.
	Decided time.Time
	Open    bool
	Reason  string // the decision's reason code
	ReadSeq uint64 // Seq of the Read decided
}

// State is a device's health in one word: online, failing (it answers,
// but only to refuse: a Modbus contact at a wrong address), offline (no
// port or no answer), or "" when no driver runs for it (see Note).
type State string

// States.
const (
	StateOnline  State = "online"
	StateFailing State = "failing"
	StateOffline State = "offline"
)

// State is the device's state; Changed is when it began.
func (h Health) State() State {
	switch {
	case !h.Running:
		return ""
	case h.Online && h.Failing:
		return StateFailing
	case h.Online:
		return StateOnline
	}
	return StateOffline
}

// Notes on a device without a running driver.
const (
	NoteDisabled     = "disabled"
	NoteNotSupported = "not_supported"
	NoteNotRunning   = "not_running"
	NoteFailed       = "failed"
)

// Read is one credential read at a reader. Value opens doors: it is kept in
// memory only and never logged.
type Read struct {
	Device string // device ID
	Kind   gate.CredentialKind
	Value  string
	At     time.Time
	Seq    uint64 // increases with every read or document of the runtime
}

// LogValue keeps the value out of structured logs.
func (r Read) LogValue() slog.Value {
	return slog.GroupValue(slog.String("device", r.Device), slog.String("kind", string(r.Kind)), slog.Uint64("seq", r.Seq))
}

// Document is an identity document read at a document reader, for the
// walk-in form. Problem names the fields whose check digits failed (the
// document is then as read, and may be wrong); it never holds values.
type Document struct {
	Device      string // device ID
	Format      string // TD1, TD2, TD3
	Code        string // P, I, ID, V...
	Issuer      string
	Number      string // never logged
	Surname     string
	Given       string
	Nationality string
	Birth       string // YYMMDD as printed
	Sex         string
	Expiry      string // YYMMDD
	Problem     string
	// BadFields names, in the form's words, the fields whose checks
	// failed: "number", "birth", "expiry", "personal", "composite" (MRZ);
	// "name", "sex", "birth", "number", "valid_from", "expiry", "text"
	// (ID cards). Failed: nothing usable was read (Problem says why).
	BadFields []string
	Failed    bool
	Expired   bool // the document's validity has ended
	// Chip is an ID card's chip serial (upper-case hex), the number a gate
	// reader reports for the card; "" for others.
	Chip string
	At   time.Time
	Seq  uint64
	// Card is what an ID card reader read (Format "idcard"); nil for an
	// MRZ. Its Number is personal data: never logged, stored only sealed.
	Card *IDCardFields
}

// IDCardFields is a resident ID card, a foreigners' permanent residence card or
// a Hong Kong/Macao/Taiwan residence permit as an ID card reader read it.
// Dates are YYYY-MM-DD; ValidTo is empty when LongTerm.
type IDCardFields struct {
	Kind        string // "resident", "foreigner", "permit"
	Name        string
	NameEN      string // foreigners
	Sex         string // GB/T 2261.1 code: 0, 1, 2, 9
	Ethnicity   string // residents: GB 3304 code
	Ethnic      string // its name as printed (汉, 蒙古, …)
	Birth       string
	Address     string
	Number      string // never logged
	Authority   string
	ValidFrom   string
	ValidTo     string
	LongTerm    bool
	Nationality string // foreigners: ISO 3166-1 alpha-3
	Expired     bool
}

// LogValue keeps personal data out of structured logs.
func (d Document) LogValue() slog.Value {
	return slog.GroupValue(slog.String("device", d.Device), slog.String("format", d.Format), slog.String("issuer", d.Issuer),
		slog.Bool("problem", d.Problem != ""))
}

// TestResult is what a device test did.
type TestResult struct {
	Did      string        // "pulsed", "read", "door", "document", "printed", "signal", "slots"
	Pulse    time.Duration // pulsed: how long the relay was on
	Read     Read          // read: the read
	DoorOpen bool          // door: the contact's state
	Document Document      // document: the document
	Signal   int           // signal: the modem's signal strength, 0–31 (99: unknown)
	Beeped   bool          // an OSDP reader showed green and beeped before the wait for a read
	// slots: a key cabinet's presence switches, from input FirstInput on
	// (true: a key in the slot).
	Slots      []bool
	FirstInput int
	// floors: an elevator board released every floor of its map for
	// Pulse; fire: the fire input's state (true: alarm).
	Floors int
	Fire   bool
	// terminal: a face terminal answered GET /ISAPI/System/deviceInfo
	// with its model, serial number and firmware.
	Terminal string
}

// SlotReader is a Monitor that polls key cabinets (the driver runtime).
type SlotReader interface {
	// Slots is a key cabinet's slots as last polled (true: a key in the
	// slot), from its first input; ok is false while the cabinet is not
	// answering or not running.
	Slots(id string) (first int, present []bool, ok bool)
}

// ElevatorState is a lift car's board as last written.
type ElevatorState struct {
	Device  string    // the elevator board's device ID
	Floors  []string  // floors released now (floor IDs), by a grant
	Until   time.Time // when they go off again (zero: none released)
	Fire    bool      // every floor released by the fire input
	Written bool      // the board took the last write (false: it is not answering)
}

// ElevatorReader is a Monitor that drives lift cars (the driver runtime).
type ElevatorReader interface {
	// Elevator is the lane's car; false when no board runs for the lane.
	Elevator(lane string) (ElevatorState, bool)
	// Fire names the fire inputs active now; none when there is no fire.
	Fire() []string
}

// Monitor is the running side of the configuration: the driver runtime
// (drivers/runner) implements it and serve attaches it to the Service, so
// the pages can show health and run tests without knowing about ports.
type Monitor interface {
	// Health of one device; false if the runtime does not know it.
	Health(id string) (Health, bool)
	// Test exercises a device: pulses a relay, reads a door contact,
	// waits for a read or a document until ctx ends.
	Test(ctx context.Context, id string) (TestResult, error)
	// LastRead is the latest read at a reader.
	LastRead(id string) (Read, bool)
	// WaitRead waits for a read with Seq > after at reader id, or at any
	// enrolment reader when id is "". Card pages wait on it for live
	// enrolment.
	WaitRead(ctx context.Context, id string, after uint64) (Read, error)
	// LastDocument is the latest document at a document reader.
	LastDocument(id string) (Document, bool)
	// WaitDocument waits for a document with Seq > after at one of the
	// readers ids (any document reader when ids is empty).
	WaitDocument(ctx context.Context, ids []string, after uint64) (Document, error)
	// Seq is the latest read or document number: what a page that waits
	// for the next one passes as after.
	Seq() uint64
}

// Switch is one write a simulated relay board obeyed.
type Switch struct {
	Point int // coil (Modbus, 0-based) or relay (USB board, 1-based)
	On    bool
}

// Board is a simulated relay board's state and log.
type Board struct {
	Port   string
	First  int // number of States[0]: 0 for Modbus coils, 1 for USB relays
	States []bool
	Log    []Switch
}

// Bench is simulated hardware behind the configured ports (serve --demo):
// the demo page presents codes and cards through it and shows what the
// relay boards were told, so the whole loop runs without hardware.
type Bench interface {
	// Present makes the simulated device behind d's port deliver text:
	// one scanned line for a scanner, the lines of a document for an MRZ
	// reader. ErrNotSimulated when no simulator sits behind the port.
	Present(d Device, text string) error
	// SetInput sets a simulated door contact's input.
	SetInput(d Device, on bool) error
	// Boards lists the simulated relay boards.
	Boards() []Board
	// Simulates reports whether a simulator sits behind d's port.
	Simulates(d Device) bool
}

// FaceBench is a Bench that simulates face terminals: the demo page puts
// an enrolled person's face in front of one (number: the person's number
// on the terminals, a face credential's number).
type FaceBench interface {
	Recognise(ctx context.Context, d Device, number string) error
}

// CabinetBench is a Bench that simulates key cabinets: the demo page and
// tests put keys into slots and take them out.
type CabinetBench interface {
	// SetSlot puts a key into (present) or takes it from the slot at
	// input n of the simulated cabinet d.
	SetSlot(d Device, n int, present bool) error
	// CabinetSlots is what the simulated cabinet's switches say now.
	CabinetSlots(d Device) (first int, present []bool, err error)
}

// stopped is the Monitor of a Service with no runtime attached.
type stopped struct{}

func (stopped) Health(string) (Health, bool) { return Health{Note: NoteNotRunning}, true }
func (stopped) Test(context.Context, string) (TestResult, error) {
	return TestResult{}, ErrNotRunning
}
func (stopped) LastRead(string) (Read, bool) { return Read{}, false }
func (stopped) WaitRead(context.Context, string, uint64) (Read, error) {
	return Read{}, ErrNotRunning
}
func (stopped) LastDocument(string) (Document, bool) { return Document{}, false }
func (stopped) WaitDocument(ctx context.Context, _ []string, _ uint64) (Document, error) {
	<-ctx.Done()
	return Document{}, ctx.Err()
}
func (stopped) Seq() uint64 { return 0 }

// Slip is a visitor slip for the desk's receipt printer: who, whom they
// visit, where, when, and the QR pass, printed by the printer's own QR
// command.
type Slip struct {
	Site        string
	Visitor     string
	Host, Floor string
	From, Until time.Time // in the site's time zone
	Pass        string    // the QR token
	Lang        string    // "zh…" for Chinese captions, English otherwise
}

// ErrNoPrinter: no receipt printer is configured and running.
var ErrNoPrinter = errors.New("device: no receipt printer running")

// SlipPrinter is the runtime's receipt printer. A Monitor that has one
// implements it.
type SlipPrinter interface {
	// HasPrinter reports whether a receipt printer is configured and its
	// driver runs (the desk shows its print button then).
	HasPrinter() bool
	// PrintSlip prints s on the first running printer.
	PrintSlip(ctx context.Context, s Slip) error
}

// Printout is a slip a simulated printer printed.
type Printout struct {
	Port string
	Text string   // the slip's lines
	QR   []string // the QR codes' contents
}

// SentSMS is a text message a simulated modem sent.
type SentSMS struct {
	Port   string
	Number string
	Text   string
}

// BenchOutputs is a Bench whose simulated printers and modems show what
// they were given, so the demo page can show the slip and the SMS.
type BenchOutputs interface {
	Printouts() []Printout // oldest first
	SentSMS() []SentSMS    // oldest first
}
