package visit

import (
	"errors"
	"fmt"
	"strings"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Command types.
const (
	CmdCreate      = "visit.create"
	CmdBadge       = "visit.badge"
	CmdBadgeReturn = "visit.badge_return"
	CmdOverstay    = "visit.overstay"
	CmdEscalate    = "visit.escalate"
	CmdPhoto       = "visit.photo"
)

// eventCommands: one command type per event, so the audit trail reads
// "visit.approve", "visit.enter", ...
var eventCommands = map[string]Event{
	"visit.approve": EvApprove,
	"visit.reject":  EvReject,
	"visit.cancel":  EvCancel,
	"visit.enter":   EvEnter,
	"visit.exit":    EvExit,
	"visit.close":   EvClose,
	"visit.no_show": EvNoShow,
}

// CmdFor returns the command type of an event.
func CmdFor(ev Event) string { return "visit." + string(ev) }

// Register installs the visit command handlers.
func Register(reg store.Registrar) {
	reg.Register(CmdCreate, applyCreate)
	for typ := range eventCommands {
		reg.Register(typ, applyEvent)
	}
	reg.Register(CmdBadge, applyBadge)
	reg.Register(CmdBadgeReturn, applyBadge)
	reg.Register(CmdOverstay, applyMark)
	reg.Register(CmdEscalate, applyMark)
	reg.Register(CmdPhoto, applyPhoto)
	reg.Register(CmdPurge, applyPurge)
	reg.Register(CmdPurgePhotos, applyPurge)
}

type photoPayload struct {
	ID     string `json:"id"`
	Sealed string `json:"sealed"` // the JPEG, sealed by the issuer
}

// applyPhoto stores the visitor's photo apart from the visit, so lists
// never load it.
func applyPhoto(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p photoPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	v, err := get(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	if p.Sealed == "" || len(p.Sealed) > MaxPhotoBytes*2 {
		return store.Effect{}, field.Errors{{Field: "photo", Code: "invalid_photo"}}
	}
	v.Photo = true
	if err := tx.Set(store.Key(store.KindVisitPhoto, v.ID), []byte(p.Sealed)); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "visit:" + v.ID, Note: "photo taken"}, tx.SetJSON(visitKey(v.ID), v)
}

type markPayload struct {
	ID    string `json:"id"`
	Stage int    `json:"stage,omitempty"`
}

// applyMark records that the desk or host was told about a visit, so a
// sweep tells them once.
func applyMark(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p markPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	v, err := get(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	note := ""
	switch cmd.Type {
	case CmdOverstay:
		if v.State != In || v.Overstay != 0 {
			return store.Effect{}, fmt.Errorf("%w: overstay of a %s visit", ErrTransition, v.State)
		}
		v.Overstay, note = cmd.Time, "stayed past the window"
	case CmdEscalate:
		if v.State != Requested || p.Stage <= v.Escalated {
			return store.Effect{}, fmt.Errorf("%w: escalation %d of a %s visit", ErrTransition, p.Stage, v.State)
		}
		v.Escalated, note = p.Stage, fmt.Sprintf("escalated (stage %d)", p.Stage)
	}
	return store.Effect{Subject: "visit:" + v.ID, Note: note}, tx.SetJSON(visitKey(v.ID), v)
}

type eventPayload struct {
	ID     string `json:"id"`
	Note   string `json:"note,omitempty"`
	PassID string `json:"pass_id,omitempty"` // approve: the pass issued
	Reason string `json:"reason,omitempty"`  // reject: told to the visitor
}

type badgePayload struct {
	ID    string `json:"id"`
	Badge string `json:"badge,omitempty"`
}

func visitKey(id string) []byte { return store.Key(store.KindVisit, id) }

func get(r *store.Reader, id string) (Visit, error) {
	var v Visit
	err := r.GetJSON(visitKey(id), &v)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return v, err
}

func u64s(n int64) string { return string(store.U64(uint64(n))) }

// indexKeys are the secondary entries of v whose key depends on its state.
func stateKey(v Visit) []byte {
	return store.Key(store.KindVisitByState, string(v.State), u64s(v.Until), v.ID)
}

func applyCreate(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var v Visit
	if err := cmd.Decode(&v); err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(v.ID) || v.Until <= v.From || len(v.LinkHash) != 64 {
		return store.Effect{}, fmt.Errorf("%w: malformed visit", field.ErrInvalid)
	}
	if ok, err := tx.Has(visitKey(v.ID)); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("%w: visit %s exists", field.ErrInvalid, v.ID)
		}
		return store.Effect{}, err
	}
	switch {
	case v.Mode == Booked && v.State == Requested:
	case (v.Mode == Invited || v.Mode == WalkIn || v.Mode == Conference) && v.State == Approved && store.ValidID(v.PassID):
	default:
		return store.Effect{}, fmt.Errorf("%w: a %s visit cannot start %s", field.ErrInvalid, v.Mode, v.State)
	}
	host, err := directory.GetPerson(&tx.Reader, v.HostID)
	if err != nil || !host.Active || !host.CanHost || host.Kind != directory.Employee {
		return store.Effect{}, field.Errors{{Field: "host_id", Code: "not_a_host"}}
	}
	v.CompanyID, v.FloorID, v.Created = host.CompanyID, host.FloorID, cmd.Time
	v.History = []Transition{{State: v.State, At: cmd.Time, By: cmd.Actor}}
	if err := putIndexes(tx, v); err != nil {
		return store.Effect{}, err
	}
	if err := tx.Set(store.Key(store.KindVisitByLink, v.LinkHash), []byte(v.ID)); err != nil {
		return store.Effect{}, err
	}
	if v.Visitor.MobileBlind != "" {
		if err := tx.Set(store.Key(store.KindVisitByVisitor, v.Visitor.MobileBlind, u64s(v.From), v.ID), nil); err != nil {
			return store.Effect{}, err
		}
	}
	if err := tx.Set(store.Key(store.KindVisitByHost, v.HostID, u64s(v.From), v.ID), nil); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "visit:" + v.ID, Note: string(v.Mode) + ", " + string(v.State)}, tx.SetJSON(visitKey(v.ID), v)
}

// putIndexes writes the state-dependent entries and the pass link.
func putIndexes(tx *store.Tx, v Visit) error {
	if err := tx.Set(store.Key(store.KindVisitByTime, u64s(v.From), v.ID), []byte(v.State)); err != nil {
		return err
	}
	if !v.State.Final() {
		if err := tx.Set(stateKey(v), nil); err != nil {
			return err
		}
	}
	if v.PassID != "" {
		return tx.Set(store.Key(store.KindPass, v.PassID), []byte(v.ID))
	}
	return nil
}

func applyEvent(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	ev := eventCommands[cmd.Type]
	var p eventPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	v, err := get(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	next, err := Next(v.State, ev)
	if err != nil {
		return store.Effect{}, err
	}
	switch ev {
	case EvApprove:
		if !store.ValidID(p.PassID) {
			return store.Effect{}, fmt.Errorf("%w: approval without a pass", field.ErrInvalid)
		}
		v.PassID = p.PassID
	case EvReject:
		if strings.TrimSpace(p.Reason) == "" {
			return store.Effect{}, field.Errors{{Field: "reason", Code: "required"}}
		}
		v.RejectReason = p.Reason
	}
	return store.Effect{Subject: "visit:" + v.ID, Note: string(next)}, move(tx, v, ev, next, cmd.Time, cmd.Actor, p.Note)
}

// move writes v's transition by ev to next, at, by whom, with a note.
func move(tx *store.Tx, v Visit, ev Event, next State, at int64, by, note string) error {
	switch ev {
	case EvEnter:
		if v.FirstIn == 0 {
			v.FirstIn = at
		}
	case EvExit:
		v.LastOut = at
	}
	if err := tx.Delete(stateKey(v)); err != nil {
		return err
	}
	v.State = next
	v.History = append(v.History, Transition{State: next, At: at, By: by, Note: note})
	if err := putIndexes(tx, v); err != nil {
		return err
	}
	return tx.SetJSON(visitKey(v.ID), v)
}

// Pass moves visit id in (or out) at a gate, inside the gate's own command
// (access.event), so that the decision, its event and the visit's passage
// are one commit. It is the transition visit.enter (visit.exit) makes, at
// the command's time and by its actor, with the lane's name as the note. A
// passage the visit's state does not allow (an entry while already in,
// where anti-passback is off) leaves the visit as it is: moved is false,
// as Move's ErrTransition, and the command goes on; so does a visit
// purged between the decision and its command.
func Pass(tx *store.Tx, cmd store.Command, id string, in bool, note string) (moved bool, err error) {
	v, err := get(&tx.Reader, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil // purged since the decision read it: the event stands
	} else if err != nil {
		return false, err
	}
	ev := EvExit
	if in {
		ev = EvEnter
	}
	next, err := Next(v.State, ev)
	if err != nil {
		return false, nil
	}
	return true, move(tx, v, ev, next, cmd.Time, cmd.Actor, note)
}

func applyBadge(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p badgePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	v, err := get(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	note := ""
	if cmd.Type == CmdBadge {
		var es field.Errors
		p.Badge = es.Text("badge", p.Badge, true, 32)
		if len(es) > 0 {
			return store.Effect{}, es
		}
		if v.State.Final() {
			return store.Effect{}, fmt.Errorf("%w: badge for a %s visit", ErrTransition, v.State)
		}
		v.Badge, v.BadgeBack, note = p.Badge, 0, "badge "+p.Badge+" issued"
	} else {
		if v.Badge == "" || v.BadgeBack != 0 {
			return store.Effect{}, fmt.Errorf("%w: no badge out", ErrTransition)
		}
		v.BadgeBack, note = cmd.Time, "badge "+v.Badge+" returned"
	}
	return store.Effect{Subject: "visit:" + v.ID, Note: note}, tx.SetJSON(visitKey(v.ID), v)
}

// Note adds a line to visit id's history without moving it (a face
// enrolled with the visitor's consent, the consent withdrawn), inside
// another package's command, at the command's time and by its actor. A
// visit purged meanwhile is not an error: there is nothing left to note on.
func Note(tx *store.Tx, cmd store.Command, id, note string) error {
	v, err := get(&tx.Reader, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	v.History = append(v.History, Transition{State: v.State, At: cmd.Time, By: cmd.Actor, Note: note})
	return tx.SetJSON(visitKey(v.ID), v)
}
