package visit

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image/jpeg"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/screen"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

// Service issues visit commands: it validates, seals personal data, draws
// IDs, link tokens and pass IDs, and stamps time and actor.
type Service struct {
	db     store.DB
	clock  clock.Clock
	keys   *secret.Keys
	screen Screener
	hook   Hook
	codes  CodeSender   // the SMS channel for phone checks; nil: none
	gate   *bookingGate // pending phone checks and the per-mobile limit
}

// Hook hears about visit events after they are durable: the appliance
// turns them into notifications. It must not block.
type Hook func(ctx context.Context, kind string, v Visit)

// Hook kinds.
const (
	HookRequested = "visit.requested"
	HookApproved  = "visit.approved"
	HookRejected  = "visit.rejected"
	HookArrived   = "visit.arrived"
	HookInvited   = "visit.invited"
	HookWalkedIn  = "visit.walked_in" // registered at the desk: the visitor gets their pass
)

// WithHook registers the listener for visit events.
func (s *Service) WithHook(h Hook) *Service {
	s.hook = h
	return s
}

func (s *Service) tell(ctx context.Context, kind string, id string) {
	if s.hook == nil {
		return
	}
	if v, err := s.Get(id); err == nil {
		s.hook(ctx, kind, v)
	}
}

// StatusLink opens the sealed status-page token of v.
func (s *Service) StatusLink(v Visit) (string, error) { return s.keys.Open(v.LinkSealed) }

// Screener checks visitors against the black- and whitelists.
type Screener interface {
	Screen(screen.Subject) (screen.Verdict, error)
	RecordHit(ctx context.Context, h screen.Hit) error
}

// WithScreener makes the service screen every new visitor.
func (s *Service) WithScreener(sc Screener) *Service {
	s.screen = sc
	return s
}

// screenVisitor checks v's visitor; where names the page for the record.
func (s *Service) screenVisitor(ctx context.Context, v *Visit, where string) (screen.Verdict, error) {
	if s.screen == nil {
		return screen.Verdict{}, nil
	}
	verdict, err := s.screen.Screen(screen.Subject{Name: v.Visitor.Name, MobileBlind: v.Visitor.MobileBlind,
		ID6Blind: v.Visitor.IDBlind, IDBlind: v.Visitor.IDFullBlind})
	if err != nil || !verdict.Alert {
		return verdict, err
	}
	h := screen.Hit{EntryID: verdict.EntryID, Blocked: verdict.Block, Name: v.Visitor.Name, Where: where}
	if !verdict.Block {
		v.Flag = verdict.Reason
		h.VisitID = v.ID
	}
	if err := s.screen.RecordHit(ctx, h); err != nil {
		return verdict, err
	}
	if verdict.Block {
		return verdict, ErrBlocked
	}
	return verdict, nil
}

// New returns a visit service.
func New(db store.DB, c clock.Clock, keys *secret.Keys) *Service {
	return &Service{db: db, clock: c, keys: keys, gate: newBookingGate()}
}

func (s *Service) apply(ctx context.Context, typ, actor string, payload any) error {
	_, err := store.Issue(ctx, s.db, typ, actor, s.clock.Now(), payload)
	return err
}

// LinkHash is how a status-page token is stored.
func LinkHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newLinkToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// build turns a checked request into a visit with sealed personal data.
func (s *Service) build(q Request, mode Mode, state State) (Visit, string, error) {
	now := s.clock.Now()
	var mob, blind string
	var err error
	if q.Mobile != "" {
		if mob, err = s.keys.Seal(q.Mobile); err != nil {
			return Visit{}, "", err
		}
		blind = s.keys.Blind("mobile", q.Mobile)
	}
	idText := q.IDLast6
	if q.IDNumber != "" {
		idText = q.IDNumber
	}
	idSealed, err := s.keys.Seal(idText)
	if err != nil {
		return Visit{}, "", err
	}
	link := newLinkToken()
	linkSealed, err := s.keys.Seal(link)
	if err != nil {
		return Visit{}, "", err
	}
	v := Visit{
		ID: store.NewID(now), Mode: mode, State: state, PartySize: q.PartySize,
		HostID: q.HostID, Reason: q.Reason, Message: q.Message, Lang: q.Lang,
		From: q.From.UnixNano(), Until: q.Until.UnixNano(), LinkHash: LinkHash(link), LinkSealed: linkSealed,
		Visitor: Visitor{Name: q.Name, Title: q.Title, MobileSealed: mob, MobileBlind: blind,
			MobileMasked: MaskMobile(q.Mobile), IDSealed: idSealed, Company: q.Company},
	}
	if q.IDLast6 != "" {
		v.Visitor.IDBlind = s.keys.Blind("id6", q.IDLast6)
	}
	if q.IDNumber != "" {
		v.Visitor.IDFullBlind = s.keys.Blind("id", q.IDNumber)
	}
	if !q.Doc.IsZero() {
		b, _ := json.Marshal(q.Doc)
		if v.Visitor.DocSealed, err = s.keys.Seal(string(b)); err != nil {
			return Visit{}, "", err
		}
	}
	v.Badge = q.Badge
	if state == Approved {
		v.PassID = store.NewID(now)
	}
	return v, link, nil
}

// Book records a visitor's application from the booking page or the
// kiosk. It returns the visit and the token of the visitor's status page,
// shown only now. A mobile number books at most MobileBurst times in a row
// and a host has at most MaxPendingPerHost unanswered requests. Only a
// booking whose phone was proven (ConfirmBooking) is approved by the
// whitelist; any other whitelisted one goes to the host, marked so.
func (s *Service) Book(ctx context.Context, q Request) (Visit, string, error) {
	if es := CheckRequest(&q, s.clock.Now(), true); len(es) > 0 {
		return Visit{}, "", es
	}
	if err := s.checkFlood(q, true); err != nil {
		return Visit{}, "", err
	}
	v, link, err := s.build(q, Booked, Requested)
	if err != nil {
		return Visit{}, "", err
	}
	verdict, err := s.screenVisitor(ctx, &v, "booking")
	if err != nil {
		return Visit{}, "", err
	}
	v.Whitelisted = verdict.AutoApprove
	if err := s.apply(ctx, CmdCreate, "visitor", v); err != nil {
		return Visit{}, "", err
	}
	if verdict.AutoApprove && q.PhoneVerified {
		if err := s.apply(ctx, CmdFor(EvApprove), "whitelist:"+verdict.EntryID, eventPayload{ID: v.ID, PassID: store.NewID(s.clock.Now()), Note: "whitelisted"}); err != nil {
			return Visit{}, "", err
		}
		s.tell(ctx, HookApproved, v.ID)
	} else {
		s.tell(ctx, HookRequested, v.ID)
	}
	v, err = s.Get(v.ID)
	return v, link, err
}

// Invite records a host's invitation: approved at once, with a pass.
func (s *Service) Invite(ctx context.Context, actor string, q Request) (Visit, string, error) {
	if es := CheckRequest(&q, s.clock.Now(), false); len(es) > 0 {
		return Visit{}, "", es
	}
	v, link, err := s.build(q, Invited, Approved)
	if err != nil {
		return Visit{}, "", err
	}
	if _, err := s.screenVisitor(ctx, &v, "invitation"); err != nil {
		return Visit{}, "", err
	}
	if err := s.apply(ctx, CmdCreate, actor, v); err != nil {
		return Visit{}, "", err
	}
	s.tell(ctx, HookInvited, v.ID)
	return v, link, nil
}

// WalkIn registers a visitor at the desk once the host has agreed on the
// phone: approved at once, with a pass, and a badge if one was handed out.
func (s *Service) WalkIn(ctx context.Context, actor string, q Request) (Visit, string, error) {
	if es := CheckRequest(&q, s.clock.Now(), false); len(es) > 0 {
		return Visit{}, "", es
	}
	v, link, err := s.build(q, WalkIn, Approved)
	if err != nil {
		return Visit{}, "", err
	}
	if _, err := s.screenVisitor(ctx, &v, "desk"); err != nil {
		return Visit{}, "", err
	}
	if err := s.apply(ctx, CmdCreate, actor, v); err != nil {
		return Visit{}, "", err
	}
	s.tell(ctx, HookWalkedIn, v.ID)
	return v, link, nil
}

// IssueBadge records the temporary badge handed to a visitor.
func (s *Service) IssueBadge(ctx context.Context, actor, id, badge string) error {
	return s.apply(ctx, CmdBadge, actor, badgePayload{ID: id, Badge: badge})
}

// ReturnBadge records that the visitor gave the badge back.
func (s *Service) ReturnBadge(ctx context.Context, actor, id string) error {
	return s.apply(ctx, CmdBadgeReturn, actor, badgePayload{ID: id})
}

// UnreturnedBadges lists the visits of the local day of t whose badge is
// still out.
func (s *Service) UnreturnedBadges(t time.Time, loc *time.Location) ([]Visit, error) {
	vs, err := s.Day(t, loc)
	out := vs[:0]
	for _, v := range vs {
		if v.Badge != "" && v.BadgeBack == 0 {
			out = append(out, v)
		}
	}
	return out, err
}

// Decide approves or rejects an application. asHost is the directory ID
// of the deciding host; "" lets property staff decide for the host.
func (s *Service) Decide(ctx context.Context, actor, id, asHost string, approve bool, reason string) (Visit, error) {
	v, err := s.Get(id)
	if err != nil {
		return v, err
	}
	if asHost != "" && v.HostID != asHost {
		return v, ErrNotHost
	}
	if approve {
		err = s.apply(ctx, CmdFor(EvApprove), actor, eventPayload{ID: id, PassID: store.NewID(s.clock.Now())})
	} else {
		err = s.apply(ctx, CmdFor(EvReject), actor, eventPayload{ID: id, Reason: reason})
	}
	if err != nil {
		return v, err
	}
	if approve {
		s.tell(ctx, HookApproved, id)
	} else {
		s.tell(ctx, HookRejected, id)
	}
	return s.Get(id)
}

// Move applies a plain event (enter, exit, cancel, close, no_show).
func (s *Service) Move(ctx context.Context, actor, id string, ev Event, note string) error {
	if ev == EvApprove || ev == EvReject {
		return errors.New("visit: use Decide")
	}
	if err := s.apply(ctx, CmdFor(ev), actor, eventPayload{ID: id, Note: note}); err != nil {
		return err
	}
	if ev == EvEnter {
		s.Entered(ctx, id)
	}
	return nil
}

// Entered tells the hook of a visit's first entry (the host hears that
// their visitor arrived), after an entry made by Move or by a gate's
// command (Pass).
func (s *Service) Entered(ctx context.Context, id string) {
	if s.hook == nil {
		return
	}
	if v, err := s.Get(id); err == nil && len(v.History) > 0 && countState(v.History, In) == 1 {
		s.hook(ctx, HookArrived, v) // first entry only
	}
}

// Token returns the QR pass of an approved visit.
func (s *Service) Token(v Visit) (string, error) {
	if v.PassID == "" {
		return "", ErrTransition
	}
	return pass.Sign(s.keys.Signer(), pass.Claims{PassID: v.PassID, VisitID: v.ID,
		NotBefore: time.Unix(0, v.From), NotAfter: time.Unix(0, v.Until)})
}

// CheckPass verifies a scanned pass for entry or exit against the visit it
// belongs to: signature, window, the visit's state, and replay.
func (s *Service) CheckPass(token string, in bool) (Visit, error) {
	var v Visit
	_, err := pass.Check(s.keys.Verifier(), token, s.clock.Now(), in, func(c pass.Claims) (pass.State, error) {
		err := s.db.View(func(r *store.Reader) error {
			var err error
			v, err = ByPass(r, c.PassID)
			return err
		})
		if errors.Is(err, ErrNotFound) || (err == nil && v.ID != c.VisitID) {
			return pass.State{}, nil
		}
		if err != nil {
			return pass.State{}, err
		}
		return pass.State{Known: true, Usable: v.State.PassValid(), Inside: v.State == In, Outside: v.State == Approved || v.State == Out}, nil
	})
	return v, err
}

// Get returns one visit.
func (s *Service) Get(id string) (v Visit, err error) {
	err = s.db.View(func(r *store.Reader) error { v, err = get(r, id); return err })
	return v, err
}

// ByLink returns the visit of a status-page token.
func (s *Service) ByLink(token string) (v Visit, err error) {
	if len(token) != LinkTokenLen {
		return Visit{}, ErrNotFound
	}
	err = s.db.View(func(r *store.Reader) error { v, err = ByLinkHash(r, LinkHash(token)); return err })
	return v, err
}

// Day lists the visits expected on the local day of t (0:00–24:00 in loc).
func (s *Service) Day(t time.Time, loc *time.Location) (vs []Visit, err error) {
	y, m, d := t.In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 0, 1) // 23 or 25 hours on a DST change day
	err = s.db.View(func(r *store.Reader) error { vs, err = Between(r, from, to, 0); return err })
	return vs, err
}

// ForHost lists a host's visits, newest first.
func (s *Service) ForHost(hostID string, limit int) (vs []Visit, err error) {
	err = s.db.View(func(r *store.Reader) error { vs, err = ForHost(r, hostID, limit); return err })
	return vs, err
}

// Mobile opens a visitor's sealed mobile, for the host and the desk.
func (s *Service) Mobile(v Visit) (string, error) { return s.keys.Open(v.Visitor.MobileSealed) }

// Search lists visits for the records pages.
func (s *Service) Search(q Query) (p Page, err error) {
	err = s.db.View(func(r *store.Reader) error { p, err = Search(r, q); return err })
	return p, err
}

// VisitorHistory lists a visitor's visits by mobile number, newest first,
// with the number of visits in all.
func (s *Service) VisitorHistory(mobile string, limit int) (vs []Visit, total int, err error) {
	blind := s.keys.Blind("mobile", NormalizeMobile(mobile))
	err = s.db.View(func(r *store.Reader) error {
		if vs, err = ForVisitor(r, blind, limit); err != nil {
			return err
		}
		total, err = VisitCount(r, blind)
		return err
	})
	return vs, total, err
}

// HistoryOf lists the visits of the visitor of visit id, newest first, and
// their number: the desk recognises a returning visitor without typing the
// phone number again.
func (s *Service) HistoryOf(id string, limit int) (vs []Visit, total int, err error) {
	v, err := s.Get(id)
	if err != nil {
		return nil, 0, err
	}
	err = s.db.View(func(r *store.Reader) error {
		if vs, err = ForVisitor(r, v.Visitor.MobileBlind, limit); err != nil {
			return err
		}
		total, err = VisitCount(r, v.Visitor.MobileBlind)
		return err
	})
	return vs, total, err
}

// MaxPhotoBytes bounds a visitor photo (a JPEG from the tablet's camera).
const MaxPhotoBytes = 300 << 10

// SetPhoto seals and stores the visitor's photo. It must be a JPEG of at
// most MaxPhotoBytes and 2000 pixels a side.
func (s *Service) SetPhoto(ctx context.Context, actor, id string, jpegBytes []byte) error {
	if err := CheckPhoto(jpegBytes); err != nil {
		return err
	}
	sealed, err := s.keys.Seal(string(jpegBytes))
	if err != nil {
		return err
	}
	return s.apply(ctx, CmdPhoto, actor, photoPayload{ID: id, Sealed: sealed})
}

// CheckPhoto validates a photo before anything is registered with it.
func CheckPhoto(jpegBytes []byte) error {
	if len(jpegBytes) == 0 || len(jpegBytes) > MaxPhotoBytes {
		return field.Errors{{Field: "photo", Code: "invalid_photo"}}
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(jpegBytes))
	if err != nil || cfg.Width > 2000 || cfg.Height > 2000 || cfg.Width < 16 || cfg.Height < 16 {
		return field.Errors{{Field: "photo", Code: "invalid_photo"}}
	}
	return nil
}

// Photo returns a visitor's photo as JPEG bytes.
func (s *Service) Photo(id string) ([]byte, error) {
	var sealed []byte
	err := s.db.View(func(r *store.Reader) error {
		var err error
		sealed, err = r.Get(store.Key(store.KindVisitPhoto, id))
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	plain, err := s.keys.Open(string(sealed))
	return []byte(plain), err
}

func countState(h []Transition, st State) int {
	n := 0
	for _, t := range h {
		if t.State == st {
			n++
		}
	}
	return n
}
