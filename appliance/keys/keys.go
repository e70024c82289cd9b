// Package keys is the key room: customers' keys held at the desk, who may
// take them, checkouts and returns, overdue and curfew alerts, the lost-key
// procedure and key audits.
//
// Nothing here is edited in place. A key's record carries only its current
// state (in, out, lost, retired); everything that happened to it is an
// append-only history entry written by the same command, and every command
// is on the hash-chained audit trail. A correction is a new entry.
//
// Who may take a key: the roles and accounts named on the key, and those
// named on its key level. A key with nobody named anywhere is open to the
// property staff (admin, manager, reception). Hosts (tenant employees) are
// never allowed, not even as the second person, and cannot be named. Keys of the top level need a
// second, different person's approval at checkout and at return; that
// person proves who they are with their own password at the cabinet.
package keys

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Errors.
var (
	// ErrNotFound means no such key, checkout, case or audit.
	ErrNotFound = fmt.Errorf("keys: %w", store.ErrNotFound)
	// ErrAlerted means the alert of that kind was already raised for the checkout.
	ErrAlerted = errors.New("keys: alert already raised")
)

// Key levels: 1 ordinary, 2 restricted, 3 top (two-person rule).
const (
	MinLevel = 1
	TopLevel = 3
)

// State is where a key is.
type State string

// Key states.
const (
	In      State = "in"      // in its cabinet
	Out     State = "out"     // checked out
	Lost    State = "lost"    // reported lost: unusable until its case closes, then retired
	Retired State = "retired" // replaced after a loss
)

// MaxDue is how far ahead a checkout may be due back. It also keeps due
// times inside what nanoseconds since 1970 can hold: a form accepts any
// four-digit year, and year 5000 would otherwise be stored as 2078.
const MaxDue = 366 * 24 * time.Hour

// Reasons for a checkout.
var Reasons = []string{"maintenance", "cleaning", "inspection", "customer", "contractor", "emergency", "other"}

// Alert kinds.
const (
	AlertOverdue   = "key_overdue"
	AlertCurfew    = "key_curfew"
	AlertEscalated = "key_escalated"
)

// Person is a signed-in account acting at the key room.
type Person struct {
	ID   string    `json:"id"`
	Name string    `json:"name"`
	Role auth.Role `json:"role"`
}

// PersonOf is the Person of an account.
func PersonOf(a auth.Account) Person { return Person{ID: a.ID, Name: a.Name, Role: a.Role} }

// Key is one physical key held for a customer.
type Key struct {
	ID       string   `json:"id"`
	Tag      string   `json:"tag"` // unique, printed as a QR label
	Customer string   `json:"customer"`
	Unit     string   `json:"unit"`
	Cabinet  string   `json:"cabinet"`
	Slot     string   `json:"slot"`
	Level    int      `json:"level"`
	SpareOf  string   `json:"spare_of,omitempty"` // the main key's ID when this is a spare
	Roles    []string `json:"roles,omitempty"`    // roles allowed to take it, on top of its level's
	Accounts []string `json:"accounts,omitempty"` // accounts allowed to take it, on top of its level's
	Replaces string   `json:"replaces,omitempty"` // the lost key this one replaces
	State    State    `json:"state"`
	Checkout string   `json:"checkout,omitempty"` // the open checkout
	Case     string   `json:"case,omitempty"`     // the open lost-key case
	Created  int64    `json:"created"`
	Sensor   *Sensor  `json:"sensor,omitempty"` // the slot's presence switch, if wired (sensor.go)
}

// Rule is what a key level demands.
type Rule struct {
	Level    int      `json:"level"`
	Roles    []string `json:"roles,omitempty"`
	Accounts []string `json:"accounts,omitempty"`
	Curfew   string   `json:"curfew,omitempty"` // "HH:MM": keys of the level must be back by then
}

// TwoPerson reports whether keys of level need a second person.
func TwoPerson(level int) bool { return level >= TopLevel }

// Checkout is one time a key left its cabinet.
type Checkout struct {
	ID           string           `json:"id"`
	KeyID        string           `json:"key_id"`
	Tag          string           `json:"tag"`
	Holder       Person           `json:"holder"`
	Approver     *Person          `json:"approver,omitempty"`
	Reason       string           `json:"reason"`
	Note         string           `json:"note,omitempty"`
	At           int64            `json:"at"`
	Due          int64            `json:"due"`
	Returned     int64            `json:"returned,omitempty"`
	ReturnBy     *Person          `json:"return_by,omitempty"`
	ReturnApprov *Person          `json:"return_approver,omitempty"`
	ReturnSlot   string           `json:"return_slot,omitempty"`
	Lost         bool             `json:"lost,omitempty"`
	ReturnSensed bool             `json:"return_sensed,omitempty"` // returned by its slot's sensor, nobody signing
	Alerts       map[string]int64 `json:"alerts,omitempty"`        // kind -> when raised
}

// Open reports whether the key is still out on this checkout.
func (c Checkout) Open() bool { return c.Returned == 0 && !c.Lost }

// Event is one line of a key's history.
type Event struct {
	Seq      uint64 `json:"seq"`
	KeyID    string `json:"key_id"`
	At       int64  `json:"at"`
	Kind     string `json:"kind"` // registered, checkout, return, alert, lost, notified, lock_changed, replaced, closed, audit
	By       string `json:"by,omitempty"`
	Approver string `json:"approver,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Note     string `json:"note,omitempty"`
	Due      int64  `json:"due,omitempty"`
	Slot     string `json:"slot,omitempty"`
	Ref      string `json:"ref,omitempty"` // checkout, case, audit or key ID
}

// Case is the lost-key procedure: reported → customer notified → lock
// changed → replacement registered → closed.
type Case struct {
	ID          string `json:"id"`
	KeyID       string `json:"key_id"`
	Tag         string `json:"tag"`
	Reported    int64  `json:"reported"`
	ReportedBy  string `json:"reported_by"`
	Note        string `json:"note,omitempty"`
	Notified    int64  `json:"notified,omitempty"`
	NotifyNote  string `json:"notify_note,omitempty"`
	LockChanged int64  `json:"lock_changed,omitempty"`
	LockNote    string `json:"lock_note,omitempty"`
	Replacement string `json:"replacement,omitempty"` // the new key's ID
	Closed      int64  `json:"closed,omitempty"`
}

// Step is where a case stands.
func (c Case) Step() string {
	switch {
	case c.Closed != 0:
		return "closed"
	case c.LockChanged != 0 && c.Notified != 0:
		return "replacement"
	case c.Notified != 0:
		return "lock_change"
	default:
		return "notify"
	}
}

// Audit is one count of the keys present.
type Audit struct {
	ID        string  `json:"id"`
	Cabinet   string  `json:"cabinet,omitempty"` // "" = every cabinet
	Started   int64   `json:"started"`
	StartedBy string  `json:"started_by"`
	Seen      []Seen  `json:"seen,omitempty"`
	Finished  int64   `json:"finished,omitempty"`
	Report    *Report `json:"report,omitempty"`
}

// Seen is one key found during an audit.
type Seen struct {
	Tag  string `json:"tag"`
	Slot string `json:"slot"`
	At   int64  `json:"at"`
}

// Report is an audit's discrepancies.
type Report struct {
	Expected   int    `json:"expected"`
	Present    int    `json:"present"`
	Missing    []Line `json:"missing,omitempty"`
	Unexpected []Line `json:"unexpected,omitempty"`
	WrongSlot  []Line `json:"wrong_slot,omitempty"`
}

// Line is one discrepancy.
type Line struct {
	Tag      string `json:"tag"`
	KeyID    string `json:"key_id,omitempty"`
	Customer string `json:"customer,omitempty"`
	Cabinet  string `json:"cabinet,omitempty"`
	Slot     string `json:"slot,omitempty"`  // where the records say
	Found    string `json:"found,omitempty"` // where it was found
	Why      string `json:"why,omitempty"`   // unexpected: unknown, out, lost, retired, other_cabinet
}

// MaxNamed is the most accounts a key or a level may name.
const MaxNamed = 100

// staffRoles may take a key nobody is named on.
var staffRoles = []string{string(auth.Admin), string(auth.Manager), string(auth.Reception)}

// Allowed reports whether p may take k under its level's rule r.
func Allowed(k Key, r Rule, p Person) bool {
	if p.ID == "" || p.Role == auth.Host {
		return false // tenant employees are never key room staff, whatever is named
	}
	roles := append(slices.Clone(k.Roles), r.Roles...)
	accounts := append(slices.Clone(k.Accounts), r.Accounts...)
	if len(roles) == 0 && len(accounts) == 0 {
		roles = staffRoles
	}
	return slices.Contains(roles, string(p.Role)) || slices.Contains(accounts, p.ID)
}

// CurfewAt is the first time the curfew hh:mm falls after out, in loc;
// the zero time when there is no curfew.
func CurfewAt(out time.Time, curfew string, loc *time.Location) time.Time {
	hm, err := time.Parse("15:04", curfew)
	if curfew == "" || err != nil {
		return time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	o := out.In(loc)
	y, m, d := o.Date()
	at := time.Date(y, m, d, hm.Hour(), hm.Minute(), 0, 0, loc)
	if !at.After(o) {
		at = time.Date(y, m, d+1, hm.Hour(), hm.Minute(), 0, 0, loc)
	}
	return at
}

// SweepRules are the timed rules of checkouts.
type SweepRules struct {
	Location      *time.Location
	EscalateAfter time.Duration // after the due time, the managers are told; 0: never
}

// DueAlerts lists the alert kinds that checkout c has reached at now and
// not yet raised.
func DueAlerts(now time.Time, c Checkout, r Rule, rules SweepRules) []string {
	if !c.Open() {
		return nil
	}
	var out []string
	due := time.Unix(0, c.Due)
	if c.Due != 0 && !now.Before(due) {
		out = append(out, AlertOverdue)
		if rules.EscalateAfter > 0 && !now.Before(due.Add(rules.EscalateAfter)) {
			out = append(out, AlertEscalated)
		}
	}
	if at := CurfewAt(time.Unix(0, c.At), r.Curfew, rules.Location); !at.IsZero() && !now.Before(at) {
		out = append(out, AlertCurfew)
	}
	return slices.DeleteFunc(out, func(k string) bool { _, done := c.Alerts[k]; return done })
}

// checkKey validates a key as registered.
func checkKey(k *Key) field.Errors {
	var es field.Errors
	k.Tag = strings.ToUpper(es.Text("tag", k.Tag, true, 32))
	if k.Tag != "" && strings.ContainsAny(k.Tag, " /\\?#%") {
		es.Add("tag", "key_tag_invalid")
	}
	k.Customer = es.Text("customer", k.Customer, true, 80)
	k.Unit = es.Text("unit", k.Unit, false, 40)
	k.Cabinet = es.Text("cabinet", k.Cabinet, true, 40)
	k.Slot = es.Text("slot", k.Slot, true, 20)
	if k.Level < MinLevel || k.Level > TopLevel {
		es.Add("level", "invalid")
	}
	if k.SpareOf != "" && !store.ValidID(k.SpareOf) {
		es.Add("spare_of", "invalid")
	}
	k.Roles = cleanRoles(k.Roles, &es, "roles")
	k.Accounts = cleanIDs(k.Accounts, &es, "accounts")
	return es
}

func cleanRoles(rs []string, es *field.Errors, name string) []string {
	var out []string
	for _, r := range rs {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if !auth.Role(r).Valid() || auth.Role(r) == auth.Host {
			es.Add(name, "invalid")
			return out // one error says it; a form of a million bad roles adds no more
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func cleanIDs(ids []string, es *field.Errors, name string) []string {
	var out []string
	if len(ids) > MaxNamed {
		// Each is checked against the others: a form posting thousands
		// would cost seconds for nothing a key room needs.
		es.AddArg(name, "too_many", strconv.Itoa(MaxNamed))
		return nil
	}
	for _, id := range ids {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		if !store.ValidID(id) {
			es.Add(name, "invalid")
			continue
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// checkRule validates a level's rule.
func checkRule(r *Rule) field.Errors {
	var es field.Errors
	if r.Level < MinLevel || r.Level > TopLevel {
		es.Add("level", "invalid")
	}
	r.Roles = cleanRoles(r.Roles, &es, "roles")
	r.Accounts = cleanIDs(r.Accounts, &es, "accounts")
	r.Curfew = strings.TrimSpace(r.Curfew)
	if r.Curfew != "" {
		if _, err := time.Parse("15:04", r.Curfew); err != nil {
			es.Add("curfew", "key_curfew_invalid")
		}
	}
	return es
}
