package access

import (
	"errors"
	"regexp"
	"strings"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// ErrNotFound means no such zone, lane, group, profile or credential.
var ErrNotFound = errors.New("access: not found")

// Zone is an area behind doors: anti-passback and occupancy count per zone.
type Zone struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Passback Passback `json:"passback"`
}

// Lane is a gate or door: entry and exit readers (configured as devices)
// and a relay pulsed for PulseMs. A lane of kind elevator is a lift car
// instead: its reader releases floor buttons through an elevator board
// (elevator.go).
type Lane struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	ZoneID   string `json:"zone_id"`            // the zone entered through this lane
	FloorID  string `json:"floor_id,omitempty"` // a floor's door; empty for the building's entrance
	Visitors bool   `json:"visitors"`           // visitor passes open it (lobby turnstiles)
	PulseMs  int    `json:"pulse_ms"`
	// Kind is "" for a turnstile or door (every lane stored before lifts
	// were) or LaneElevator.
	Kind LaneKind `json:"kind,omitempty"`
	// An elevator: how long a grant's floors stay released (seconds,
	// default DefaultReleaseS), and which output of the car's elevator
	// board enables which floor's button.
	ReleaseS int         `json:"release_s,omitempty"`
	Floors   []FloorCoil `json:"floors,omitempty"`
}

// LaneKind is what a lane is.
type LaneKind string

// Lane kinds.
const (
	LaneGate     LaneKind = ""         // turnstile or door: a relay pulsed
	LaneElevator LaneKind = "elevator" // a lift car: floor buttons released
)

// Elevator limits.
const (
	DefaultReleaseS = 10
	MaxReleaseS     = 300
	MaxFloorCoils   = 64 // outputs of one elevator board
)

// FloorCoil maps a floor to the elevator board output (1..MaxFloorCoils,
// as printed on the board) that enables its button.
type FloorCoil struct {
	Floor string `json:"floor"`
	Coil  int    `json:"coil"`
}

// Release is how long the lane's floors stay released after a grant.
func (l Lane) Release() time.Duration {
	if l.ReleaseS <= 0 {
		return DefaultReleaseS * time.Second
	}
	return time.Duration(l.ReleaseS) * time.Second
}

// Coils is the lane's floor map as floor ID → output; nil for a gate.
func (l Lane) Coils() map[string]int {
	if l.Kind != LaneElevator {
		return nil
	}
	m := make(map[string]int, len(l.Floors))
	for _, f := range l.Floors {
		m[f.Floor] = f.Coil
	}
	return m
}

// Group is an access group: the lanes, zones and floors it opens.
type Group struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	LaneIDs  []string `json:"lane_ids,omitempty"`
	ZoneIDs  []string `json:"zone_ids,omitempty"`
	FloorIDs []string `json:"floor_ids,omitempty"`
}

// Covers reports whether the group opens lane l.
func (g Group) Covers(l Lane) bool {
	return has(g.LaneIDs, l.ID) || has(g.ZoneIDs, l.ZoneID) || (l.FloorID != "" && has(g.FloorIDs, l.FloorID))
}

func has(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Holiday is a date (local) when profiles without Holidays are closed.
type Holiday struct {
	Date string `json:"date"` // 2006-01-02
	Name string `json:"name"`
}

// CredKind is the kind of a credential.
type CredKind string

// Credential kinds.
const (
	Card  CredKind = "card"
	PIN   CredKind = "pin"
	Quick CredKind = "quick" // an employee's rotating QR (secret sealed)
	Face  CredKind = "face"  // a face enrolled on the face terminals (face.go)
)

// HolderKind says who holds a credential.
type HolderKind string

// Holder kinds.
const (
	HolderEmployee   HolderKind = "employee"
	HolderVisitor    HolderKind = "visitor"
	HolderContractor HolderKind = "contractor"
	HolderCustomer   HolderKind = "customer"
)

// Credential is a card, PIN or quick pass with its holder and rights.
type Credential struct {
	ID         string     `json:"id"`
	Kind       CredKind   `json:"kind"`
	Number     string     `json:"number"` // card: normalised (see NormalizeCard); PIN: the digits; quick: empty
	HolderKind HolderKind `json:"holder_kind"`
	HolderID   string     `json:"holder_id,omitempty"` // directory person, for employees
	HolderName string     `json:"holder_name"`
	Company    string     `json:"company,omitempty"` // the holder's company, for contractors and customers
	State      CredState  `json:"state"`
	NotBefore  int64      `json:"not_before,omitempty"`
	NotAfter   int64      `json:"not_after,omitempty"`
	ProfileID  string     `json:"profile_id,omitempty"`
	GroupIDs   []string   `json:"group_ids"`
	LimitDay   int        `json:"limit_day,omitempty"`
	LimitTotal int        `json:"limit_total,omitempty"`
	Replaces   string     `json:"replaces,omitempty"`
	Secret     string     `json:"secret,omitempty"` // quick pass: sealed TOTP secret
	Created    int64      `json:"created"`
	Updated    int64      `json:"updated"`
	Purged     int64      `json:"purged,omitempty"` // the retention purge removed the holder's data, HolderName with it (purge.go)
	// Face credentials (face.go): the face picture, sealed, and when the
	// holder's consent to its use was recorded. Both go when consent is
	// withdrawn or the validity ends.
	Photo   string `json:"photo,omitempty"`
	Consent int64  `json:"consent,omitempty"`
}

var (
	hexRE  = regexp.MustCompile(`^[0-9A-F]{4,32}$`)
	wiegRE = regexp.MustCompile(`^W(26|34)?:([0-9]{1,5}):([0-9]{1,5})$`)
	fcRE   = regexp.MustCompile(`^([0-9]{1,5}):([0-9]{1,5})$`)
	pinRE  = regexp.MustCompile(`^[0-9]{4,8}$`)
)

// NormalizeCard turns what people type or readers send into one spelling:
//
//   - Wiegand as "W:FC:NUMBER" (facility code and card number in decimal,
//     without leading zeros), from "W26:FC:NUMBER", "W34:FC:NUMBER", or the
//     readers' "FC:NUMBER" (one colon, two decimal parts). The bit length is
//     dropped: readers do not report it, and a card must match however it
//     was enrolled.
//   - a raw UID as upper-case hex without separators, from "04A23B1C",
//     "04:a2:3b:1c" or "04-A2-3B-1C" (separators only between whole bytes,
//     at least three bytes), so "12:345" can never be read as hex.
//
// It returns "" for neither.
func NormalizeCard(s string) string {
	u := strings.ToUpper(strings.TrimSpace(s))
	if m := wiegRE.FindStringSubmatch(u); m != nil {
		return wiegand(m[2], m[3])
	}
	if m := fcRE.FindStringSubmatch(u); m != nil {
		return wiegand(m[1], m[2])
	}
	u = strings.TrimPrefix(u, "0X")
	if strings.ContainsAny(u, ":- ") {
		parts := strings.FieldsFunc(u, func(r rune) bool { return r == ':' || r == '-' || r == ' ' })
		if len(parts) < 3 {
			return ""
		}
		for _, p := range parts {
			if len(p) != 2 {
				return ""
			}
		}
		u = strings.Join(parts, "")
	}
	if hexRE.MatchString(u) && len(u)%2 == 0 {
		return u
	}
	return ""
}

func wiegand(fc, num string) string {
	trim := func(d string) string {
		if t := strings.TrimLeft(d, "0"); t != "" {
			return t
		}
		return "0"
	}
	return "W:" + trim(fc) + ":" + trim(num)
}

func checkCredential(c *Credential) field.Errors {
	var es field.Errors
	if !store.ValidID(c.ID) {
		es.Add("id", "invalid")
	}
	switch c.Kind {
	case Card:
		if n := NormalizeCard(c.Number); n == "" {
			es.Add("number", "invalid_card_number")
		} else {
			c.Number = n
		}
	case PIN:
		if !pinRE.MatchString(c.Number) {
			es.Add("number", "invalid_pin")
		}
	case Quick:
		c.Number = ""
		if c.Secret == "" {
			es.Add("secret", "required")
		}
	case Face:
		checkFace(c, &es)
	default:
		es.Add("kind", "invalid")
	}
	if c.Kind != Face {
		c.Photo, c.Consent = "", 0
	}
	switch c.HolderKind {
	case HolderEmployee, HolderVisitor, HolderContractor, HolderCustomer:
	default:
		es.Add("holder_kind", "invalid")
	}
	c.HolderName = es.Text("holder_name", c.HolderName, true, 64)
	c.Company = es.Text("company", c.Company, false, 100)
	if c.NotBefore != 0 && c.NotAfter != 0 && c.NotAfter <= c.NotBefore {
		es.Add("not_after", "window_inverted")
	}
	if c.LimitDay < 0 || c.LimitDay > 1000 {
		es.Add("limit_day", "out_of_range")
	}
	if c.LimitTotal < 0 || c.LimitTotal > 1000000 {
		es.Add("limit_total", "out_of_range")
	}
	switch c.State {
	case Active, StateSuspended, StateLost, StateReturned, StateRevoked:
	default:
		es.Add("state", "invalid")
	}
	return es
}
