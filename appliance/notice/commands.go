package notice

import (
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Command types.
const (
	CmdSave      = "notice.save"      // create or edit an announcement (and publish it)
	CmdPublish   = "notice.publish"   // draft or unpublished -> published
	CmdUnpublish = "notice.unpublish" // published -> unpublished (and unpinned)
	CmdPin       = "notice.pin"
	CmdUnpin     = "notice.unpin"
	CmdDelete    = "notice.delete"
	CmdImage     = "notice.image" // a picture for a cover or the content

	CmdSend   = "notice.message.send"   // a message recorded; urgent ones counted against the month
	CmdQueued = "notice.message.queued" // the outbox messages that carry it, or that none could be queued
	CmdHide   = "notice.message.hide"   // taken off the history page; the audit trail keeps it
)

// Message is one message of the message centre, as its history keeps it.
// What it says and whom a normal message went to are sealed.
type Message struct {
	ID           string   `json:"id"`
	Urgent       bool     `json:"urgent"`
	Audience     Audience `json:"audience,omitempty"`  // urgent: who it went to
	ToSealed     string   `json:"to_sealed,omitempty"` // normal: whom, as the page shows them (masked)
	Subject      string   `json:"subject"`             // sealed
	Body         string   `json:"body"`                // sealed
	Announcement string   `json:"announcement,omitempty"`
	Month        string   `json:"month,omitempty"` // urgent: the month whose allowance it used
	Outbox       []string `json:"outbox,omitempty"`
	Queued       bool     `json:"queued"`
	Failed       bool     `json:"failed"` // nothing could be queued; an urgent one gave its allowance back
	Hidden       bool     `json:"hidden"`
	Created      int64    `json:"created"`
	By           string   `json:"by"`
}

type savePayload struct {
	Announcement Announcement `json:"announcement"`
	Publish      bool         `json:"publish"`
	// Edit says the announcement must exist: an edit that arrives after
	// a delete is refused here rather than saved as a new draft.
	Edit bool `json:"edit,omitempty"`
}

type idPayload struct {
	ID string `json:"id"`
}

type imagePayload struct {
	ID   string `json:"id"`
	JPEG []byte `json:"jpeg"`
}

type sendPayload struct {
	Message Message `json:"message"`
	Cap     int     `json:"cap"` // urgent broadcasts allowed in Message.Month
}

type queuedPayload struct {
	ID     string   `json:"id"`
	Outbox []string `json:"outbox,omitempty"`
	Failed bool     `json:"failed,omitempty"`
}

var monthRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

func noticeKey(id string) []byte  { return store.Key(store.KindNotice, id) }
func imageKey(id string) []byte   { return store.Key(store.KindNoticeImage, id) }
func messageKey(id string) []byte { return store.Key(store.KindNoticeMessage, id) }
func monthKey(m string) []byte    { return store.Key(store.KindNoticeMonth, m) }

// Register installs the command handlers.
func Register(reg store.Registrar) {
	reg.Register(CmdSave, applySave)
	for _, t := range []string{CmdPublish, CmdUnpublish, CmdPin, CmdUnpin, CmdDelete} {
		reg.Register(t, applyState)
	}
	reg.Register(CmdImage, applyImage)
	reg.Register(CmdSend, applySend)
	reg.Register(CmdQueued, applyQueued)
	reg.Register(CmdHide, applyHide)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{field.ErrInvalid}, args...)...)
}

func getAnnouncement(r *store.Reader, id string) (Announcement, error) {
	var a Announcement
	if !store.ValidID(id) {
		return a, ErrNotFound
	}
	err := r.GetJSON(noticeKey(id), &a)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return a, err
}

func getMessage(r *store.Reader, id string) (Message, error) {
	var m Message
	if !store.ValidID(id) {
		return m, ErrNotFound
	}
	err := r.GetJSON(messageKey(id), &m)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return m, err
}

// monthCount is how many urgent broadcasts month has used.
func monthCount(r *store.Reader, month string) (int, error) {
	b, err := r.Get(monthKey(month))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(b) != 4 {
		return 0, fmt.Errorf("notice: month count of %d bytes", len(b))
	}
	return int(binary.BigEndian.Uint32(b)), nil
}

func setMonthCount(tx *store.Tx, month string, n int) error {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(max(n, 0)))
	return tx.Set(monthKey(month), b[:])
}

// applySave creates or edits an announcement. The issuer has checked and
// sanitised the fields; the handler re-checks what keeps the record sound,
// and sanitises the content again so that nothing else can be stored.
func applySave(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p savePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	in := p.Announcement
	if !store.ValidID(in.ID) || !in.Audience.Valid() || in.Title == "" || utf8.RuneCountInString(in.Title) > MaxTitle ||
		utf8.RuneCountInString(in.Description) > MaxDescription {
		return store.Effect{}, malformed("announcement %q", in.ID)
	}
	if in.Content = Sanitize(in.Content); len(in.Content) > MaxContent {
		return store.Effect{}, malformed("announcement %s: content of %d bytes", in.ID, len(in.Content))
	}
	if in.CoverID != "" {
		if !store.ValidID(in.CoverID) {
			return store.Effect{}, malformed("announcement %s: cover %q", in.ID, in.CoverID)
		}
		if ok, err := tx.Has(imageKey(in.CoverID)); err != nil || !ok {
			if err == nil {
				err = malformed("announcement %s: no picture %q", in.ID, in.CoverID)
			}
			return store.Effect{}, err
		}
	}
	old, err := getAnnouncement(&tx.Reader, in.ID)
	note := "edited"
	switch {
	case errors.Is(err, ErrNotFound) && p.Edit:
		return store.Effect{}, err
	case errors.Is(err, ErrNotFound):
		old = Announcement{State: Draft, Created: cmd.Time, By: cmd.Actor}
		note = "created"
	case err != nil:
		return store.Effect{}, err
	}
	a := Announcement{ID: in.ID, Title: in.Title, Audience: in.Audience, CoverID: in.CoverID, Description: in.Description,
		Content: in.Content, State: old.State, Pinned: old.Pinned, Created: old.Created, Updated: cmd.Time,
		Published: old.Published, By: old.By}
	if p.Publish {
		if a.State != Published {
			a.Published = cmd.Time
		}
		a.State = Published
		note += ", published"
	}
	return store.Effect{Subject: "notice:" + a.ID, Note: note}, tx.SetJSON(noticeKey(a.ID), a)
}

func applyState(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p idPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	a, err := getAnnouncement(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	var note string
	switch cmd.Type {
	case CmdPublish:
		if a.State != Published {
			a.State, a.Published = Published, cmd.Time
		}
		note = "published"
	case CmdUnpublish:
		if a.State != Published {
			return store.Effect{}, fmt.Errorf("%w: unpublish a %s announcement", ErrState, a.State)
		}
		a.State, a.Pinned = Unpublished, false
		note = "unpublished"
	case CmdPin:
		if a.State != Published {
			return store.Effect{}, fmt.Errorf("%w: pin a %s announcement", ErrState, a.State)
		}
		a.Pinned = true
		note = "pinned"
	case CmdUnpin:
		a.Pinned = false
		note = "unpinned"
	case CmdDelete:
		if err := tx.Delete(noticeKey(a.ID)); err != nil {
			return store.Effect{}, err
		}
		// Pictures stay: a message already sent may show them.
		return store.Effect{Subject: "notice:" + a.ID, Note: "deleted"}, nil
	}
	a.Updated = cmd.Time
	return store.Effect{Subject: "notice:" + a.ID, Note: note}, tx.SetJSON(noticeKey(a.ID), a)
}

func applyImage(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p imagePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(p.ID) || !isJPEG(p.JPEG) {
		return store.Effect{}, malformed("picture %q", p.ID)
	}
	if ok, err := tx.Has(imageKey(p.ID)); err != nil || ok {
		if err == nil {
			err = malformed("picture %s exists", p.ID)
		}
		return store.Effect{}, err
	}
	return store.Effect{Subject: "notice-image:" + p.ID, Note: fmt.Sprintf("%d bytes", len(p.JPEG))}, tx.Set(imageKey(p.ID), p.JPEG)
}

// applySend records a message. An urgent one is counted against its month
// here, in the same transaction that records it: the count is read and
// raised under the store's one writer, so the cap holds however many
// directors press send at once.
func applySend(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p sendPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	m := p.Message
	if !store.ValidID(m.ID) || m.Subject == "" || (m.Announcement != "" && !store.ValidID(m.Announcement)) {
		return store.Effect{}, malformed("message %q", m.ID)
	}
	if ok, err := tx.Has(messageKey(m.ID)); err != nil || ok {
		if err == nil {
			err = malformed("message %s exists", m.ID)
		}
		return store.Effect{}, err
	}
	note := "to one person"
	if m.Urgent {
		if !m.Audience.Valid() || !monthRE.MatchString(m.Month) || p.Cap < 0 {
			return store.Effect{}, malformed("urgent message %s: audience %q, month %q, cap %d", m.ID, m.Audience, m.Month, p.Cap)
		}
		n, err := monthCount(&tx.Reader, m.Month)
		if err != nil {
			return store.Effect{}, err
		}
		if n >= p.Cap {
			return store.Effect{}, fmt.Errorf("%w: %d of %d in %s", ErrCapReached, n, p.Cap, m.Month)
		}
		if err := setMonthCount(tx, m.Month, n+1); err != nil {
			return store.Effect{}, err
		}
		note = fmt.Sprintf("urgent to %s, %d of %d in %s", m.Audience, n+1, p.Cap, m.Month)
	} else if m.ToSealed == "" {
		return store.Effect{}, malformed("message %s: no recipient", m.ID)
	} else {
		m.Audience, m.Month = "", ""
	}
	m.Outbox, m.Queued, m.Failed, m.Hidden, m.Created, m.By = nil, false, false, false, cmd.Time, cmd.Actor
	return store.Effect{Subject: "message:" + m.ID, Note: note}, tx.SetJSON(messageKey(m.ID), m)
}

// applyQueued records which outbox messages carry a message, or that none
// could be queued, in which case an urgent message gives its allowance back.
func applyQueued(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p queuedPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	m, err := getMessage(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	if m.Queued || m.Failed {
		return store.Effect{}, fmt.Errorf("%w: message %s already settled", ErrState, m.ID)
	}
	for _, id := range p.Outbox {
		if !store.ValidID(id) {
			return store.Effect{}, malformed("outbox id %q", id)
		}
	}
	note := fmt.Sprintf("%d outbox messages", len(p.Outbox))
	if p.Failed && len(p.Outbox) == 0 {
		m.Failed = true
		note = "nothing queued"
		if m.Urgent {
			n, err := monthCount(&tx.Reader, m.Month)
			if err != nil {
				return store.Effect{}, err
			}
			if err := setMonthCount(tx, m.Month, n-1); err != nil {
				return store.Effect{}, err
			}
			note += ", allowance given back"
		}
	} else {
		m.Queued, m.Outbox = true, p.Outbox
	}
	return store.Effect{Subject: "message:" + m.ID, Note: note}, tx.SetJSON(messageKey(m.ID), m)
}

func applyHide(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p idPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	m, err := getMessage(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	m.Hidden = true
	return store.Effect{Subject: "message:" + m.ID, Note: "removed from the history"}, tx.SetJSON(messageKey(m.ID), m)
}
