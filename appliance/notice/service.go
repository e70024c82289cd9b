package notice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

// Outbox is what the message centre needs of the notification outbox
// (*notify.Service): which messages reach a person or the webhooks, and a
// way to queue them and learn their IDs.
type Outbox interface {
	Address(to notify.Recipient, n notify.Note) ([]notify.Message, error)
	Hooks(n notify.Note) ([]notify.Message, error)
	Enqueue(ctx context.Context, actor string, ms ...notify.Message) ([]string, error)
}

// People finds everyone an urgent message to an audience reaches:
// accounts with the audience's roles, visitors expected or inside today.
type People interface {
	Audience(ctx context.Context, a Audience) ([]notify.Recipient, error)
}

// Options configures a Service.
type Options struct {
	Location  *time.Location // the site's: calendar months start at its midnight
	PerMonth  int            // urgent broadcasts per calendar month
	SiteName  string         // signs messages
	Outbox    Outbox
	People    People
	Clock     clock.Clock
	Keys      *secret.Keys
	TextLimit int // zero: MaxText
}

// DefaultPerMonth is the broadcast allowance when none is set: what the
// common official-account channels allow.
const DefaultPerMonth = 4

// Service keeps announcements and sends messages.
type Service struct {
	db store.DB
	o  Options
	// decoding holds a token while a picture is decoded: one at a time,
	// so pictures take one MaxDecode of memory however many directors
	// upload at once.
	decoding chan struct{}
	perMonth atomic.Int64 // Options.PerMonth; the settings page may change it
}

// New returns the service; Register must have installed the handlers.
func New(db store.DB, o Options) *Service {
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.PerMonth < 0 {
		o.PerMonth = 0
	}
	s := &Service{db: db, o: o, decoding: make(chan struct{}, 1)}
	s.perMonth.Store(int64(o.PerMonth))
	return s
}

// SetPerMonth changes the urgent broadcasts allowed per calendar month.
func (s *Service) SetPerMonth(n int) { s.perMonth.Store(int64(max(n, 0))) }

func (s *Service) apply(ctx context.Context, typ, actor string, payload any) error {
	_, err := store.Issue(ctx, s.db, typ, actor, s.o.Clock.Now(), payload)
	return err
}

// Check validates and cleans an announcement's fields; the content comes
// back sanitised.
func Check(a *Announcement) field.Errors {
	var es field.Errors
	raw := a.Content
	a.Title = es.Text("title", a.Title, true, MaxTitle)
	a.Description = es.Text("description", a.Description, false, MaxDescription)
	if !a.Audience.Valid() {
		es.Add("audience", "required")
	}
	if len(a.Content) > MaxRawContent {
		a.Content = "" // refused unread
	} else {
		a.Content = Sanitize(a.Content)
	}
	if len(raw) > MaxRawContent || len(a.Content) > MaxContent {
		es.AddArg("content", "too_long", fmt.Sprint(MaxContent))
	}
	if a.CoverID != "" && !store.ValidID(a.CoverID) {
		es.Add("cover", "invalid")
	}
	return es
}

// LongTitle reports whether a title is past what the page shows in full.
func LongTitle(title string) bool {
	return utf8.RuneCountInString(strings.TrimSpace(title)) > TitleWarn
}

// Save creates (a.ID empty) or edits an announcement, and publishes it if
// asked. State, pin and times are the store's: only the fields are taken.
func (s *Service) Save(ctx context.Context, actor string, a Announcement, publish bool) (Announcement, error) {
	if es := Check(&a); len(es) > 0 {
		return a, es
	}
	edit := a.ID != ""
	if !edit {
		a.ID = store.NewID(s.o.Clock.Now())
	} else if _, err := s.Get(a.ID); err != nil {
		return a, err
	}
	if err := s.apply(ctx, CmdSave, actor, savePayload{Announcement: a, Publish: publish, Edit: edit}); err != nil {
		return a, err
	}
	return s.Get(a.ID)
}

// AddImage checks, scales and stores a picture, and returns its ID. What
// is not a picture fails with ErrImage, a picture too large to decode with
// ErrImageTooLarge (which is also ErrImage), both before any pixel is
// decoded. Pictures are decoded one at a time; a caller waits for its turn
// until ctx ends.
func (s *Service) AddImage(ctx context.Context, actor string, raw []byte) (string, error) {
	if err := inspect(raw); err != nil {
		return "", err
	}
	select {
	case s.decoding <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	jpg, err := prepare(raw)
	// The picture's buffers are garbage now. Collected before the next
	// decode, they are reused by it; left to the pacer, the heap grows
	// by a picture's worth for each of several uploads in a row (four
	// RGB pictures of 16 Mpx took 160 MB instead of 55).
	runtime.GC()
	<-s.decoding
	if err != nil {
		return "", err
	}
	id := store.NewID(s.o.Clock.Now())
	return id, s.apply(ctx, CmdImage, actor, imagePayload{ID: id, JPEG: jpg})
}

// Image returns a stored picture (JPEG).
func (s *Service) Image(id string) ([]byte, error) {
	if !store.ValidID(id) {
		return nil, ErrNotFound
	}
	var b []byte
	err := s.db.View(func(r *store.Reader) error {
		var err error
		b, err = r.Get(imageKey(id))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return b, err
}

// Change applies one of the state commands (CmdPublish, CmdUnpublish,
// CmdPin, CmdUnpin, CmdDelete) to an announcement.
func (s *Service) Change(ctx context.Context, actor, cmd, id string) error {
	switch cmd {
	case CmdPublish, CmdUnpublish, CmdPin, CmdUnpin, CmdDelete:
	default:
		return fmt.Errorf("notice: %q is not a state change", cmd)
	}
	if !store.ValidID(id) {
		return ErrNotFound
	}
	return s.apply(ctx, cmd, actor, idPayload{ID: id})
}

// Get returns one announcement.
func (s *Service) Get(id string) (a Announcement, err error) {
	err = s.db.View(func(r *store.Reader) error { a, err = getAnnouncement(r, id); return err })
	return a, err
}

// Query filters the managers' list.
type Query struct {
	Title    string    // part of the title, any case
	Audience Audience  // "" for all
	From, To time.Time // publication date range (zero: open); drafts match only an open range
}

// List returns the announcements matching q: pinned first, then newest
// (by publication, drafts by their last change).
func (s *Service) List(q Query) ([]Announcement, error) {
	title := strings.ToLower(strings.TrimSpace(q.Title))
	var out []Announcement
	err := s.scan(func(a Announcement) {
		switch {
		case title != "" && !strings.Contains(strings.ToLower(a.Title), title):
		case q.Audience != "" && a.Audience != q.Audience:
		case (!q.From.IsZero() || !q.To.IsZero()) && a.Published == 0:
		case !q.From.IsZero() && a.PublishedAt().Before(q.From):
		case !q.To.IsZero() && !a.PublishedAt().Before(q.To):
		default:
			out = append(out, a)
		}
	})
	sortBoard(out)
	return out, err
}

// Visible returns what someone of audience who (Visitors, Employees or
// Staff) sees: published announcements for them, pinned first, then
// newest, at most limit.
func (s *Service) Visible(who Audience, limit int) ([]Announcement, error) {
	var out []Announcement
	err := s.scan(func(a Announcement) {
		if a.State == Published && a.Audience.Includes(who) {
			out = append(out, a)
		}
	})
	sortBoard(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// scan visits every announcement. A lobby has tens or hundreds of them,
// so listing filters in memory rather than keeping indexes.
func (s *Service) scan(fn func(Announcement)) error {
	return s.db.View(func(r *store.Reader) error {
		return r.Scan([]byte{byte(store.KindNotice)}, store.ScanOptions{}, func(_, val []byte) (bool, error) {
			var a Announcement
			if err := json.Unmarshal(val, &a); err != nil {
				return false, fmt.Errorf("notice: decode announcement: %w", err)
			}
			fn(a)
			return true, nil
		})
	})
}

func sortBoard(as []Announcement) {
	when := func(a Announcement) int64 {
		if a.Published != 0 {
			return a.Published
		}
		return a.Updated
	}
	slices.SortStableFunc(as, func(a, b Announcement) int {
		switch {
		case a.Pinned != b.Pinned:
			if a.Pinned {
				return -1
			}
			return 1
		case when(a) != when(b):
			if when(a) > when(b) {
				return -1
			}
			return 1
		}
		return strings.Compare(b.ID, a.ID)
	})
}

// Month is the calendar month (site time) of t, as the allowance counts it.
func (s *Service) Month(t time.Time) string { return t.In(s.o.Location).Format("2006-01") }

// Allowance returns this month's urgent broadcasts used and allowed.
func (s *Service) Allowance() (used, allowed int, err error) {
	month := s.Month(s.o.Clock.Now())
	err = s.db.View(func(r *store.Reader) error { used, err = monthCount(r, month); return err })
	return used, int(s.perMonth.Load()), err
}

// Send is a message to send.
type Send struct {
	Urgent   bool
	Audience Audience           // urgent: who
	To       []notify.Recipient // normal: the person's addresses (resolved by the caller)
	ToLabel  string             // normal: the person as the history shows them (masked)
	// Either an announcement (its title, description and text are sent) or
	// Text of the sender's own.
	Announcement string
	Text         string
}

// Send records a message and queues it in the outbox. An urgent message
// uses one of the month's broadcasts: when none is left it is refused
// with ErrCapReached and nothing is sent. Problems with the form are
// field.Errors (fields audience, to, announcement, text).
func (s *Service) Send(ctx context.Context, actor string, in Send) (Message, error) {
	note, es, err := s.prepare(in)
	if err != nil {
		return Message{}, err
	}
	if len(es) > 0 {
		return Message{}, es
	}
	if in.Urgent {
		if used, allowed, err := s.Allowance(); err != nil {
			return Message{}, err
		} else if used >= allowed {
			return Message{}, fmt.Errorf("%w: %d of %d", ErrCapReached, used, allowed)
		}
	}
	// Everyone's messages, built before anything is recorded.
	to := in.To
	if in.Urgent {
		if s.o.People == nil {
			return Message{}, ErrNoRecipient
		}
		if to, err = s.o.People.Audience(ctx, in.Audience); err != nil {
			return Message{}, err
		}
	}
	var ms []notify.Message
	for _, r := range to {
		n := note
		if r.AccountID != "" {
			n.Link = "/"
		}
		m, err := s.o.Outbox.Address(r, n)
		if err != nil {
			return Message{}, err
		}
		ms = append(ms, m...)
	}
	if in.Urgent {
		m, err := s.o.Outbox.Hooks(note)
		if err != nil {
			return Message{}, err
		}
		ms = append(ms, m...)
	}
	if len(ms) == 0 {
		return Message{}, ErrNoRecipient
	}

	now := s.o.Clock.Now()
	msg := Message{ID: store.NewID(now), Urgent: in.Urgent, Announcement: in.Announcement}
	for i := range ms {
		ms[i].Group = msg.ID // the outbox keeps the message's delivery totals
	}
	if msg.Subject, err = s.o.Keys.Seal(note.Subject); err != nil {
		return Message{}, err
	}
	if msg.Body, err = s.o.Keys.Seal(note.Body); err != nil {
		return Message{}, err
	}
	if in.Urgent {
		msg.Audience, msg.Month = in.Audience, s.Month(now)
	} else {
		label := in.ToLabel
		if label == "" {
			label = "?"
		}
		if msg.ToSealed, err = s.o.Keys.Seal(label); err != nil {
			return Message{}, err
		}
	}
	if err := s.apply(ctx, CmdSend, actor, sendPayload{Message: msg, Cap: int(s.perMonth.Load())}); err != nil {
		return Message{}, err
	}
	// Queue in batches; what was queued before a failure still goes.
	var ids []string
	var qerr error
	for len(ms) > 0 {
		n := min(len(ms), notify.MaxBatch)
		got, err := s.o.Outbox.Enqueue(ctx, actor, ms[:n]...)
		if err != nil {
			qerr = err
			break
		}
		ids = append(ids, got...)
		ms = ms[n:]
	}
	if err := s.apply(context.WithoutCancel(ctx), CmdQueued, actor, queuedPayload{ID: msg.ID, Outbox: ids, Failed: len(ids) == 0}); err != nil {
		return Message{}, err
	}
	if len(ids) == 0 {
		return Message{}, fmt.Errorf("notice: queue message: %w", qerr)
	}
	if qerr != nil {
		// Some recipients are queued (the history shows them), the rest
		// are not: the sender must hear of it, not see a success.
		return Message{}, fmt.Errorf("notice: queued %d of %d recipients: %w", len(ids), len(ids)+len(ms), qerr)
	}
	return s.message(msg.ID)
}

// CheckSend reports the problems Send would find with the form's fields.
func (s *Service) CheckSend(in Send) field.Errors {
	_, es, _ := s.prepare(in)
	return es
}

// prepare checks a message and builds what it says.
func (s *Service) prepare(in Send) (notify.Note, field.Errors, error) {
	var es field.Errors
	note := notify.Note{Kind: notify.KindMessage, Subject: "消息 Message"}
	if in.Urgent {
		note.Kind, note.Subject = notify.KindUrgent, "紧急通知 Urgent notice"
		if !in.Audience.Valid() {
			es.Add("audience", "required")
		}
	} else if len(in.To) == 0 {
		es.Add("to", "required")
	}
	if s.o.SiteName != "" {
		note.Subject = s.o.SiteName + " · " + note.Subject
	}
	if in.Announcement != "" {
		a, err := s.Get(in.Announcement)
		switch {
		case errors.Is(err, ErrNotFound):
			es.Add("announcement", "invalid")
		case err != nil:
			return notify.Note{}, nil, err
		default:
			note.Subject = a.Title
			body := a.Description
			if t := PlainText(a.Content); t != "" {
				body = strings.TrimSpace(body + "\n\n" + t)
			}
			note.Body = cut(body, notify.MaxBody)
		}
	} else {
		limit := s.o.TextLimit
		if limit <= 0 {
			limit = MaxText
		}
		text := strings.TrimSpace(strings.ReplaceAll(in.Text, "\r\n", "\n"))
		switch {
		case text == "":
			es.Add("text", "required")
		case utf8.RuneCountInString(text) > limit:
			es.AddArg("text", "too_long", fmt.Sprint(limit))
		case strings.ContainsFunc(text, func(r rune) bool { return (r < 0x20 && r != '\n' && r != '\t') || r == 0x7F }):
			es.Add("text", "bad_characters")
		}
		note.Body = text
	}
	return note, es, nil
}

func (s *Service) message(id string) (m Message, err error) {
	err = s.db.View(func(r *store.Reader) error { m, err = getMessage(r, id); return err })
	return m, err
}

// Hide takes a message off the history page.
func (s *Service) Hide(ctx context.Context, actor, id string) error {
	if !store.ValidID(id) {
		return ErrNotFound
	}
	return s.apply(ctx, CmdHide, actor, idPayload{ID: id})
}

// Sent is a message as the history page shows it.
type Sent struct {
	Message
	Subject   string // opened
	Body      string
	To        string // normal: the person (masked)
	Delivered int    // outbox messages delivered
	Pending   int    // still being tried
	Dead      int    // given up
	Purged    int    // no longer in the outbox (delivered or dead long ago)
}

// State sums up the delivery: "failed" (nothing queued), "unconfirmed"
// (the appliance stopped between recording and queueing: whether it went
// is unknown), "pending" while any is pending, "dead" when all failed,
// "partial" when some did, "delivered".
func (m Sent) State() string {
	switch {
	case m.Failed:
		return "failed"
	case !m.Queued:
		return "unconfirmed"
	case m.Pending > 0:
		return "pending"
	case m.Dead > 0 && m.Delivered == 0:
		return "dead"
	case m.Dead > 0:
		return "partial"
	}
	return "delivered"
}

// History lists sent messages that are not hidden, newest first, at most
// limit, with their delivery state read from the outbox's totals (one
// read a message, whatever the number of recipients). Outbox, the IDs, is
// left empty except for messages queued before the outbox kept totals.
func (s *Service) History(limit int) ([]Sent, error) {
	var out []Sent
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan([]byte{byte(store.KindNoticeMessage)}, store.ScanOptions{Reverse: true}, func(_, val []byte) (bool, error) {
			// The outbox IDs (thousands for a broadcast) are kept raw:
			// only a message from before the outbox kept totals needs them.
			var m struct {
				Message
				Outbox json.RawMessage `json:"outbox,omitempty"`
			}
			if err := json.Unmarshal(val, &m); err != nil {
				return false, fmt.Errorf("notice: decode message: %w", err)
			}
			if m.Hidden {
				return true, nil
			}
			sent := Sent{Message: m.Message}
			if err := deliveryOf(r, &sent, m.Outbox); err != nil {
				return false, err
			}
			out = append(out, sent)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		m := &out[i]
		if m.Subject, err = s.o.Keys.Open(m.Message.Subject); err != nil {
			return nil, err
		}
		if m.Body, err = s.o.Keys.Open(m.Message.Body); err != nil {
			return nil, err
		}
		if m.ToSealed != "" {
			if m.To, err = s.o.Keys.Open(m.ToSealed); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// deliveryOf fills in a message's delivery counts from its outbox IDs
// (outbox, a JSON array): from the outbox's totals for the message (one
// read), or, for a message queued before the outbox kept them, from each
// of its outbox records.
func deliveryOf(r *store.Reader, sent *Sent, outbox json.RawMessage) error {
	if !sent.Queued {
		return nil // nothing queued, or unknown what: no counts
	}
	t, found, err := notify.GroupTotals(r, sent.ID)
	if err != nil {
		return err
	}
	if found {
		sent.Delivered, sent.Pending, sent.Dead = t.Delivered, t.Pending, t.Dead
		sent.Purged = max(0, countIDs(outbox)-t.Delivered-t.Pending-t.Dead)
		return nil
	}
	if len(outbox) > 0 {
		if err := json.Unmarshal(outbox, &sent.Outbox); err != nil {
			return fmt.Errorf("notice: decode message: %w", err)
		}
	}
	for _, id := range sent.Outbox {
		rec, err := notify.Get(r, id)
		switch {
		case errors.Is(err, notify.ErrNotFound):
			sent.Purged++
		case err != nil:
			return err
		case rec.State == notify.Delivered:
			sent.Delivered++
		case rec.State == notify.Dead:
			sent.Dead++
		default:
			sent.Pending++
		}
	}
	return nil
}

// countIDs counts the strings of a JSON array of store IDs, which hold
// no commas (applyQueued checks each).
func countIDs(a json.RawMessage) int {
	a = bytes.TrimSpace(a)
	if len(a) < 2 || bytes.Equal(a, []byte("null")) || len(bytes.TrimSpace(a[1:len(a)-1])) == 0 {
		return 0
	}
	return bytes.Count(a, []byte{','}) + 1
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
