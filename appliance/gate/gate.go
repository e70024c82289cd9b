// Package gate is the seam between the lobby's devices and its decisions.
//
// A driver (package drivers/...) turns bytes on a serial line into a
// Presentation — a card number, a QR line, a PIN seen at a lane's reader —
// and hands it to a Decider, which the appliance implements. The Decider
// answers with the Action the lane must take: open the relay for a pulse,
// show green or red, beep short or long. Drivers never decide, and the
// appliance never touches a serial port. The decision itself (credentials,
// permissions, time profiles, anti-passback) is the gate issue's work; this
// file fixes only the shapes both sides agree on.
package gate

import (
	"context"
	"time"
)

// Direction of passage at a lane.
type Direction string

// Directions.
const (
	In  Direction = "in"
	Out Direction = "out"
)

// CredentialKind says what was presented.
type CredentialKind string

// Kinds of credential a reader delivers.
const (
	Card CredentialKind = "card" // Value: card number as the reader reports it (hex UID or Wiegand "FC:NUMBER")
	QR   CredentialKind = "qr"   // Value: the scanned text
	PIN  CredentialKind = "pin"  // Value: the digits
	// Face: a face terminal recognised a person it holds (drivers/isapi);
	// Value is the person's number on the terminal, which is the face
	// credential's number (appliance/access/face.go).
	Face CredentialKind = "face"
)

// Presentation is one read at a lane.
type Presentation struct {
	Lane      string         // lane ID the reader belongs to
	Direction Direction      // from the reader's role (entry or exit reader)
	Kind      CredentialKind //
	Value     string         // never logged: it opens doors
	Device    string         // device name, for the event record
	At        time.Time      // when the last byte arrived
}

// Feedback is what the reader shows the person.
type Feedback string

// Feedback kinds: green LED and a short beep, or red and a long beep.
const (
	Grant Feedback = "grant"
	Deny  Feedback = "deny"
)

// Action is what a lane does about a presentation.
type Action struct {
	Open     bool          // pulse the lane's relay
	Pulse    time.Duration // how long the relay stays on
	Feedback Feedback
	Reason   string // the decision's reason code, for the reader's display if it has one
	// An elevator lane's grant: the floors (directory floor IDs) to
	// release for Release instead of a pulse. The runtime switches the
	// car's board and leaves the lane's relay alone.
	Floors  []string
	Release time.Duration
}

// Decider decides a presentation. Implementations read only local state and
// must answer within milliseconds: a lane waits on the answer.
type Decider interface {
	Decide(ctx context.Context, p Presentation) (Action, error)
}

// DoorState is what a door-contact input reports.
type DoorState struct {
	Lane   string
	Open   bool // the contact reads "door open"
	Device string
	At     time.Time
}

// FireState is what a fire-alarm panel's input reports: while it is active
// every elevator releases every floor.
type FireState struct {
	Active bool
	Device string // the input's device name
	At     time.Time
}

// FireWatcher hears the fire-alarm input change (the guard station's alarm
// and the audit).
type FireWatcher interface {
	FireChanged(ctx context.Context, s FireState)
}

// DoorWatcher receives door-contact changes (forced and held-open alarms).
type DoorWatcher interface {
	DoorChanged(ctx context.Context, s DoorState)
}

// readAtKey carries a read's arrival to the relay that opens for it.
type readAtKey struct{}

// WithReadAt tells the relay pulse made under ctx that it opens for a read
// whose last byte arrived at at (Presentation.At), so the runtime can time
// the lane from the wire to the relay. Manual opens and tests carry none.
func WithReadAt(ctx context.Context, at time.Time) context.Context {
	if at.IsZero() {
		return ctx
	}
	return context.WithValue(ctx, readAtKey{}, at)
}

// ReadAt is the arrival WithReadAt put on ctx, if any.
func ReadAt(ctx context.Context) (time.Time, bool) {
	at, ok := ctx.Value(readAtKey{}).(time.Time)
	return at, ok
}

// switchedKey carries the listener a relay tells when it has switched on.
type switchedKey struct{}

// WithSwitched asks the relay pulsed under ctx to call f as soon as it has
// switched on (nil) or failed to (the error), before it waits out the
// pulse: the guard station answers once the lane is open, not once it has
// closed again. A relay that does not tell leaves the caller to wait for
// the pulse's own return. f may be called more than once; the first call
// counts.
func WithSwitched(ctx context.Context, f func(error)) context.Context {
	return context.WithValue(ctx, switchedKey{}, f)
}

// Switched tells the listener WithSwitched put on ctx, if any.
func Switched(ctx context.Context, err error) {
	if f, ok := ctx.Value(switchedKey{}).(func(error)); ok {
		f(err)
	}
}

// Enrolment is a person a face terminal should hold: their number (the
// face credential's), name, whether they visit, their validity and their
// face picture (a JPEG, opened from its seal only to be sent). Never
// logged: LogValue shows the number only.
type Enrolment struct {
	Number    string
	Name      string
	Visitor   bool
	NotBefore time.Time // zero: no start
	NotAfter  time.Time // zero: no end
	Photo     []byte
}

// LogValue keeps the name and the picture out of logs.
func (e Enrolment) LogValue() string { return "enrolment " + e.Number }
