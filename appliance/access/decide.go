// Package access decides at the gates: credentials (cards, QR passes,
// PINs), access groups, time profiles with holidays, validity, use limits,
// anti-passback per zone, and the screening of holders.
//
// The decision is split in two. Gather (state.go) reads the local store to
// assemble the facts about one presentation; Decide (this file) is a pure
// function of those facts — no clock, no I/O, no network — so it is tested
// as a table and answers in microseconds.
package access

import (
	"time"

	"gatehouse/appliance/pass"
)

// Reason is why a presentation was granted or denied: a fixed list, shown
// to guards and stored with every event.
type Reason string

// Reasons.
const (
	Granted           Reason = "granted"
	Unknown           Reason = "unknown"
	Revoked           Reason = "revoked"
	Lost              Reason = "lost"
	Suspended         Reason = "suspended"
	Returned          Reason = "returned"
	NotYetValid       Reason = "not_yet_valid"
	Expired           Reason = "expired"
	OutsideProfile    Reason = "outside_time_profile"
	NoPermission      Reason = "no_permission"
	UseLimit          Reason = "use_limit"
	AntiPassback      Reason = "anti_passback"
	Blacklisted       Reason = "blacklisted"
	VisitNotApproved  Reason = "visit_not_approved"
	VisitRejected     Reason = "visit_rejected"
	PassInvalid       Reason = "pass_invalid" // forged, altered or malformed QR
	UnknownLane       Reason = "unknown_lane"
	GrantedSoftBreach Reason = "granted_passback_breach" // soft anti-passback: let through, alarm raised
	// The holder, or the holder's company, is deactivated in the directory:
	// the credential itself is untouched, so a reactivation lets it in again.
	HolderDeactivated  Reason = "holder_deactivated"
	CompanyDeactivated Reason = "company_deactivated"
	// Openings from the guard station (manual.go), not decisions.
	ManualOpened     Reason = "manual_open"        // a lane opened by hand
	ManualOpenFailed Reason = "manual_open_failed" // asked, but nothing opened (no relay, or it did not answer)
	AdmittedByGuard  Reason = "admitted_by_guard"  // a visitor let in by the guard, tied to the visit
)

// Alarm is raised by a decision for the guard station.
type Alarm string

// Alarms a decision can raise.
const (
	NoAlarm          Alarm = ""
	AlarmDeniedVisit Alarm = "denied_visitor"
	AlarmRejected    Alarm = "rejected_visitor"
	AlarmPassback    Alarm = "passback_breach"
	AlarmBlacklisted Alarm = "blacklisted"
)

// CredState is the life state of a credential.
type CredState string

// Credential states.
const (
	Active         CredState = "active"
	StateSuspended CredState = "suspended"
	StateLost      CredState = "lost"
	StateReturned  CredState = "returned"
	StateRevoked   CredState = "revoked"
)

// Passback is a zone's anti-passback mode.
type Passback string

// Anti-passback modes.
const (
	PassbackOff  Passback = ""
	PassbackSoft Passback = "soft" // grant and alarm
	PassbackHard Passback = "hard" // deny
)

// Range is a daily time range in minutes after local midnight. From > To
// crosses midnight: 22:00–06:00 covers the evening of its day and the early
// morning of the next.
type Range struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Profile is a weekly schedule: ranges per weekday (0 = Sunday).
type Profile struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Week     [7][]Range `json:"week"`
	Holidays bool       `json:"holidays"` // also valid on holidays (else holidays are closed)
}

// minuteOf is the wall-clock minute of t in its location: on the days a
// clock changes, 02:30 simply does not occur (spring) or occurs twice
// (autumn), and a schedule reads the wall clock, as a person would.
func minuteOf(t time.Time) int { return t.Hour()*60 + t.Minute() }

// Allows reports whether the profile admits local time t; holiday says
// whether t's local date is a holiday, prevHoliday whether the day before
// was (its overnight ranges reach into t's morning).
func (p *Profile) Allows(t time.Time, holiday, prevHoliday bool) bool {
	if p == nil {
		return true // no profile: any time
	}
	m := minuteOf(t)
	wd := int(t.Weekday())
	if !holiday || p.Holidays {
		for _, r := range p.Week[wd] {
			if r.From < r.To && m >= r.From && m < r.To {
				return true
			}
			if r.From > r.To && m >= r.From {
				return true
			}
		}
	}
	if !prevHoliday || p.Holidays {
		for _, r := range p.Week[(wd+6)%7] {
			if r.From > r.To && m < r.To {
				return true
			}
		}
	}
	return false
}

// Facts are everything the decision needs, gathered from local state.
type Facts struct {
	Now       time.Time // in the building's location
	Holiday   bool      // Now's local date is a holiday
	PrevHol   bool      // the day before was
	LaneKnown bool
	Entry     bool // direction: true in, false out

	// The credential, if one matched.
	Found     bool
	State     CredState
	NotBefore time.Time // zero: no start
	NotAfter  time.Time // zero: no end
	Profile   *Profile
	Permitted bool // an access group of the credential covers the lane (or its zone or floor)

	UsesToday, UsesTotal int
	LimitDay, LimitTotal int // 0: no limit
	HolderBlacklisted    bool
	Passback             Passback // the lane's zone
	Inside               bool     // the holder is inside the lane's zone now
	IsVisitor            bool     // a visitor's QR pass
	VisitUsable          bool     // approved, in or out
	VisitRejected        bool
	VisitPending         bool   // requested, not yet decided
	PassProblem          Reason // the pass itself failed: PassInvalid
	// A visitor's pass: its window (NotBefore, NotAfter above) and the
	// site's grace around it (config visitor_grace_*), as data, so the
	// decision stays a function of the facts.
	Pass  pass.Claims
	Grace pass.Grace

	// The holder is a directory person who is deactivated, or whose
	// company is (appliance/directory); both false for holders who are
	// not in the directory.
	HolderDeactivated  bool
	CompanyDeactivated bool

	// An elevator lane: the floors a grant would release (elevator.go).
	Elevator bool
	Floors   FloorFacts
}

// Decision is the answer.
type Decision struct {
	Grant  bool
	Reason Reason
	Alarm  Alarm
	// Floors an elevator grant releases (ReleasedFloors), never empty on
	// a grant at an elevator lane; nil at other lanes.
	Floors []string
}

func deny(r Reason) Decision { return Decision{Reason: r} }

// Decide applies the rules of DOMAIN.md "Passes and gates" in a fixed
// order: the first rule that fails gives the reason.
func Decide(f Facts) Decision {
	d := decide(f)
	if !d.Grant || !f.Elevator {
		return d
	}
	// A car that would go nowhere is no grant: the reader shows red.
	if d.Floors = ReleasedFloors(f.Floors); len(d.Floors) == 0 {
		if f.IsVisitor {
			return Decision{Reason: NoPermission, Alarm: AlarmDeniedVisit}
		}
		return deny(NoPermission)
	}
	return d
}

func decide(f Facts) Decision {
	switch {
	case !f.LaneKnown:
		return deny(UnknownLane)
	case f.IsVisitor:
		return decideVisitor(f)
	case !f.Found:
		return deny(Unknown)
	}
	switch f.State {
	case Active:
	case StateLost:
		return deny(Lost)
	case StateSuspended:
		return deny(Suspended)
	case StateReturned:
		return deny(Returned)
	default:
		return deny(Revoked)
	}
	if f.HolderBlacklisted {
		return Decision{Reason: Blacklisted, Alarm: AlarmBlacklisted}
	}
	// Deactivated people are kept out, not shut in: someone deactivated
	// while inside (on their last day) still leaves through the lanes, as
	// a use limit does not stop anyone leaving.
	if f.Entry && f.HolderDeactivated {
		return deny(HolderDeactivated)
	}
	if f.Entry && f.CompanyDeactivated {
		return deny(CompanyDeactivated)
	}
	if !f.NotBefore.IsZero() && f.Now.Before(f.NotBefore) {
		return deny(NotYetValid)
	}
	if !f.NotAfter.IsZero() && !f.Now.Before(f.NotAfter) {
		return deny(Expired)
	}
	if !f.Profile.Allows(f.Now, f.Holiday, f.PrevHol) {
		return deny(OutsideProfile)
	}
	if !f.Permitted {
		return deny(NoPermission)
	}
	if f.Entry && ((f.LimitDay > 0 && f.UsesToday >= f.LimitDay) || (f.LimitTotal > 0 && f.UsesTotal >= f.LimitTotal)) {
		return deny(UseLimit)
	}
	return passback(f)
}

func decideVisitor(f Facts) Decision {
	switch {
	case f.VisitRejected:
		return Decision{Reason: VisitRejected, Alarm: AlarmRejected}
	case f.HolderBlacklisted:
		return Decision{Reason: Blacklisted, Alarm: AlarmBlacklisted}
	case f.PassProblem != "":
		return Decision{Reason: f.PassProblem, Alarm: AlarmDeniedVisit}
	case f.Pass.NotAfter.IsZero(): // gathered facts always carry the pass's window
		return Decision{Reason: PassInvalid, Alarm: AlarmDeniedVisit}
	case f.Pass.Window(f.Now, f.Grace) == pass.NotYetValid:
		return Decision{Reason: NotYetValid, Alarm: AlarmDeniedVisit}
	case f.Pass.Window(f.Now, f.Grace) == pass.Expired:
		return Decision{Reason: Expired, Alarm: AlarmDeniedVisit}
	case f.VisitPending:
		return Decision{Reason: VisitNotApproved, Alarm: AlarmDeniedVisit}
	case !f.VisitUsable:
		return Decision{Reason: Revoked, Alarm: AlarmDeniedVisit}
	case !f.Permitted:
		return Decision{Reason: NoPermission, Alarm: AlarmDeniedVisit}
	}
	return passback(f)
}

// passback applies the zone's anti-passback: nobody enters twice without
// leaving, nor leaves without having entered.
func passback(f Facts) Decision {
	breach := (f.Entry && f.Inside) || (!f.Entry && !f.Inside)
	switch {
	case !breach || f.Passback == PassbackOff:
		return Decision{Grant: true, Reason: Granted}
	case f.Passback == PassbackSoft:
		return Decision{Grant: true, Reason: GrantedSoftBreach, Alarm: AlarmPassback}
	}
	return Decision{Reason: AntiPassback, Alarm: AlarmPassback}
}
