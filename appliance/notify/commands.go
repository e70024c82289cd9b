package notify

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Command types.
const (
	CmdEnqueue   = "notify.enqueue"
	CmdSending   = "notify.sending"
	CmdDelivered = "notify.delivered"
	CmdFailed    = "notify.failed"
	CmdDead      = "notify.dead"
	CmdRetry     = "notify.retry"
	CmdSettings  = "notify.settings.save"
	CmdPurge     = "notify.purge"
)

// State of a message in the outbox.
type State string

// States: pending until delivered, or dead after the last failed attempt.
// Sending is never stored: it is how a pending message that carries a
// sending mark is shown (Record.Shown).
const (
	Pending   State = "pending"
	Sending   State = "sending"
	Delivered State = "delivered"
	Dead      State = "dead"
)

// Mark says that an attempt at a message is (or was) under way: committed
// before the message leaves, so that a leader that takes over the outbox
// knows which messages may have left already, and sends them again with the
// same identity (Message-ID, Idempotency-Key) rather than a new one, and
// not before the attempt that made the mark has ended (Until).
type Mark struct {
	Lease   string `json:"lease"`   // the worker's run that made it (an ID it drew when it started)
	Node    string `json:"node"`    // the lobby whose worker made it, for the page and the audit note
	Attempt int    `json:"attempt"` // the attempt's number (Attempts+1)
	At      int64  `json:"at"`      // when it was made (Unix ns, the issuer's clock)
	Until   int64  `json:"until"`   // no other attempt before: the attempt's timeout plus the clocks' tolerance
}

// Record is a message as the outbox keeps it. Subject, Body and Link are
// sealed, and so is the recipient of email and SMS (ToSealed, shown as
// ToMasked); account IDs and webhook names stay in clear in To.
type Record struct {
	ID        string      `json:"id"`
	Channel   ChannelName `json:"channel"`
	To        string      `json:"to,omitempty"`
	ToSealed  string      `json:"to_sealed,omitempty"`
	ToMasked  string      `json:"to_masked,omitempty"`
	Kind      string      `json:"kind"`
	Subject   string      `json:"subject"`
	Body      string      `json:"body,omitempty"`
	Link      string      `json:"link,omitempty"`
	Langs     string      `json:"langs,omitempty"` // sealed JSON of Message.Langs
	State     State       `json:"state"`
	Attempts  int         `json:"attempts"`
	Due       int64       `json:"due,omitempty"` // next attempt (Unix ns) while pending
	LastError string      `json:"last_error,omitempty"`
	Created   int64       `json:"created"`
	Done      int64       `json:"done,omitempty"`  // delivered or declared dead
	By        string      `json:"by"`              // who queued it
	Group     string      `json:"group,omitempty"` // counted in the group's Totals
	// Sending is the mark of the attempt under way, while pending; the due
	// index then holds the message until the mark's Until.
	Sending *Mark `json:"sending,omitempty"`
	// Resent counts attempts made over a mark another attempt left (a
	// leader that died or was deposed mid-send, a shutdown): each may have
	// reached the receiver a second time, under the same identity.
	Resent int `json:"resent,omitempty"`
}

// Shown is the state the page shows: Sending while a pending message
// carries a mark.
func (r Record) Shown() State {
	if r.State == Pending && r.Sending != nil {
		return Sending
	}
	return r.State
}

// Recipient returns what the administrator may see of the recipient.
func (r Record) Recipient() string {
	if r.ToMasked != "" {
		return r.ToMasked
	}
	return r.To
}

type enqueuePayload struct {
	Messages []Record `json:"messages"`
}

// attemptPayload reports one delivery attempt. Attempt is the attempt's
// number, so a result recorded twice (or by a second worker) is refused.
// Lease names the worker's run that made the attempt: a failure reported by
// a run whose mark another has taken over is refused (that one's outcome
// counts), a delivery is taken from any.
type attemptPayload struct {
	ID      string `json:"id"`
	Attempt int    `json:"attempt"`
	Lease   string `json:"lease,omitempty"`
	Next    int64  `json:"next,omitempty"`  // failed: when to try again
	Error   string `json:"error,omitempty"` // failed, dead: a reason without personal data
}

// sendingPayload is the mark an attempt commits before its message leaves.
type sendingPayload struct {
	ID string `json:"id"`
	Mark
}

type idPayload struct {
	ID string `json:"id"`
}

type purgePayload struct {
	Before int64 `json:"before"` // remove finished messages created before (Unix ns)
	Max    int   `json:"max"`
}

// Limits.
const (
	maxBatch    = 100 // messages per enqueue command
	maxErrorLen = 200
	maxPurge    = 1000
)

var kindRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$`)

func u64s(n int64) string { return string(store.U64(uint64(n))) }

func recKey(id string) []byte            { return store.Key(store.KindNotify, id) }
func dueKey(due int64, id string) []byte { return store.Key(store.KindNotifyDue, u64s(due), id) }
func deadKey(id string) []byte           { return store.Key(store.KindNotifyDead, id) }
func groupKey(group string) []byte       { return store.Key(store.KindNotifyGroup, group) }
func toKey(account, id string) []byte    { return store.Key(store.KindNotifyTo, account, id) }

var settingsKey = store.Key(store.KindNotifySettings, "settings")

// Register installs the outbox's command handlers.
func Register(reg store.Registrar) {
	reg.Register(CmdEnqueue, applyEnqueue)
	reg.Register(CmdSending, applySending)
	reg.Register(CmdDelivered, applyAttempt)
	reg.Register(CmdFailed, applyAttempt)
	reg.Register(CmdDead, applyAttempt)
	reg.Register(CmdRetry, applyRetry)
	reg.Register(CmdSettings, applySettings)
	reg.Register(CmdPurge, applyPurge)
}

func get(r *store.Reader, id string) (Record, error) {
	var rec Record
	err := r.GetJSON(recKey(id), &rec)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return rec, err
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{field.ErrInvalid}, args...)...)
}

// checkRecord is the handler's own check of what an issuer sent: enough
// that no key is built from arbitrary bytes and no record is half made.
func checkRecord(m Record) error {
	if !store.ValidID(m.ID) {
		return malformed("message id %q", m.ID)
	}
	if !kindRE.MatchString(m.Kind) || len(m.Kind) > 64 || m.Subject == "" {
		return malformed("message %s: kind or subject", m.ID)
	}
	if m.Group != "" && !store.ValidID(m.Group) {
		return malformed("message %s: group %q", m.ID, m.Group)
	}
	switch m.Channel {
	case InPage:
		if !store.ValidID(m.To) {
			return malformed("message %s: in-page recipient is not an account", m.ID)
		}
	case Webhook:
		if m.To == "" || len(m.To) > 4*maxHookName || strings.ContainsRune(m.To, store.Sep) {
			return malformed("message %s: webhook name", m.ID)
		}
	case Email, SMS:
		if m.ToSealed == "" || m.To != "" {
			return malformed("message %s: %s recipient must be sealed", m.ID, m.Channel)
		}
	default:
		return malformed("message %s: channel %q", m.ID, m.Channel)
	}
	return nil
}

func applyEnqueue(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p enqueuePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if len(p.Messages) == 0 || len(p.Messages) > maxBatch {
		return store.Effect{}, malformed("%d messages in one command", len(p.Messages))
	}
	kinds := map[string]bool{}
	var moves tally
	for _, m := range p.Messages {
		if err := checkRecord(m); err != nil {
			return store.Effect{}, err
		}
		if ok, err := tx.Has(recKey(m.ID)); err != nil || ok {
			if err == nil {
				err = malformed("message %s exists", m.ID)
			}
			return store.Effect{}, err
		}
		m.State, m.Attempts, m.Due, m.Created, m.By = Pending, 0, cmd.Time, cmd.Time, cmd.Actor
		m.LastError, m.Done = "", 0
		if err := tx.SetJSON(recKey(m.ID), m); err != nil {
			return store.Effect{}, err
		}
		if err := tx.Set(dueKey(m.Due, m.ID), nil); err != nil {
			return store.Effect{}, err
		}
		if m.Channel == InPage {
			if err := tx.Set(toKey(m.To, m.ID), nil); err != nil {
				return store.Effect{}, err
			}
		}
		kinds[string(m.Channel)+" "+m.Kind] = true
		moves.add(m.Group, "", Pending)
	}
	if err := moves.write(tx); err != nil {
		return store.Effect{}, err
	}
	note := make([]string, 0, len(kinds))
	for _, m := range p.Messages {
		if k := string(m.Channel) + " " + m.Kind; kinds[k] {
			note = append(note, k)
			delete(kinds, k)
		}
	}
	return store.Effect{Subject: "notify:" + p.Messages[0].ID, Note: fmt.Sprintf("%d queued: %s", len(p.Messages), strings.Join(note, ", "))}, nil
}

func applyAttempt(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p attemptPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(p.ID) {
		return store.Effect{}, malformed("message id %q", p.ID)
	}
	rec, err := get(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	if rec.State != Pending || p.Attempt != rec.Attempts+1 {
		return store.Effect{}, fmt.Errorf("%w: attempt %d on a %s message after %d", ErrState, p.Attempt, rec.State, rec.Attempts)
	}
	if rec.Sending != nil && cmd.Type != CmdDelivered && p.Lease != rec.Sending.Lease && cmd.Time < rec.Sending.Until {
		// Another run's mark holds the message: that run's outcome counts.
		return store.Effect{}, fmt.Errorf("%w: attempt %d of a message another run is sending", ErrState, p.Attempt)
	}
	rec.Sending = nil
	if len(p.Error) > maxErrorLen {
		p.Error = p.Error[:maxErrorLen]
	}
	if err := tx.Delete(dueKey(rec.Due, rec.ID)); err != nil {
		return store.Effect{}, err
	}
	rec.Attempts = p.Attempt
	var note string
	switch cmd.Type {
	case CmdDelivered:
		rec.State, rec.Due, rec.Done = Delivered, 0, cmd.Time
		note = fmt.Sprintf("delivered on attempt %d", p.Attempt)
	case CmdFailed:
		if p.Next <= 0 {
			return store.Effect{}, malformed("no next attempt")
		}
		rec.Due, rec.LastError = p.Next, p.Error
		if err := tx.Set(dueKey(rec.Due, rec.ID), nil); err != nil {
			return store.Effect{}, err
		}
		note = fmt.Sprintf("attempt %d failed: %s", p.Attempt, p.Error)
	case CmdDead:
		rec.State, rec.Due, rec.Done, rec.LastError = Dead, 0, cmd.Time, p.Error
		if err := tx.Set(deadKey(rec.ID), nil); err != nil {
			return store.Effect{}, err
		}
		note = fmt.Sprintf("dead after attempt %d: %s", p.Attempt, p.Error)
	}
	var moves tally
	moves.add(rec.Group, Pending, rec.State)
	if err := moves.write(tx); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "notify:" + rec.ID, Note: note}, tx.SetJSON(recKey(rec.ID), rec)
}

// applySending marks a pending message as being sent by the attempt the
// mark names, before the message leaves, and holds it in the due index
// until the mark's Until: no other attempt starts before then. A mark is
// refused while another run's mark holds (cmd.Time before its Until), so
// two workers that both believe they lead never both send; a mark whose
// time has passed is taken over, and the message goes out again with its
// own ID, which the receivers that honour keys drop (Resent counts it). The
// run's own mark, before its Until, is renewed: its earlier try at
// committing it came back uncertain, so the message has not left.
func applySending(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p sendingPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(p.ID) {
		return store.Effect{}, malformed("message id %q", p.ID)
	}
	if !store.ValidID(p.Lease) || len(p.Node) > 64 || p.At != cmd.Time || p.Until <= cmd.Time {
		return store.Effect{}, malformed("sending mark of %s", p.ID)
	}
	rec, err := get(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	if rec.State != Pending || p.Attempt != rec.Attempts+1 {
		return store.Effect{}, fmt.Errorf("%w: sending attempt %d of a %s message after %d", ErrState, p.Attempt, rec.State, rec.Attempts)
	}
	note := fmt.Sprintf("sending attempt %d", p.Attempt)
	if p.Node != "" {
		note += " from " + p.Node
	}
	if old := rec.Sending; old != nil && (cmd.Time >= old.Until || old.Lease != p.Lease) {
		if cmd.Time < old.Until {
			return store.Effect{}, fmt.Errorf("%w: attempt %d is under way in another run", ErrState, old.Attempt)
		}
		rec.Resent++
		note += ", again: an earlier attempt left its mark"
		if old.Node != "" {
			note += " (" + old.Node + ")"
		}
	}
	if err := tx.Delete(dueKey(rec.Due, rec.ID)); err != nil {
		return store.Effect{}, err
	}
	m := p.Mark
	rec.Sending, rec.Due = &m, p.Until
	if err := tx.Set(dueKey(rec.Due, rec.ID), nil); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "notify:" + rec.ID, Note: note}, tx.SetJSON(recKey(rec.ID), rec)
}

// applyRetry gives a dead message a fresh round of attempts, from now.
func applyRetry(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p idPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(p.ID) {
		return store.Effect{}, ErrNotFound
	}
	rec, err := get(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	if rec.State != Dead {
		return store.Effect{}, fmt.Errorf("%w: retry of a %s message", ErrState, rec.State)
	}
	if err := tx.Delete(deadKey(rec.ID)); err != nil {
		return store.Effect{}, err
	}
	rec.State, rec.Attempts, rec.Due, rec.Done, rec.Sending = Pending, 0, cmd.Time, 0, nil
	if err := tx.Set(dueKey(rec.Due, rec.ID), nil); err != nil {
		return store.Effect{}, err
	}
	var moves tally
	moves.add(rec.Group, Dead, Pending)
	if err := moves.write(tx); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "notify:" + rec.ID, Note: "retry"}, tx.SetJSON(recKey(rec.ID), rec)
}

func applySettings(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var s Settings
	if err := cmd.Decode(&s); err != nil {
		return store.Effect{}, err
	}
	// The service has checked every field; here only what keeps the
	// stored settings usable.
	names := map[string]bool{}
	for _, h := range s.Webhooks {
		if h.Name == "" || names[h.Name] || !validHookKind(h.Kind) || h.URL == "" {
			return store.Effect{}, malformed("webhook %q", h.Name)
		}
		names[h.Name] = true
	}
	if len(s.Webhooks) > MaxWebhooks {
		return store.Effect{}, malformed("%d webhooks", len(s.Webhooks))
	}
	note := fmt.Sprintf("smtp %t, %d webhooks", s.SMTP.Host != "", len(s.Webhooks))
	return store.Effect{Subject: "notify:settings", Note: note}, tx.SetJSON(settingsKey, s)
}

// applyPurge removes delivered and dead messages created before p.Before,
// oldest first, at most p.Max of them (IDs sort by creation time).
func applyPurge(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p purgePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if p.Max <= 0 || p.Max > maxPurge || p.Before > cmd.Time {
		return store.Effect{}, malformed("purge")
	}
	var gone []Record
	err := tx.Scan([]byte{byte(store.KindNotify)}, store.ScanOptions{}, func(_, val []byte) (bool, error) {
		var rec Record
		if err := json.Unmarshal(val, &rec); err != nil {
			return false, err
		}
		if rec.Created >= p.Before {
			return false, nil
		}
		if rec.State != Pending {
			gone = append(gone, rec)
		}
		return len(gone) < p.Max, nil
	})
	if err != nil {
		return store.Effect{}, err
	}
	var moves tally
	for _, rec := range gone {
		moves.add(rec.Group, rec.State, "")
		keys := [][]byte{recKey(rec.ID), deadKey(rec.ID)}
		if rec.Channel == InPage {
			keys = append(keys, toKey(rec.To, rec.ID))
		}
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return store.Effect{}, err
			}
		}
	}
	if err := moves.write(tx); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "notify:outbox", Note: fmt.Sprintf("%d purged", len(gone))}, nil
}

// parseDue splits a due-index key into time and message ID.
func parseDue(k []byte) (int64, string, bool) {
	if len(k) < 10+16 {
		return 0, "", false
	}
	return int64(binary.BigEndian.Uint64(k[1:9])), string(k[10:]), true
}
