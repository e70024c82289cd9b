package keys

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Command types.
const (
	CmdRegister    = "keys.register"
	CmdRule        = "keys.rule"
	CmdCheckout    = "keys.checkout"
	CmdReturn      = "keys.return"
	CmdAlert       = "keys.alert"
	CmdLost        = "keys.lost"
	CmdCaseStep    = "keys.case.step"
	CmdAuditStart  = "keys.audit.start"
	CmdAuditTick   = "keys.audit.tick"
	CmdAuditFinish = "keys.audit.finish"
	CmdPermissions = "keys.permissions"
)

// Register installs the key room's command handlers.
func Register(reg store.Registrar) {
	reg.Register(CmdRegister, applyRegister)
	reg.Register(CmdRule, applyRule)
	reg.Register(CmdCheckout, applyCheckout)
	reg.Register(CmdReturn, applyReturn)
	reg.Register(CmdAlert, applyAlert)
	reg.Register(CmdLost, applyLost)
	reg.Register(CmdCaseStep, applyCaseStep)
	reg.Register(CmdAuditStart, applyAuditStart)
	reg.Register(CmdAuditTick, applyAuditTick)
	reg.Register(CmdAuditFinish, applyAuditFinish)
	reg.Register(CmdPermissions, applyPermissions)
	reg.Register(CmdSensor, applySensor)
	reg.Register(CmdSensed, applySensed)
}

func tagKey(tag string) []byte { return store.Key(store.KindKeyByTag, strings.ToUpper(tag)) }

func getJSON[T any](r *store.Reader, kind store.Kind, id string) (T, error) {
	var v T
	if !store.ValidID(id) {
		return v, ErrNotFound
	}
	err := r.GetJSON(store.Key(kind, id), &v)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return v, err
}

func getKey(r *store.Reader, id string) (Key, error) { return getJSON[Key](r, store.KindKey, id) }

func keyByTag(r *store.Reader, tag string) (Key, error) {
	tag = strings.ToUpper(strings.TrimSpace(tag))
	if tag == "" {
		return Key{}, ErrNotFound
	}
	id, err := r.Get(tagKey(tag))
	if errors.Is(err, store.ErrNotFound) {
		return Key{}, ErrNotFound
	} else if err != nil {
		return Key{}, err
	}
	return getKey(r, string(id))
}

func getRule(r *store.Reader, level int) (Rule, error) {
	var ru Rule
	err := r.GetJSON(store.Key(store.KindKeyLevel, strconv.Itoa(level)), &ru)
	if errors.Is(err, store.ErrNotFound) {
		return Rule{Level: level}, nil
	}
	return ru, err
}

// addEvent appends a history entry for e.KeyID at the command's time.
func addEvent(tx *store.Tx, cmd store.Command, e Event) error {
	var seq uint64
	b, err := tx.Get(store.Key(store.KindKeySeq, "seq"))
	switch {
	case err == nil && len(b) == 8:
		seq = binary.BigEndian.Uint64(b)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	seq++
	if err := tx.Set(store.Key(store.KindKeySeq, "seq"), store.U64(seq)); err != nil {
		return err
	}
	e.Seq, e.At = seq, cmd.Time
	k := append(store.Prefix(store.KindKeyEvent, e.KeyID), store.U64(uint64(cmd.Time))...)
	k = append(k, store.U64(seq)...)
	if err := tx.Set(store.Key(store.KindKeyEventSeq, string(store.U64(seq))), k); err != nil {
		return err
	}
	return tx.SetJSON(k, e)
}

type registerPayload struct {
	Key    Key    `json:"key"`
	By     string `json:"by"`
	CaseID string `json:"case_id,omitempty"` // a replacement closes this lost-key case
}

func applyRegister(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p registerPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	k := p.Key
	es := checkKey(&k)
	if !store.ValidID(k.ID) {
		return store.Effect{}, field.Errors{{Field: "id", Code: "invalid"}}
	}
	if ok, err := tx.Has(store.Key(store.KindKey, k.ID)); err != nil {
		return store.Effect{}, err
	} else if ok {
		return store.Effect{}, field.Errors{{Field: "id", Code: "invalid"}}
	}
	if k.Tag != "" {
		if ok, err := tx.Has(tagKey(k.Tag)); err != nil {
			return store.Effect{}, err
		} else if ok {
			es.Add("tag", "key_tag_taken")
		}
	}
	if k.SpareOf != "" {
		main, err := getKey(&tx.Reader, k.SpareOf)
		switch {
		case errors.Is(err, ErrNotFound):
			es.Add("spare_of", "key_unknown")
		case err != nil:
			return store.Effect{}, err
		case main.SpareOf != "":
			es.Add("spare_of", "key_spare_of_spare")
		case main.Cabinet == k.Cabinet && k.Cabinet != "":
			es.Add("cabinet", "key_spare_same_cabinet")
		}
	}
	var c Case
	if p.CaseID != "" {
		var err error
		if c, err = getJSON[Case](&tx.Reader, store.KindKeyCase, p.CaseID); err != nil {
			return store.Effect{}, err
		}
		if c.Step() != "replacement" {
			return store.Effect{}, field.Errors{{Field: "case", Code: "key_case_not_ready"}}
		}
		k.Replaces = c.KeyID
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	k.State, k.Checkout, k.Case, k.Created = In, "", "", cmd.Time
	k.Sensor = nil // mapped by keys.sensor only, which checks the cabinet
	if err := tx.Set(tagKey(k.Tag), []byte(k.ID)); err != nil {
		return store.Effect{}, err
	}
	if err := tx.SetJSON(store.Key(store.KindKey, k.ID), k); err != nil {
		return store.Effect{}, err
	}
	note := ""
	if k.SpareOf != "" {
		note = "spare"
	}
	if err := addEvent(tx, cmd, Event{KeyID: k.ID, Kind: "registered", By: p.By, Slot: k.Cabinet + " " + k.Slot, Ref: k.Replaces, Note: note}); err != nil {
		return store.Effect{}, err
	}
	if p.CaseID != "" {
		c.Replacement, c.Closed = k.ID, cmd.Time
		if err := tx.SetJSON(store.Key(store.KindKeyCase, c.ID), c); err != nil {
			return store.Effect{}, err
		}
		old, err := getKey(&tx.Reader, c.KeyID)
		if err != nil {
			return store.Effect{}, err
		}
		old.State, old.Case = Retired, ""
		if err := tx.SetJSON(store.Key(store.KindKey, old.ID), old); err != nil {
			return store.Effect{}, err
		}
		if err := addEvent(tx, cmd, Event{KeyID: old.ID, Kind: "closed", By: p.By, Ref: k.ID, Note: k.Tag}); err != nil {
			return store.Effect{}, err
		}
	}
	return store.Effect{Subject: "key:" + k.ID, Note: "registered level " + strconv.Itoa(k.Level)}, nil
}

func applyRule(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var r Rule
	if err := cmd.Decode(&r); err != nil {
		return store.Effect{}, err
	}
	if es := checkRule(&r); len(es) > 0 {
		return store.Effect{}, es
	}
	return store.Effect{Subject: "key-level:" + strconv.Itoa(r.Level), Note: "rules"},
		tx.SetJSON(store.Key(store.KindKeyLevel, strconv.Itoa(r.Level)), r)
}

type checkoutPayload struct {
	ID       string  `json:"id"`
	KeyID    string  `json:"key_id"`
	Holder   Person  `json:"holder"`
	Approver *Person `json:"approver,omitempty"`
	Reason   string  `json:"reason"`
	Note     string  `json:"note,omitempty"`
	Due      int64   `json:"due"`
}

// checkApprover applies the two-person rule of a top-level key.
func checkApprover(k Key, ru Rule, actor Person, approver *Person, es *field.Errors) {
	if !TwoPerson(k.Level) {
		return
	}
	switch {
	case approver == nil || approver.ID == "":
		es.Add("approver", "key_approver_required")
	case approver.ID == actor.ID:
		es.Add("approver", "key_same_person")
	case !Allowed(k, ru, *approver):
		es.Add("approver", "key_approver_not_allowed")
	}
}

func applyCheckout(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p checkoutPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	k, err := getKey(&tx.Reader, p.KeyID)
	if err != nil {
		return store.Effect{}, err
	}
	ru, err := getRule(&tx.Reader, k.Level)
	if err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	switch k.State {
	case In:
	case Out:
		es.Add("key", "key_out")
	default:
		es.Add("key", "key_unusable")
	}
	if !Allowed(k, ru, p.Holder) {
		es.Add("holder", "key_not_allowed")
	}
	checkApprover(k, ru, p.Holder, p.Approver, &es)
	if !slices.Contains(Reasons, p.Reason) {
		es.Add("reason", "required")
	}
	p.Note = es.Text("note", p.Note, p.Reason == "other", 200)
	switch {
	case p.Due <= cmd.Time:
		es.Add("due", "key_due_past")
	case p.Due-cmd.Time > int64(MaxDue):
		es.Add("due", "invalid_date")
	}
	if !store.ValidID(p.ID) {
		es.Add("id", "invalid")
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	c := Checkout{ID: p.ID, KeyID: k.ID, Tag: k.Tag, Holder: p.Holder, Approver: p.Approver, Reason: p.Reason,
		Note: p.Note, At: cmd.Time, Due: p.Due}
	k.State, k.Checkout = Out, c.ID
	if err := tx.SetJSON(store.Key(store.KindKey, k.ID), k); err != nil {
		return store.Effect{}, err
	}
	if err := tx.SetJSON(store.Key(store.KindKeyCheckout, c.ID), c); err != nil {
		return store.Effect{}, err
	}
	if err := tx.Set(store.Key(store.KindKeyOpen, c.ID), nil); err != nil {
		return store.Effect{}, err
	}
	e := Event{KeyID: k.ID, Kind: "checkout", By: p.Holder.Name, Reason: p.Reason, Note: p.Note, Due: p.Due, Ref: c.ID}
	if p.Approver != nil {
		e.Approver = p.Approver.Name
	}
	return store.Effect{Subject: "key:" + k.ID, Note: "checkout " + c.ID}, addEvent(tx, cmd, e)
}

type returnPayload struct {
	KeyID    string  `json:"key_id"`
	By       Person  `json:"by"`
	Approver *Person `json:"approver,omitempty"`
	Slot     string  `json:"slot"`
}

func applyReturn(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p returnPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	k, err := getKey(&tx.Reader, p.KeyID)
	if err != nil {
		return store.Effect{}, err
	}
	ru, err := getRule(&tx.Reader, k.Level)
	if err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	if k.State != Out {
		es.Add("key", "key_not_out")
	}
	if p.By.ID == "" {
		es.Add("by", "required")
	}
	checkApprover(k, ru, p.By, p.Approver, &es)
	p.Slot = es.Text("slot", p.Slot, false, 20)
	if len(es) > 0 {
		return store.Effect{}, es
	}
	if p.Slot == "" {
		p.Slot = k.Slot
	}
	c, err := getJSON[Checkout](&tx.Reader, store.KindKeyCheckout, k.Checkout)
	if err != nil {
		return store.Effect{}, err
	}
	by := p.By
	c.Returned, c.ReturnBy, c.ReturnApprov, c.ReturnSlot = cmd.Time, &by, p.Approver, p.Slot
	k.State, k.Checkout, k.Slot = In, "", p.Slot
	if err := tx.SetJSON(store.Key(store.KindKey, k.ID), k); err != nil {
		return store.Effect{}, err
	}
	if err := tx.SetJSON(store.Key(store.KindKeyCheckout, c.ID), c); err != nil {
		return store.Effect{}, err
	}
	if err := tx.Delete(store.Key(store.KindKeyOpen, c.ID)); err != nil {
		return store.Effect{}, err
	}
	e := Event{KeyID: k.ID, Kind: "return", By: p.By.Name, Slot: p.Slot, Ref: c.ID}
	if p.Approver != nil {
		e.Approver = p.Approver.Name
	}
	return store.Effect{Subject: "key:" + k.ID, Note: "return " + c.ID}, addEvent(tx, cmd, e)
}

type alertPayload struct {
	CheckoutID string `json:"checkout_id"`
	Kind       string `json:"kind"`
}

func applyAlert(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p alertPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	c, err := getJSON[Checkout](&tx.Reader, store.KindKeyCheckout, p.CheckoutID)
	if err != nil {
		return store.Effect{}, err
	}
	if _, done := c.Alerts[p.Kind]; done || !c.Open() {
		return store.Effect{}, ErrAlerted
	}
	if c.Alerts == nil {
		c.Alerts = map[string]int64{}
	}
	c.Alerts[p.Kind] = cmd.Time
	if err := tx.SetJSON(store.Key(store.KindKeyCheckout, c.ID), c); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "key:" + c.KeyID, Note: p.Kind},
		addEvent(tx, cmd, Event{KeyID: c.KeyID, Kind: "alert", Note: p.Kind, Ref: c.ID, By: c.Holder.Name})
}

type lostPayload struct {
	KeyID  string `json:"key_id"`
	CaseID string `json:"case_id"`
	By     string `json:"by"`
	Note   string `json:"note"`
}

func applyLost(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p lostPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	k, err := getKey(&tx.Reader, p.KeyID)
	if err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	if k.State != In && k.State != Out {
		es.Add("key", "key_unusable")
	}
	p.Note = es.Text("note", p.Note, true, 200)
	if !store.ValidID(p.CaseID) {
		es.Add("id", "invalid")
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	if k.State == Out {
		c, err := getJSON[Checkout](&tx.Reader, store.KindKeyCheckout, k.Checkout)
		if err != nil {
			return store.Effect{}, err
		}
		c.Lost = true
		if err := tx.SetJSON(store.Key(store.KindKeyCheckout, c.ID), c); err != nil {
			return store.Effect{}, err
		}
		if err := tx.Delete(store.Key(store.KindKeyOpen, c.ID)); err != nil {
			return store.Effect{}, err
		}
	}
	cs := Case{ID: p.CaseID, KeyID: k.ID, Tag: k.Tag, Reported: cmd.Time, ReportedBy: p.By, Note: p.Note}
	k.State, k.Checkout, k.Case = Lost, "", cs.ID
	if err := tx.SetJSON(store.Key(store.KindKey, k.ID), k); err != nil {
		return store.Effect{}, err
	}
	if err := tx.SetJSON(store.Key(store.KindKeyCase, cs.ID), cs); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "key:" + k.ID, Note: "lost, case " + cs.ID},
		addEvent(tx, cmd, Event{KeyID: k.ID, Kind: "lost", By: p.By, Note: p.Note, Ref: cs.ID})
}

type stepPayload struct {
	CaseID string `json:"case_id"`
	Step   string `json:"step"` // notified, lock_changed
	By     string `json:"by"`
	Note   string `json:"note"`
}

func applyCaseStep(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p stepPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	c, err := getJSON[Case](&tx.Reader, store.KindKeyCase, p.CaseID)
	if err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	p.Note = es.Text("note", p.Note, true, 200)
	switch {
	case c.Closed != 0:
		es.Add("step", "key_case_closed")
	case p.Step == "notified" && c.Notified == 0:
		c.Notified, c.NotifyNote = cmd.Time, p.Note
	case p.Step == "lock_changed" && c.Notified != 0 && c.LockChanged == 0:
		c.LockChanged, c.LockNote = cmd.Time, p.Note
	default:
		es.Add("step", "key_case_step")
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	if err := tx.SetJSON(store.Key(store.KindKeyCase, c.ID), c); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "key-case:" + c.ID, Note: p.Step},
		addEvent(tx, cmd, Event{KeyID: c.KeyID, Kind: p.Step, By: p.By, Note: p.Note, Ref: c.ID})
}

type auditStartPayload struct {
	ID      string `json:"id"`
	Cabinet string `json:"cabinet"`
	By      string `json:"by"`
}

func applyAuditStart(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p auditStartPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	p.Cabinet = es.Text("cabinet", p.Cabinet, false, 40)
	if !store.ValidID(p.ID) {
		es.Add("id", "invalid")
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	a := Audit{ID: p.ID, Cabinet: p.Cabinet, Started: cmd.Time, StartedBy: p.By}
	return store.Effect{Subject: "key-audit:" + a.ID, Note: "started"}, tx.SetJSON(store.Key(store.KindKeyAudit, a.ID), a)
}

type tickPayload struct {
	ID   string `json:"id"`
	Tag  string `json:"tag"`
	Slot string `json:"slot"`
}

func applyAuditTick(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p tickPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	a, err := getJSON[Audit](&tx.Reader, store.KindKeyAudit, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	p.Tag = strings.ToUpper(es.Text("tag", p.Tag, true, 32))
	p.Slot = es.Text("slot", p.Slot, false, 20)
	if a.Finished != 0 {
		es.Add("tag", "key_audit_finished")
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	if p.Slot == "" {
		// Ticked in the list: found where the records say.
		if k, err := keyByTag(&tx.Reader, p.Tag); err == nil {
			p.Slot = k.Slot
		}
	}
	a.Seen = slices.DeleteFunc(a.Seen, func(s Seen) bool { return s.Tag == p.Tag }) // a rescan replaces the earlier one
	a.Seen = append(a.Seen, Seen{Tag: p.Tag, Slot: p.Slot, At: cmd.Time})
	return store.Effect{Subject: "key-audit:" + a.ID, Note: "seen " + p.Tag}, tx.SetJSON(store.Key(store.KindKeyAudit, a.ID), a)
}

func allKeys(r *store.Reader) ([]Key, error) {
	var out []Key
	err := r.Scan(store.Prefix(store.KindKey), store.ScanOptions{}, func(_, v []byte) (bool, error) {
		var k Key
		if err := json.Unmarshal(v, &k); err != nil {
			return false, err
		}
		out = append(out, k)
		return true, nil
	})
	return out, err
}

// Compare is the discrepancy report of an audit that saw seen among keys.
func Compare(cabinet string, ks []Key, seen []Seen) Report {
	var rep Report
	byTag := map[string]Key{}
	for _, k := range ks {
		byTag[k.Tag] = k
	}
	found := map[string]bool{}
	for _, s := range seen {
		found[s.Tag] = true
		k, ok := byTag[s.Tag]
		switch {
		case !ok:
			rep.Unexpected = append(rep.Unexpected, Line{Tag: s.Tag, Found: s.Slot, Why: "unknown"})
		case k.State != In:
			rep.Unexpected = append(rep.Unexpected, Line{Tag: s.Tag, KeyID: k.ID, Customer: k.Customer, Cabinet: k.Cabinet, Slot: k.Slot, Found: s.Slot, Why: string(k.State)})
		case cabinet != "" && !strings.EqualFold(k.Cabinet, cabinet):
			rep.Unexpected = append(rep.Unexpected, Line{Tag: s.Tag, KeyID: k.ID, Customer: k.Customer, Cabinet: k.Cabinet, Slot: k.Slot, Found: s.Slot, Why: "other_cabinet"})
		default:
			rep.Present++
			if s.Slot != "" && !strings.EqualFold(s.Slot, k.Slot) {
				rep.WrongSlot = append(rep.WrongSlot, Line{Tag: s.Tag, KeyID: k.ID, Customer: k.Customer, Cabinet: k.Cabinet, Slot: k.Slot, Found: s.Slot})
			}
		}
	}
	for _, k := range ks {
		if k.State != In || (cabinet != "" && !strings.EqualFold(k.Cabinet, cabinet)) {
			continue
		}
		rep.Expected++
		if !found[k.Tag] {
			rep.Missing = append(rep.Missing, Line{Tag: k.Tag, KeyID: k.ID, Customer: k.Customer, Cabinet: k.Cabinet, Slot: k.Slot})
		}
	}
	return rep
}

type idPayload struct {
	ID string `json:"id"`
	By string `json:"by"`
}

func applyAuditFinish(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p idPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	a, err := getJSON[Audit](&tx.Reader, store.KindKeyAudit, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	if a.Finished != 0 {
		return store.Effect{}, field.Errors{{Field: "audit", Code: "key_audit_finished"}}
	}
	ks, err := allKeys(&tx.Reader)
	if err != nil {
		return store.Effect{}, err
	}
	rep := Compare(a.Cabinet, ks, a.Seen)
	a.Finished, a.Report = cmd.Time, &rep
	if err := tx.SetJSON(store.Key(store.KindKeyAudit, a.ID), a); err != nil {
		return store.Effect{}, err
	}
	// Each key's history tells what the audit found of it.
	for _, l := range rep.Missing {
		if err := addEvent(tx, cmd, Event{KeyID: l.KeyID, Kind: "audit", Note: "missing", By: p.By, Ref: a.ID}); err != nil {
			return store.Effect{}, err
		}
	}
	for _, l := range rep.WrongSlot {
		if err := addEvent(tx, cmd, Event{KeyID: l.KeyID, Kind: "audit", Note: "wrong_slot", Slot: l.Found, By: p.By, Ref: a.ID}); err != nil {
			return store.Effect{}, err
		}
	}
	for _, l := range rep.Unexpected {
		if l.KeyID != "" {
			if err := addEvent(tx, cmd, Event{KeyID: l.KeyID, Kind: "audit", Note: "unexpected", Slot: l.Found, By: p.By, Ref: a.ID}); err != nil {
				return store.Effect{}, err
			}
		}
	}
	return store.Effect{Subject: "key-audit:" + a.ID, Note: "finished: " + strconv.Itoa(len(rep.Missing)) + " missing, " +
		strconv.Itoa(len(rep.WrongSlot)) + " wrong slot, " + strconv.Itoa(len(rep.Unexpected)) + " unexpected"}, nil
}

type permissionsPayload struct {
	KeyID    string   `json:"key_id"`
	Roles    []string `json:"roles"`
	Accounts []string `json:"accounts"`
	By       string   `json:"by"`
}

// applyPermissions changes who may take a key; the history keeps the
// change and the audit trail the command, so the earlier rights stay known.
func applyPermissions(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p permissionsPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	k, err := getKey(&tx.Reader, p.KeyID)
	if err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	roles := cleanRoles(p.Roles, &es, "roles")
	accounts := cleanIDs(p.Accounts, &es, "accounts")
	if len(es) > 0 {
		return store.Effect{}, es
	}
	k.Roles, k.Accounts = roles, accounts
	if err := tx.SetJSON(store.Key(store.KindKey, k.ID), k); err != nil {
		return store.Effect{}, err
	}
	note := strings.Join(roles, ", ")
	if len(accounts) > 0 {
		note += " + " + strconv.Itoa(len(accounts))
	}
	return store.Effect{Subject: "key:" + k.ID, Note: "permissions"},
		addEvent(tx, cmd, Event{KeyID: k.ID, Kind: "permissions", By: p.By, Note: note})
}
