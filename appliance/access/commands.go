package access

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// Command types.
const (
	CmdZoneSave    = "access.zone.save"
	CmdLaneSave    = "access.lane.save"
	CmdGroupSave   = "access.group.save"
	CmdProfileSave = "access.profile.save"
	CmdHolidaySave = "access.holiday.save"
	CmdHolidayDel  = "access.holiday.delete"
	CmdCredSave    = "access.credential.save"
	CmdCredState   = "access.credential.state"
	CmdCredReplace = "access.credential.replace"
	CmdCredDelete  = "access.credential.delete"
	CmdEvent       = "access.event"
)

// Register installs the access command handlers.
func Register(reg store.Registrar) {
	reg.Register(CmdZoneSave, saveJSON(store.KindZone, func(z *Zone) (string, field.Errors) {
		var es field.Errors
		z.Name = es.Text("name", z.Name, true, 64)
		if z.Passback != PassbackOff && z.Passback != PassbackSoft && z.Passback != PassbackHard {
			es.Add("passback", "invalid")
		}
		return z.ID, es
	}))
	reg.Register(CmdLaneSave, applyLaneSave)
	reg.Register(CmdGroupSave, saveJSON(store.KindGroup, func(g *Group) (string, field.Errors) {
		var es field.Errors
		g.Name = es.Text("name", g.Name, true, 64)
		if len(g.LaneIDs)+len(g.ZoneIDs)+len(g.FloorIDs) == 0 {
			es.Add("lane_ids", "required")
		}
		return g.ID, es
	}))
	reg.Register(CmdProfileSave, saveJSON(store.KindProfile, func(p *Profile) (string, field.Errors) {
		var es field.Errors
		p.Name = es.Text("name", p.Name, true, 64)
		for _, day := range p.Week {
			for _, r := range day {
				if r.From < 0 || r.From >= 1440 || r.To < 0 || r.To > 1440 || r.From == r.To {
					es.Add("week", "invalid_range")
					return p.ID, es
				}
			}
		}
		return p.ID, es
	}))
	reg.Register(CmdHolidaySave, applyHolidaySave)
	reg.Register(CmdCredPurgeHolder, applyCredPurgeHolder)
	reg.Register(CmdHolidayDel, applyHolidayDelete)
	reg.Register(CmdCredSave, applyCredSave)
	reg.Register(CmdCredState, applyCredState)
	reg.Register(CmdVisitCard, applyVisitCard)
	reg.Register(CmdVisitCardDrop, applyVisitCardDrop)
	reg.Register(CmdCredReplace, applyCredReplace)
	reg.Register(CmdCredDelete, applyCredDelete)
	reg.Register(CmdFaceWithdraw, applyFaceWithdraw)
	reg.Register(CmdEvent, applyEvent)
	reg.Register(CmdEvents, applyEvents)
	reg.Register(CmdAlarmRaise, applyAlarmRaise)
	reg.Register(CmdAlarmAck, applyAlarmAck)
}

// saveJSON makes a handler for a simple record kept under kind by ID.
func saveJSON[T any](kind store.Kind, check func(*T) (string, field.Errors)) store.Handler {
	return func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var v T
		if err := cmd.Decode(&v); err != nil {
			return store.Effect{}, err
		}
		id, es := check(&v)
		if !store.ValidID(id) {
			es.Add("id", "invalid")
		}
		if len(es) > 0 {
			return store.Effect{}, es
		}
		return store.Effect{Subject: fmt.Sprintf("%s:%s", cmd.Type[len("access."):len(cmd.Type)-len(".save")], id)},
			tx.SetJSON(store.Key(kind, id), v)
	}
}

func getJSON[T any](r *store.Reader, key []byte) (T, error) {
	var v T
	err := r.GetJSON(key, &v)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return v, err
}

func applyLaneSave(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var l Lane
	if err := cmd.Decode(&l); err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	l.Name = es.Text("name", l.Name, true, 64)
	if !store.ValidID(l.ID) {
		es.Add("id", "invalid")
	}
	if _, err := getJSON[Zone](&tx.Reader, store.Key(store.KindZone, l.ZoneID)); errors.Is(err, ErrNotFound) {
		es.Add("zone_id", "unknown_zone")
	} else if err != nil {
		return store.Effect{}, err
	}
	if l.PulseMs == 0 {
		l.PulseMs = 1000
	}
	if l.PulseMs < 100 || l.PulseMs > 30000 {
		es.AddArg("pulse_ms", "out_of_range", "100–30000")
	}
	if err := checkElevator(&tx.Reader, &l, &es); err != nil {
		return store.Effect{}, err
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	return store.Effect{Subject: "lane:" + l.ID}, tx.SetJSON(store.Key(store.KindLane, l.ID), l)
}

func applyHolidaySave(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var h Holiday
	if err := cmd.Decode(&h); err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	if _, err := time.Parse("2006-01-02", h.Date); err != nil {
		es.Add("date", "invalid_date")
	}
	h.Name = es.Text("name", h.Name, true, 64)
	if len(es) > 0 {
		return store.Effect{}, es
	}
	return store.Effect{Subject: "holiday:" + h.Date}, tx.SetJSON(store.Key(store.KindHoliday, h.Date), h)
}

func applyHolidayDelete(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var h Holiday
	if err := cmd.Decode(&h); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "holiday:" + h.Date, Note: "deleted"}, tx.Delete(store.Key(store.KindHoliday, h.Date))
}

func numberKey(c Credential) []byte {
	return store.Key(store.KindCredByNumber, string(c.Kind), c.Number)
}

// putCred writes c and its indexes, replacing those of the record it updates.
func putCred(tx *store.Tx, c Credential) error {
	old, err := getJSON[Credential](&tx.Reader, store.Key(store.KindCred, c.ID))
	switch {
	case err == nil:
		if old.Number != "" {
			if err := tx.Delete(numberKey(old)); err != nil {
				return err
			}
		}
		if err := tx.Delete(store.Key(store.KindCredByHolder, old.HolderID, old.ID)); err != nil {
			return err
		}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	if c.Number != "" {
		if err := tx.Set(numberKey(c), []byte(c.ID)); err != nil {
			return err
		}
	}
	if err := tx.Set(store.Key(store.KindCredByHolder, c.HolderID, c.ID), nil); err != nil {
		return err
	}
	return tx.SetJSON(store.Key(store.KindCred, c.ID), c)
}

func checkCredRefs(r *store.Reader, c *Credential, es *field.Errors) error {
	if c.Number != "" {
		id, err := r.Get(numberKey(*c))
		switch {
		case err == nil && string(id) != c.ID:
			es.Add("number", "duplicate_card")
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	if c.ProfileID != "" {
		if ok, err := r.Has(store.Key(store.KindProfile, c.ProfileID)); err != nil {
			return err
		} else if !ok {
			es.Add("profile_id", "unknown_profile")
		}
	}
	for _, g := range c.GroupIDs {
		if ok, err := r.Has(store.Key(store.KindGroup, g)); err != nil {
			return err
		} else if !ok {
			es.Add("group_ids", "unknown_group")
			break
		}
	}
	return nil
}

func applyCredSave(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var c Credential
	if err := cmd.Decode(&c); err != nil {
		return store.Effect{}, err
	}
	es := checkCredential(&c)
	if err := checkCredRefs(&tx.Reader, &c, &es); err != nil {
		return store.Effect{}, err
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	old, err := getJSON[Credential](&tx.Reader, store.Key(store.KindCred, c.ID))
	if err == nil {
		c.Created, c.State = old.Created, old.State // state changes go through their own command
	} else {
		c.Created = cmd.Time
	}
	c.Updated = cmd.Time
	if err := putCred(tx, c); err != nil {
		return store.Effect{}, err
	}
	if visitorFace(c) && old.ID == "" {
		// The visit's history says the visitor agreed: the consent is
		// the visit's as much as the credential's.
		if err := visit.Note(tx, cmd, c.HolderID, "face enrolled for the gates with the visitor's consent"); err != nil {
			return store.Effect{}, err
		}
		return store.Effect{Subject: "visit:" + c.HolderID, Note: "face enrolled with consent (credential " + c.ID + ")"}, nil
	}
	return store.Effect{Subject: "credential:" + c.ID, Note: string(c.Kind)}, nil
}

type statePayload struct {
	ID    string    `json:"id"`
	State CredState `json:"state"`
	Note  string    `json:"note,omitempty"`
}

func applyCredState(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p statePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	c, err := getJSON[Credential](&tx.Reader, store.Key(store.KindCred, p.ID))
	if err != nil {
		return store.Effect{}, err
	}
	switch {
	case p.State != Active && p.State != StateSuspended && p.State != StateLost && p.State != StateReturned && p.State != StateRevoked:
		return store.Effect{}, field.Errors{{Field: "state", Code: "invalid"}}
	case c.State == StateRevoked || c.State == StateLost && p.State == Active:
		// A lost card found again is re-enrolled as a new credential:
		// whoever held it in between is unknown.
		return store.Effect{}, field.Errors{{Field: "state", Code: "state_final"}}
	}
	c.State, c.Updated = p.State, cmd.Time
	return store.Effect{Subject: "credential:" + c.ID, Note: string(p.State) + noteSuffix(p.Note)}, putCred(tx, c)
}

func noteSuffix(n string) string {
	if n == "" {
		return ""
	}
	return ": " + n
}

type replacePayload struct {
	Old string     `json:"old"`
	New Credential `json:"new"`
}

// applyCredReplace revokes the old credential and issues the new one with
// the same holder and rights, in one transaction.
func applyCredReplace(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p replacePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	old, err := getJSON[Credential](&tx.Reader, store.Key(store.KindCred, p.Old))
	if err != nil {
		return store.Effect{}, err
	}
	n := old
	n.ID, n.Number, n.Kind, n.Secret = p.New.ID, p.New.Number, p.New.Kind, p.New.Secret
	n.State, n.Replaces, n.Created, n.Updated = Active, old.ID, cmd.Time, cmd.Time
	es := checkCredential(&n)
	if err := checkCredRefs(&tx.Reader, &n, &es); err != nil {
		return store.Effect{}, err
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	if old.State != StateLost {
		old.State = StateRevoked
	}
	old.Updated = cmd.Time
	if err := putCred(tx, old); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "credential:" + n.ID, Note: "replaces " + old.ID}, putCred(tx, n)
}

func applyCredDelete(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p statePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	c, err := getJSON[Credential](&tx.Reader, store.Key(store.KindCred, p.ID))
	if err != nil {
		return store.Effect{}, err
	}
	if c.Number != "" {
		if err := tx.Delete(numberKey(c)); err != nil {
			return store.Effect{}, err
		}
	}
	if err := tx.Delete(store.Key(store.KindCredByHolder, c.HolderID, c.ID)); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "credential:" + c.ID, Note: "deleted"}, tx.Delete(store.Key(store.KindCred, c.ID))
}

// eventPayload is one decision; when it let someone through, the
// passage updates presence (anti-passback, occupancy), use counts and a
// visitor's visit in the same transaction, so the next decision sees it.
type eventPayload struct {
	Time   int64  `json:"t"`
	Lane   string `json:"lane"`
	Entry  bool   `json:"in"`
	Kind   byte   `json:"k"`
	Grant  bool   `json:"g"`
	Reason Reason `json:"r"`
	Alarm  Alarm  `json:"a,omitempty"`
	CredID string `json:"c,omitempty"`
	Holder string `json:"h,omitempty"`
	Rand   uint32 `json:"n"`
	Name   string `json:"nm,omitempty"` // holder's name, kept on the alarm for the guard
	ZoneID string `json:"z,omitempty"`  // set when the passage changes presence
	Day    string `json:"d,omitempty"`  // local date, for daily use counts
	// A visitor's granted pass: the visit moves in or out in the same
	// command (visit.Pass), with the lane's name on its history.
	Visit    string `json:"v,omitempty"`
	LaneName string `json:"ln,omitempty"`
	// The device that presented it, for the visit's history when the
	// event reaches the store in a lobby's batch (access.events).
	Dev string `json:"dev,omitempty"`
	// Who opened by hand or let the visitor in (the guard's account),
	// for the visit's history; "" for a decision at a reader.
	Who string `json:"who,omitempty"`
}

// Notes of a granted event that moved a visit.
const (
	noteVisitIn  = "grant, visit in"
	noteVisitOut = "grant, visit out"
)

func (p eventPayload) event() Event {
	return Event{Time: time.Unix(0, p.Time), Lane: p.Lane, Entry: p.Entry, Kind: p.Kind, Grant: p.Grant, Reason: p.Reason,
		Alarm: p.Alarm, CredID: p.CredID, Holder: p.Holder, Rand: p.Rand}
}

func applyEvent(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p eventPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if err := PutEvent(tx, p.event()); err != nil {
		return store.Effect{}, err
	}
	if p.Grant && p.ZoneID != "" && p.Holder != "" {
		if err := recordPassage(tx, p, cmd.Time); err != nil {
			return store.Effect{}, err
		}
	}
	if p.Alarm != NoAlarm {
		if err := putAlarm(tx, AlarmRecord{Kind: p.Alarm, Lane: p.Lane, Holder: p.Holder, Name: p.Name, Reason: p.Reason, At: cmd.Time}, p.Rand); err != nil {
			return store.Effect{}, err
		}
	}
	note := "deny " + string(p.Reason)
	if p.Grant {
		note = "grant"
	}
	if p.Grant && p.Visit != "" {
		by := cmd
		if p.Who != "" {
			by.Actor = p.Who
		}
		moved, err := visit.Pass(tx, by, p.Visit, p.Entry, p.LaneName)
		if err != nil {
			return store.Effect{}, err
		}
		switch {
		case moved && p.Entry:
			note = noteVisitIn
		case moved:
			note = noteVisitOut
		}
	}
	return store.Effect{Subject: "lane:" + p.Lane, Note: note}, nil
}

func recordPassage(tx *store.Tx, p eventPayload, at int64) error {
	pk := store.Key(store.KindPresence, p.Holder, p.ZoneID)
	zk := store.Key(store.KindPresenceZone, p.ZoneID, p.Holder)
	if p.Entry {
		for _, k := range [][]byte{pk, zk} {
			if err := tx.Set(k, store.U64(uint64(at))); err != nil {
				return err
			}
		}
	} else {
		for _, k := range [][]byte{pk, zk} {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
	}
	if p.CredID == "" || !p.Entry {
		return nil
	}
	return countUse(tx, p)
}

// countUse adds an entry to its credential's daily and total use counts.
func countUse(tx *store.Tx, p eventPayload) error {
	for _, k := range [][]byte{store.Key(store.KindUseDay, p.CredID, p.Day), store.Key(store.KindUseTotal, p.CredID)} {
		n := uint32(0)
		if b, err := tx.Get(k); err == nil && len(b) == 4 {
			n = binary.BigEndian.Uint32(b)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], n+1)
		if err := tx.Set(k, b[:]); err != nil {
			return err
		}
	}
	return nil
}
