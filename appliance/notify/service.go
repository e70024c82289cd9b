package notify

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

// Backoff is when failed attempts are tried again: after Base, then twice
// as long each time, never longer than Cap; after MaxAttempts failed
// attempts the message is dead. No jitter: one appliance's outbox is too
// small for synchronised retries to hurt, and a fixed schedule is what the
// administrator's page can explain.
type Backoff struct {
	Base        time.Duration
	Cap         time.Duration
	MaxAttempts int
}

// DefaultBackoff tries 8 times over about an hour: 30 s, 1, 2, 4, 8, 16,
// 32 min.
func DefaultBackoff() Backoff {
	return Backoff{Base: 30 * time.Second, Cap: time.Hour, MaxAttempts: 8}
}

// Delay is the wait after failed attempt n (1-based).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Cap; i++ {
		d *= 2
	}
	return min(d, b.Cap)
}

// Options configures a Service.
type Options struct {
	Backoff   Backoff // zero: DefaultBackoff
	HubBuffer int     // messages a live page may fall behind before it is dropped; zero: 16
	Log       *slog.Logger
	// SMS makes Tell queue text messages to phones: set it once a modem is
	// attached (WorkerOptions.SMS), so that until then no message waits
	// for a channel that does not exist.
	SMS bool
	// PrivatePaths are the paths under which a link is a credential ("/v/",
	// a visitor's status page): Enqueue refuses such a link, absolute or
	// not, on in-page and webhook messages (ErrPrivateLink).
	PrivatePaths []string
}

// Service queues messages and keeps the settings. It stamps commands with
// time, actor and IDs, and seals what may be personal.
type Service struct {
	db      store.DB
	clock   clock.Clock
	keys    *secret.Keys
	hub     *Hub
	backoff Backoff
	log     *slog.Logger
	private []string                      // Options.PrivatePaths
	sms     atomic.Bool                   // SMS to phones: a modem is attached
	base    atomic.Pointer[func() string] // SetBaseURL; nil: Settings.BaseURL as stored
	wake    chan struct{}                 // a worker's doorbell: something new is due

	idMu   sync.Mutex
	lastID [10]byte
}

var _ Notifier = (*Service)(nil)

// New returns the service; Register must have installed the handlers on
// the store behind db.
func New(db store.DB, clk clock.Clock, keys *secret.Keys, o Options) *Service {
	if o.Backoff.MaxAttempts <= 0 || o.Backoff.Base <= 0 {
		o.Backoff = DefaultBackoff()
	}
	if o.Backoff.Cap < o.Backoff.Base {
		o.Backoff.Cap = o.Backoff.Base
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &Service{db: db, clock: clk, keys: keys, hub: NewHub(o.HubBuffer), backoff: o.Backoff, log: o.Log,
		wake: make(chan struct{}, 1)}
	for _, p := range o.PrivatePaths {
		// "/v" and "/v/" both mean what is under /v/, and not /vx.
		s.private = append(s.private, strings.TrimSuffix(path.Clean("/"+p), "/")+"/")
	}
	s.sms.Store(o.SMS)
	return s
}

// Hub is where in-page messages go live.
func (s *Service) Hub() *Hub { return s.hub }

// Backoff returns the retry schedule.
func (s *Service) Backoff() Backoff { return s.backoff }

func (s *Service) apply(ctx context.Context, typ, actor string, payload any) error {
	_, err := store.Issue(ctx, s.db, typ, actor, s.clock.Now(), payload)
	return err
}

// ring wakes the worker without ever waiting for it.
func (s *Service) ring() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Limits on messages (runes).
const (
	MaxSubject = 200
	MaxBody    = 4000
	MaxLink    = 1000
)

var phoneRE = regexp.MustCompile(`^\+?[0-9]{5,20}$`)

// Enqueue checks, seals and queues messages in one command, and returns
// their IDs. It never sends: a worker does, so Enqueue returns as soon as
// the outbox has the messages on disk. Problems are field.Errors whose
// Line is the message's position (1-based) and whose fields are channel,
// to, kind, subject, body and link.
func (s *Service) Enqueue(ctx context.Context, actor string, ms ...Message) ([]string, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	if len(ms) > maxBatch {
		return nil, fmt.Errorf("%w: more than %d messages at once", field.ErrInvalid, maxBatch)
	}
	now := s.clock.Now()
	var all field.Errors
	recs := make([]Record, 0, len(ms))
	ids := make([]string, 0, len(ms))
	for i, m := range ms {
		es := checkMessage(&m)
		for _, e := range es {
			e.Line = i + 1
			all = append(all, e)
		}
		if len(es) > 0 {
			continue
		}
		if (m.Channel == InPage || m.Channel == Webhook) && s.privateLink(m.Link) {
			return nil, fmt.Errorf("%w: message %d, %s %s", ErrPrivateLink, i+1, m.Channel, m.Kind)
		}
		rec, err := s.seal(m, s.newID(now))
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
		ids = append(ids, rec.ID)
	}
	if len(all) > 0 {
		return nil, all
	}
	if err := s.apply(ctx, CmdEnqueue, actor, enqueuePayload{Messages: recs}); err != nil {
		return nil, err
	}
	s.ring()
	return ids, nil
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newID is store.NewID made strictly increasing within this service, so
// that messages queued in one millisecond still sort in the order queued:
// a page that reconnects asks for what came after the last ID it saw.
func (s *Service) newID(now time.Time) string {
	var b [10]byte
	if _, err := idEncoding.Decode(b[:], []byte(store.NewID(now))); err != nil {
		panic(err) // NewID's own encoding
	}
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if bytes.Compare(b[:], s.lastID[:]) <= 0 {
		b = s.lastID
		for i := len(b) - 1; i >= 0; i-- { // add one
			if b[i]++; b[i] != 0 {
				break
			}
		}
	}
	s.lastID = b
	return idEncoding.EncodeToString(b[:])
}

var langRE = regexp.MustCompile(`^[a-z]{2}$`)

// checkMessage validates and cleans m.
func checkMessage(m *Message) field.Errors {
	var es field.Errors
	m.To = strings.TrimSpace(m.To)
	switch m.Channel {
	case InPage:
		if !store.ValidID(m.To) {
			es.Add("to", "invalid")
		}
	case Email:
		if _, err := emailAddress(m.To); err != nil {
			es.Add("to", "invalid_email")
		}
	case SMS:
		if !phoneRE.MatchString(m.To) {
			es.Add("to", "invalid_phone")
		}
	case Webhook:
		m.To = es.Text("to", m.To, true, maxHookName)
	default:
		es.Add("channel", "invalid")
	}
	if !kindRE.MatchString(m.Kind) || len(m.Kind) > 64 {
		es.Add("kind", "invalid")
	}
	if m.Group != "" && !store.ValidID(m.Group) {
		es.Add("group", "invalid")
	}
	m.Subject = es.Text("subject", m.Subject, true, MaxSubject)
	m.Body = strings.TrimSpace(strings.ReplaceAll(m.Body, "\r\n", "\n"))
	switch {
	case len([]rune(m.Body)) > MaxBody:
		es.AddArg("body", "too_long", fmt.Sprint(MaxBody))
	case strings.ContainsFunc(m.Body, func(r rune) bool { return (r < 0x20 && r != '\n' && r != '\t') || r == 0x7F }):
		es.Add("body", "bad_characters")
	}
	for l, t := range m.Langs {
		if !langRE.MatchString(l) || t.Subject == "" || len([]rune(t.Subject)) > MaxSubject ||
			len([]rune(t.Body)) > MaxBody || len([]rune(t.SMS)) > MaxBody {
			es.Add("langs", "invalid")
			break
		}
	}
	m.Link = strings.TrimSpace(m.Link)
	if m.Link != "" {
		u, err := url.Parse(m.Link)
		path := strings.HasPrefix(m.Link, "/") && !strings.HasPrefix(m.Link, "//") && err == nil && u.Host == "" && u.Scheme == ""
		if len(m.Link) > MaxLink || err != nil || !(path || webURL(u)) || strings.ContainsFunc(m.Link, func(r rune) bool { return r <= 0x20 || r == 0x7F }) {
			es.Add("link", "invalid_url")
		}
	}
	return es
}

// privateLink says whether link, checked by checkMessage, points under
// one of the private paths.
func (s *Service) privateLink(link string) bool {
	if link == "" || len(s.private) == 0 {
		return false
	}
	u, err := url.Parse(link)
	if err != nil {
		return true // checked already; refuse rather than guess
	}
	p := path.Clean("/"+u.Path) + "/"
	for _, prefix := range s.private {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// emailAddress parses "addr" or "Name <addr>" and refuses what could not
// travel in an SMTP envelope.
func emailAddress(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	if strings.ContainsFunc(a.Name+a.Address, func(r rune) bool { return r < 0x20 || r == 0x7F }) ||
		strings.ContainsFunc(a.Address, func(r rune) bool { return r > 0x7E }) {
		return nil, fmt.Errorf("notify: address not plain ASCII")
	}
	return a, nil
}

func (s *Service) seal(m Message, id string) (Record, error) {
	rec := Record{ID: id, Channel: m.Channel, Kind: m.Kind, Group: m.Group}
	var err error
	switch m.Channel {
	case Email:
		a, _ := emailAddress(m.To) // checked
		rec.ToMasked = MaskEmail(a.Address)
		rec.ToSealed, err = s.keys.Seal(m.To)
	case SMS:
		rec.ToMasked = maskPhone(m.To)
		rec.ToSealed, err = s.keys.Seal(m.To)
	default:
		rec.To = m.To
	}
	if err != nil {
		return Record{}, err
	}
	if rec.Subject, err = s.keys.Seal(m.Subject); err != nil {
		return Record{}, err
	}
	if rec.Body, err = s.keys.Seal(m.Body); err != nil {
		return Record{}, err
	}
	if rec.Link, err = s.keys.Seal(m.Link); err != nil {
		return Record{}, err
	}
	if len(m.Langs) > 0 {
		b, err := json.Marshal(m.Langs)
		if err != nil {
			return Record{}, err
		}
		if rec.Langs, err = s.keys.Seal(string(b)); err != nil {
			return Record{}, err
		}
	}
	return rec, nil
}

// Open returns the message a record holds, unsealed.
func (s *Service) Open(rec Record) (Message, error) {
	m := Message{ID: rec.ID, Channel: rec.Channel, To: rec.To, Kind: rec.Kind, Created: time.Unix(0, rec.Created)}
	var err error
	if rec.ToSealed != "" {
		if m.To, err = s.keys.Open(rec.ToSealed); err != nil {
			return Message{}, err
		}
	}
	if m.Subject, err = s.keys.Open(rec.Subject); err != nil {
		return Message{}, err
	}
	if m.Body, err = s.keys.Open(rec.Body); err != nil {
		return Message{}, err
	}
	if m.Link, err = s.keys.Open(rec.Link); err != nil {
		return Message{}, err
	}
	if rec.Langs != "" {
		b, err := s.keys.Open(rec.Langs)
		if err != nil {
			return Message{}, err
		}
		if err := json.Unmarshal([]byte(b), &m.Langs); err != nil {
			return Message{}, err
		}
	}
	return m, nil
}

// MaskEmail is an address as pages and logs may show it: "d***@example.com".
func MaskEmail(a string) string {
	at := strings.LastIndexByte(a, '@')
	if at < 1 {
		return "***"
	}
	return a[:1] + "***" + a[at:]
}

func maskPhone(p string) string {
	if len(p) >= 11 {
		return p[:3] + "****" + p[len(p)-4:]
	}
	if len(p) > 4 {
		return "****" + p[len(p)-2:]
	}
	return "****"
}

// EnableSMS says whether a modem is attached: serve sets it when the
// device runtime runs a GSM modem (Options.SMS at start).
func (s *Service) EnableSMS(on bool) { s.sms.Store(on) }

// SMSEnabled reports whether text messages can be sent (a modem is attached).
func (s *Service) SMSEnabled() bool { return s.sms.Load() }

// Tell queues n to one person: in the page if they have an account, by
// email if they have an address and email is set up, by SMS if they have
// a phone and the appliance a modem (Options.SMS).
func (s *Service) Tell(ctx context.Context, actor string, to Recipient, n Note) error {
	ms, err := s.Address(to, n)
	if err != nil {
		return err
	}
	_, err = s.Enqueue(ctx, actor, ms...)
	return err
}

// Address returns the messages Tell would queue for to, without queueing
// them: for a sender that queues many people's messages in batches and
// keeps their IDs.
func (s *Service) Address(to Recipient, n Note) ([]Message, error) {
	var ms []Message
	own := n.Link
	if to.Link != "" {
		own = to.Link
	}
	msg := func(ch ChannelName, addr, link string) Message {
		m := Message{Channel: ch, To: addr, Kind: n.Kind, Subject: n.Subject, Body: n.Body, Link: link}
		t, ok := n.Langs[to.Lang]
		switch {
		case ch == InPage:
			m.Langs = n.Langs // the page picks its reader's
		case ok && ch == SMS && t.SMS != "":
			m.Subject, m.Body = t.SMS, ""
		case ok && t.Subject != "":
			m.Subject, m.Body = t.Subject, t.Body
		}
		return m
	}
	if to.AccountID != "" {
		ms = append(ms, msg(InPage, to.AccountID, n.Link))
	}
	if to.Email != "" {
		set, err := s.Settings()
		if err != nil {
			return nil, err
		}
		if set.SMTP.Enabled() {
			ms = append(ms, msg(Email, to.Email, own))
		}
	}
	if to.Phone != "" && s.sms.Load() {
		ms = append(ms, msg(SMS, to.Phone, own))
	}
	return ms, nil
}

// Broadcast queues n to every webhook that receives its kind.
func (s *Service) Broadcast(ctx context.Context, actor string, n Note) error {
	ms, err := s.Hooks(n)
	if err != nil {
		return err
	}
	_, err = s.Enqueue(ctx, actor, ms...)
	return err
}

// Hooks returns the messages Broadcast would queue, without queueing them.
func (s *Service) Hooks(n Note) ([]Message, error) {
	set, err := s.Settings()
	if err != nil {
		return nil, err
	}
	var ms []Message
	for _, h := range set.Webhooks {
		if h.Wants(n.Kind) {
			ms = append(ms, Message{Channel: Webhook, To: h.Name, Kind: n.Kind, Subject: n.Subject, Body: n.Body, Link: n.Link})
		}
	}
	return ms, nil
}

// MaxBatch is the most messages one Enqueue takes.
const MaxBatch = maxBatch

// SetBaseURL makes f the source of Settings.BaseURL: the appliance's site
// settings keep the one base URL since they took it over (appliance/site).
// The value stored with these settings is then only read by LegacyBaseURL.
func (s *Service) SetBaseURL(f func() string) { s.base.Store(&f) }

// withBase fills in the base URL from SetBaseURL's source.
func (s *Service) withBase(set Settings) Settings {
	if f := s.base.Load(); f != nil {
		set.BaseURL = (*f)()
	}
	return set
}

// LegacyBaseURL is the base URL stored with these settings, where releases
// before the site settings kept it.
func (s *Service) LegacyBaseURL() (string, error) {
	var st Settings
	err := s.db.View(func(r *store.Reader) error {
		var err error
		st, err = storedSettings(r)
		return err
	})
	return st.BaseURL, err
}

// Settings returns the settings with password, webhook URLs and secrets
// unsealed. Pages must not show the password or the secrets.
func (s *Service) Settings() (Settings, error) {
	var st Settings
	err := s.db.View(func(r *store.Reader) error {
		var err error
		st, err = storedSettings(r)
		return err
	})
	if err != nil {
		return Settings{}, err
	}
	st, err = st.open(s.keys)
	return s.withBase(st), err
}

// SaveSettings checks and stores the settings. A blank SMTP password
// keeps the stored one unless ClearPassword; a blank webhook secret keeps
// the secret of the webhook named Was unless ClearSecret. Once SetBaseURL
// gave the base URL another home, in.BaseURL is ignored and the stored one
// kept as it was.
func (s *Service) SaveSettings(ctx context.Context, actor string, in Settings) error {
	in.Webhooks = append([]Hook(nil), in.Webhooks...)
	if s.base.Load() != nil {
		legacy, err := s.LegacyBaseURL()
		if err != nil {
			return err
		}
		in.BaseURL = legacy
	}
	if es := in.Check(); len(es) > 0 {
		return es
	}
	cur, err := s.Settings()
	if err != nil {
		return err
	}
	if in.SMTP.Password == "" && !in.SMTP.ClearPassword {
		in.SMTP.Password = cur.SMTP.Password
	}
	for i := range in.Webhooks {
		h := &in.Webhooks[i]
		if h.Secret == "" && !h.ClearSecret && h.Was != "" {
			if old, ok := cur.Hook(h.Was); ok {
				h.Secret = old.Secret
			}
		}
	}
	sealed, err := in.seal(s.keys)
	if err != nil {
		return err
	}
	return s.apply(ctx, CmdSettings, actor, sealed)
}

// Get returns one outbox record.
func (s *Service) Get(id string) (rec Record, err error) {
	err = s.db.View(func(r *store.Reader) error { rec, err = Get(r, id); return err })
	return rec, err
}

// Retry gives a dead message a fresh round of attempts, starting now.
func (s *Service) Retry(ctx context.Context, actor, id string) error {
	if !store.ValidID(id) {
		return ErrNotFound
	}
	if err := s.apply(ctx, CmdRetry, actor, idPayload{ID: id}); err != nil {
		return err
	}
	s.ring()
	return nil
}

// Outbox is what the administrator's page shows.
type Outbox struct {
	Recent   []Record // newest first
	Dead     []Record // newest first
	Retrying []Record // failed at least once, by next attempt
}

// Outbox lists recent, dead and retrying messages, at most limit of each.
func (s *Service) Outbox(limit int) (Outbox, error) {
	var o Outbox
	err := s.db.View(func(r *store.Reader) error {
		var err error
		if o.Recent, err = Recent(r, limit); err != nil {
			return err
		}
		if o.Dead, err = DeadLetters(r, limit); err != nil {
			return err
		}
		o.Retrying, err = Retrying(r, limit, 10*limit)
		return err
	})
	return o, err
}

// Missed returns the in-page messages of account queued after the message
// after, oldest first, at most limit: what a page missed while its event
// stream was down.
func (s *Service) Missed(account, after string, limit int) ([]Message, error) {
	var recs []Record
	err := s.db.View(func(r *store.Reader) error {
		var err error
		recs, err = ForAccount(r, account, after, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(recs))
	for _, rec := range recs {
		m, err := s.Open(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Purge removes up to max delivered and dead messages queued before
// before; pending messages stay whatever their age. When there is nothing
// to remove it issues no command, so the hourly sweep leaves no trace in
// the audit trail.
func (s *Service) Purge(ctx context.Context, actor string, before time.Time, max int) error {
	var some bool
	err := s.db.View(func(r *store.Reader) error {
		var err error
		some, err = purgeable(r, before.UnixNano())
		return err
	})
	if err != nil || !some {
		return err
	}
	return s.apply(ctx, CmdPurge, actor, purgePayload{Before: before.UnixNano(), Max: min(max, maxPurge)})
}
