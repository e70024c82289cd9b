// Package visit is the visit and its life: the four ways in (pre-booked,
// invited, walk-in, conference), the states of DOMAIN.md, and who moved a
// visit from one state to the next and when.
//
// Personal data — the visitor's mobile and ID digits — arrives at the
// service in clear and leaves it sealed (appliance/secret): commands, the
// store and backups hold only ciphertext, a blind index for lookups and a
// masked form for lists.
package visit

import (
	"errors"
	"fmt"
	"time"
)

// Errors.
var (
	ErrNotFound   = errors.New("visit: not found")
	ErrTransition = errors.New("visit: not allowed in this state")
	ErrNotHost    = errors.New("visit: only the visit's host may do this")
	// ErrBlocked means screening refuses the visitor. Pages say only that
	// the visit cannot be booked here, never that a list matched.
	ErrBlocked = errors.New("visit: refused by screening")
)

// Mode is how the visitor came to be expected.
type Mode string

// The four ways in.
const (
	Booked     Mode = "booked"     // 预约访问: the visitor applied on the booking page
	Invited    Mode = "invited"    // 受邀访问: the host invited the visitor
	WalkIn     Mode = "walkin"     // 现场登记: registered by reception after the host agreed
	Conference Mode = "conference" // 大会人员: registered in bulk from an attendee list
)

// State of a visit.
type State string

// States, from DOMAIN.md.
const (
	Requested State = "requested"
	Approved  State = "approved"
	Rejected  State = "rejected"
	Cancelled State = "cancelled"
	In        State = "in"
	Out       State = "out"
	Closed    State = "closed"
	NoShow    State = "no_show"
)

// Event moves a visit.
type Event string

// Events.
const (
	EvApprove Event = "approve"
	EvReject  Event = "reject"
	EvCancel  Event = "cancel"
	EvEnter   Event = "enter"
	EvExit    Event = "exit"
	EvClose   Event = "close"
	EvNoShow  Event = "no_show"
)

// Next is the state machine: the state after ev, or ErrTransition.
//
//	requested → approved | rejected | cancelled
//	approved  → in (first entry) | cancelled | no_show (window over, never used) | closed
//	in ⇄ out  (entries and exits while the window lasts)
//	in | out  → closed (meeting over, end of day, or the host closes it)
func Next(s State, ev Event) (State, error) {
	switch {
	case ev == EvApprove && s == Requested:
		return Approved, nil
	case ev == EvReject && s == Requested:
		return Rejected, nil
	case ev == EvCancel && (s == Requested || s == Approved):
		return Cancelled, nil
	case ev == EvEnter && (s == Approved || s == Out):
		return In, nil
	case ev == EvExit && s == In:
		return Out, nil
	case ev == EvClose && (s == Approved || s == In || s == Out):
		return Closed, nil
	case ev == EvNoShow && s == Approved:
		return NoShow, nil
	}
	return s, fmt.Errorf("%w: %s from %s", ErrTransition, ev, s)
}

// Final reports whether no event can move s any more.
func (s State) Final() bool {
	return s == Rejected || s == Cancelled || s == Closed || s == NoShow
}

// PassValid reports whether a pass of a visit in s may open a gate.
func (s State) PassValid() bool { return s == Approved || s == In || s == Out }

// Visitor is who comes. Mobile and ID digits are sealed.
type Visitor struct {
	Name         string `json:"name"`
	Title        string `json:"title,omitempty"` // courtesy title: 先生, 女士, Mr, Ms, Dr
	MobileSealed string `json:"mobile_sealed"`
	MobileBlind  string `json:"mobile_blind"`
	MobileMasked string `json:"mobile_masked"`
	IDSealed     string `json:"id_sealed,omitempty"`     // last 6 digits (self-service) or the whole number (desk)
	IDBlind      string `json:"id_blind,omitempty"`      // of the last six characters
	IDFullBlind  string `json:"id_full_blind,omitempty"` // of the whole number, when read at the desk
	Company      string `json:"company,omitempty"`       // where the visitor comes from
	DocSealed    string `json:"doc_sealed,omitempty"`    // DocDetails as JSON, sealed (desk)
	// Purged: when the retention purge removed all of the above (Unix ns).
	Purged int64 `json:"purged,omitempty"`
}

// Transition is one step of a visit's history.
type Transition struct {
	State State  `json:"state"`
	At    int64  `json:"at"`
	By    string `json:"by"`
	Note  string `json:"note,omitempty"`
}

// Visit is one expected or actual visit.
type Visit struct {
	ID           string  `json:"id"`
	Mode         Mode    `json:"mode"`
	State        State   `json:"state"`
	Visitor      Visitor `json:"visitor"`
	PartySize    int     `json:"party_size"`
	HostID       string  `json:"host_id"`
	CompanyID    string  `json:"company_id"`
	FloorID      string  `json:"floor_id"`
	Reason       string  `json:"reason"`
	Message      string  `json:"message,omitempty"` // invitation text
	From         int64   `json:"from"`              // expected window, Unix ns
	Until        int64   `json:"until"`
	RejectReason string  `json:"reject_reason,omitempty"`
	LinkHash     string  `json:"link_hash"`             // SHA-256 of the visitor's status-page token
	LinkSealed   string  `json:"link_sealed,omitempty"` // the token itself, sealed: notifications send it to the visitor
	PassID       string  `json:"pass_id,omitempty"`
	Conference   string  `json:"conference,omitempty"`
	Flag         string  `json:"flag,omitempty"` // screening: the guard should check this visitor
	// Whitelisted: a self-service booking of a whitelisted visitor. Unless
	// the visitor proved the phone, the host decides, seeing this mark.
	Whitelisted bool         `json:"whitelisted,omitempty"`
	Photo       bool         `json:"photo,omitempty"` // a sealed photo is stored apart (KindVisitPhoto)
	PhotoPurged int64        `json:"photo_purged,omitempty"`
	Overstay    int64        `json:"overstay,omitempty"`  // when the desk was told the visitor stayed past the window
	Escalated   int          `json:"escalated,omitempty"` // unanswered application: 1 host reminded, 2 desk told
	Badge       string       `json:"badge,omitempty"`
	BadgeBack   int64        `json:"badge_back,omitempty"`
	FirstIn     int64        `json:"first_in,omitempty"`
	LastOut     int64        `json:"last_out,omitempty"`
	History     []Transition `json:"history"`
	Created     int64        `json:"created"`

	// Lang is the visitor's language ("zh", "en"): the booking page's, or
	// the desk's or the inviting host's choice; messages to the visitor go
	// in it alone. "": the site's default.
	Lang string `json:"lang,omitempty"`
}

// Window returns the expected window as times.
func (v Visit) Window() (time.Time, time.Time) { return time.Unix(0, v.From), time.Unix(0, v.Until) }
