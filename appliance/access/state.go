package access

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// Outcome is a decision with what it was about, for the event record.
type Outcome struct {
	Decision
	Lane     Lane
	CredID   string
	Holder   string // credential holder ID, or "visit:<id>" for a visitor
	Name     string // holder's name, for the guard station
	VisitID  string
	Presence bool   // the passage changed presence (granted)
	Lobby    string // the lobby whose gate decided, in a site of several; "" for this one alone
}

// Gather reads the local facts about p. It touches only the store.
func Gather(r *store.Reader, p gate.Presentation, now time.Time, loc *time.Location, verifier ed25519.PublicKey, opener SecretOpener) (Facts, Outcome, error) {
	return gather(r, nil, p, now, loc, verifier, opener)
}

// gather is Gather with the lobby's events not yet in the store (ov, may
// be nil): presence and use counts count them too.
func gather(r *store.Reader, ov *outbox, p gate.Presentation, now time.Time, loc *time.Location, verifier ed25519.PublicKey, opener SecretOpener) (Facts, Outcome, error) {
	local := now.In(loc)
	f := Facts{Now: local, Entry: p.Direction != gate.Out}
	var o Outcome
	lane, err := getJSON[Lane](r, store.Key(store.KindLane, p.Lane))
	if errors.Is(err, ErrNotFound) {
		return f, o, nil
	} else if err != nil {
		return f, o, err
	}
	f.LaneKnown, o.Lane = true, lane
	zone, err := getJSON[Zone](r, store.Key(store.KindZone, lane.ZoneID))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return f, o, err
	}
	f.Passback = zone.Passback
	day := local.Format("2006-01-02")
	f.Holiday, err = r.Has(store.Key(store.KindHoliday, day))
	if err != nil {
		return f, o, err
	}
	f.PrevHol, err = r.Has(store.Key(store.KindHoliday, local.AddDate(0, 0, -1).Format("2006-01-02")))
	if err != nil {
		return f, o, err
	}
	inside := func(holder string) (bool, error) {
		since, present, err := presenceSince(r, holder, lane.ZoneID)
		if err != nil || ov == nil {
			return present, err
		}
		ev, err := ov.latest(r, holder, lane.ZoneID)
		if err != nil || ev == nil || (present && since > uint64(ev.Time)) {
			return present, err
		}
		return ev.Entry, nil
	}

	if p.Kind == gate.QR && len(p.Value) > 4 && p.Value[:4] == "GH1." {
		return gatherVisitor(r, f, o, p.Value, now, lane, verifier, inside)
	}
	if p.Kind == gate.QR && strings.HasPrefix(p.Value, quickPrefix) {
		return gatherQuick(r, ov, f, o, p.Value, now, lane, day, opener, inside)
	}
	var number string
	var kind CredKind
	switch p.Kind {
	case gate.Card:
		number, kind = NormalizeCard(p.Value), Card
	case gate.PIN:
		number, kind = p.Value, PIN
	case gate.Face:
		number, kind = p.Value, Face
	}
	if number == "" {
		return f, o, nil
	}
	id, err := r.Get(store.Key(store.KindCredByNumber, string(kind), number))
	if errors.Is(err, store.ErrNotFound) {
		if kind == Card {
			return gatherVisitCard(r, f, o, number, lane, inside)
		}
		return f, o, nil
	} else if err != nil {
		return f, o, err
	}
	c, err := getJSON[Credential](r, store.Key(store.KindCred, string(id)))
	if err != nil {
		return f, o, err
	}
	if c.Kind == Face && c.HolderKind == HolderVisitor && c.HolderID != "" && c.State == Active {
		return gatherVisitFace(r, f, o, c, lane, inside)
	}
	return credentialFacts(r, ov, f, o, c, lane, day, inside)
}

// gatherVisitFace decides a visitor's face as their visit's pass, like
// their own ID card (visitcard.go): the lanes, floors, window and state
// of the visit apply, whatever the credential's copy of the window says.
// A withdrawn face is no longer active and is decided as a credential
// (revoked).
func gatherVisitFace(r *store.Reader, f Facts, o Outcome, c Credential, lane Lane, inside func(string) (bool, error)) (Facts, Outcome, error) {
	v, err := visit.Get(r, c.HolderID)
	if errors.Is(err, visit.ErrNotFound) {
		return f, o, nil // the visit is gone: unknown
	} else if err != nil {
		return f, o, err
	}
	from, until := v.Window()
	f.IsVisitor = true
	f.Pass.PassID, f.Pass.VisitID, f.Pass.NotBefore, f.Pass.NotAfter = v.PassID, v.ID, from, until
	f, o, err = visitFacts(f, o, v, lane, inside)
	o.CredID = c.ID
	return f, o, err
}

// presenceSince reads whether holder is inside zone, and since when.
func presenceSince(r *store.Reader, holder, zone string) (uint64, bool, error) {
	b, err := r.Get(store.Key(store.KindPresence, holder, zone))
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, err
	}
	if len(b) != 8 {
		return 0, true, nil
	}
	return binary.BigEndian.Uint64(b), true, nil
}

// SecretOpener opens sealed quick-pass secrets (the site keys).
type SecretOpener interface {
	Open(sealed string) (string, error)
}

func gatherQuick(r *store.Reader, ov *outbox, f Facts, o Outcome, v string, now time.Time, lane Lane, day string, opener SecretOpener,
	inside func(string) (bool, error)) (Facts, Outcome, error) {
	id, code, ok := parseQuick(v)
	if !ok || opener == nil {
		return f, o, nil
	}
	c, err := getJSON[Credential](r, store.Key(store.KindCred, id))
	if errors.Is(err, ErrNotFound) || (err == nil && c.Kind != Quick) {
		return f, o, nil
	} else if err != nil {
		return f, o, err
	}
	txt, err := opener.Open(c.Secret)
	if err != nil {
		return f, o, nil
	}
	raw, err := b32.DecodeString(txt)
	if err != nil || !checkQuick(raw, code, now) {
		return f, o, nil // an old screenshot is as good as no pass: unknown
	}
	return credentialFacts(r, ov, f, o, c, lane, day, inside)
}

// credentialFacts fills the facts of a found credential.
func credentialFacts(r *store.Reader, ov *outbox, f Facts, o Outcome, c Credential, lane Lane, day string, inside func(string) (bool, error)) (Facts, Outcome, error) {
	var err error
	o.CredID, o.Holder, o.Name = c.ID, holderKey(c), c.HolderName
	f.Found, f.State = true, c.State
	if c.HolderID != "" {
		if f.HolderDeactivated, f.CompanyDeactivated, err = holderStanding(r, c.HolderID); err != nil {
			return f, o, err
		}
	}
	if c.NotBefore != 0 {
		f.NotBefore = time.Unix(0, c.NotBefore)
	}
	if c.NotAfter != 0 {
		f.NotAfter = time.Unix(0, c.NotAfter)
	}
	if c.ProfileID != "" {
		prof, err := getJSON[Profile](r, store.Key(store.KindProfile, c.ProfileID))
		if err != nil && !errors.Is(err, ErrNotFound) {
			return f, o, err
		}
		if err == nil {
			f.Profile = &prof
		} else {
			f.Profile = &Profile{} // a profile that was deleted admits nothing
		}
	}
	var restrict []string // every floor the groups name, for an elevator
	for _, gid := range c.GroupIDs {
		g, err := getJSON[Group](r, store.Key(store.KindGroup, gid))
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return f, o, err
		}
		if g.Covers(lane) {
			f.Permitted = true
			if lane.Kind != LaneElevator {
				break
			}
		}
		restrict = append(restrict, g.FloorIDs...)
	}
	if lane.Kind == LaneElevator {
		f.Elevator = true
		if f.Floors, err = floorFacts(r, lane, c.HolderID, restrict); err != nil {
			return f, o, err
		}
	}
	f.LimitDay, f.LimitTotal = c.LimitDay, c.LimitTotal
	if c.LimitDay > 0 {
		f.UsesToday, err = count(r, store.Key(store.KindUseDay, c.ID, day))
		if err != nil {
			return f, o, err
		}
	}
	if c.LimitTotal > 0 {
		if f.UsesTotal, err = count(r, store.Key(store.KindUseTotal, c.ID)); err != nil {
			return f, o, err
		}
	}
	if ov != nil && (c.LimitDay > 0 || c.LimitTotal > 0) {
		today, total, err := ov.uses(r, o.Holder, c.ID, day)
		if err != nil {
			return f, o, err
		}
		f.UsesToday += today
		f.UsesTotal += total
	}
	f.Inside, err = inside(o.Holder)
	return f, o, err
}

// holderStanding reads, in the decision's snapshot, whether the directory
// person holding a credential is deactivated, or their company is. The
// directory records are the truth: a deactivation or reactivation is one
// directory command, applied alike on every appliance of a cluster, and
// there is nothing to copy onto the credentials, keep in step or rebuild at
// start. A holder not in the directory is not refused for it.
func holderStanding(r *store.Reader, personID string) (person, company bool, err error) {
	st, err := directory.StandingOf(r, personID)
	if errors.Is(err, directory.ErrNotFound) {
		return false, false, nil
	}
	return st == directory.PersonInactive, st == directory.CompanyInactive, err
}

func holderKey(c Credential) string {
	if c.HolderID != "" {
		return c.HolderID
	}
	return "cred:" + c.ID
}

func count(r *store.Reader, k []byte) (int, error) {
	b, err := r.Get(k)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil || len(b) != 4 {
		return 0, err
	}
	return int(binary.BigEndian.Uint32(b)), nil
}

func gatherVisitor(r *store.Reader, f Facts, o Outcome, token string, now time.Time, lane Lane, verifier ed25519.PublicKey,
	inside func(string) (bool, error)) (Facts, Outcome, error) {
	f.IsVisitor = true
	// The window is Decide's, with the site's grace (Facts.Grace): a
	// token outside its own window is still the visit's pass.
	c, err := pass.Verify(verifier, token, now)
	switch pass.ReasonOf(err) {
	case "", pass.Expired, pass.NotYetValid:
		f.Pass = c
	default:
		f.PassProblem = PassInvalid
		return f, o, nil
	}
	v, verr := visit.ByPass(r, c.PassID)
	if errors.Is(verr, visit.ErrNotFound) || (verr == nil && v.ID != c.VisitID) {
		f.PassProblem = PassInvalid
		return f, o, nil
	} else if verr != nil {
		return f, o, verr
	}
	return visitFacts(f, o, v, lane, inside)
}

// visitFacts are the facts of visit v at lane, however its visitor showed
// it (the pass's QR, or their own card bound to it).
func visitFacts(f Facts, o Outcome, v visit.Visit, lane Lane, inside func(string) (bool, error)) (Facts, Outcome, error) {
	o.VisitID, o.Holder, o.Name = v.ID, "visit:"+v.ID, v.Visitor.Name
	f.VisitUsable = v.State.PassValid()
	f.VisitRejected = v.State == visit.Rejected
	f.VisitPending = v.State == visit.Requested
	f.Permitted = lane.Visitors && (lane.FloorID == "" || lane.FloorID == v.FloorID)
	if lane.Kind == LaneElevator {
		f.Elevator = true
		f.Floors = FloorFacts{Visitor: true, HostFloor: v.FloorID, Map: lane.Floors}
	}
	var err error
	f.Inside, err = inside(o.Holder)
	return f, o, err
}

// Service decides presentations and records the passages they allow. It
// implements gate.Decider.
type Service struct {
	db       store.DB
	clock    clock.Clock
	loc      *time.Location
	verifier ed25519.PublicKey
	visits   *visit.Service
	onEvent  func(Outcome, Event)
	onAlarm  func(AlarmRecord)
	opener   Opener
	secrets  SecretOpener // opens quick-pass secrets
	doors    doors
	obs      Observer // metrics; nil: none
	out      *outbox  // the lobby's journal (ship.go); nil: events go straight to the store
	grace    atomic.Pointer[pass.Grace]
}

// New returns the access service.
func New(db store.DB, c clock.Clock, loc *time.Location, verifier ed25519.PublicKey, visits *visit.Service) *Service {
	return &Service{db: db, clock: c, loc: loc, verifier: verifier, visits: visits}
}

// WithSecrets lets the service verify employees' quick passes.
func (s *Service) WithSecrets(o SecretOpener) *Service {
	s.secrets = o
	return s
}

// Check decides a presentation without acting on it.
func (s *Service) Check(p gate.Presentation) (Outcome, error) {
	now := s.clock.Now()
	var f Facts
	var o Outcome
	// Never waiting for a command being committed: it is not acknowledged
	// yet, and under load the wait was the decision's tail (store/now.go).
	err := store.ViewNow(s.db, func(r *store.Reader) error {
		var err error
		f, o, err = gather(r, s.out, p, now, s.loc, s.verifier, s.secrets)
		return err
	})
	if err != nil {
		return o, err
	}
	if f.IsVisitor {
		f.Grace = s.VisitorGrace()
	}
	o.Decision = Decide(f)
	return o, nil
}

// SetVisitorGrace sets how early before its window and how late after it
// a visitor's pass opens the gates (the site settings; App puts them into
// force when they change).
func (s *Service) SetVisitorGrace(g pass.Grace) { s.grace.Store(&g) }

// VisitorGrace is the grace in force; none until SetVisitorGrace.
func (s *Service) VisitorGrace() pass.Grace {
	if g := s.grace.Load(); g != nil {
		return *g
	}
	return pass.Grace{}
}

// Decide decides a presentation, records it as an event and, when it is
// granted, the passage (presence, use counts, the visit's in/out) in the
// same command, then answers. The lane opens once that command is
// committed; its fsync follows at once, without the lane waiting for it.
func (s *Service) Decide(ctx context.Context, p gate.Presentation) (gate.Action, error) {
	if s.obs == nil {
		return s.decide(ctx, p)
	}
	// The machine's monotonic clock, not the injected one: this measures
	// the appliance, not the day.
	start := time.Now()
	a, err := s.decide(ctx, p)
	s.obs.Decided(p.Lane, a, err, time.Since(start))
	return a, err
}

func (s *Service) decide(ctx context.Context, p gate.Presentation) (gate.Action, error) {
	o, err := s.Check(p)
	if err != nil {
		return gate.Action{Feedback: gate.Deny, Reason: "error"}, err
	}
	now := s.clock.Now()
	entry := p.Direction != gate.Out
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	ev := eventPayload{Time: now.UnixNano(), Lane: p.Lane, Entry: entry, Kind: kindByte(p.Kind), Grant: o.Grant,
		Reason: o.Reason, Alarm: o.Alarm, CredID: o.CredID, Holder: o.Holder, Rand: binary.BigEndian.Uint32(rnd[:])}
	if o.Alarm != NoAlarm {
		ev.Name = o.Name
	}
	if o.Grant {
		ev.ZoneID, ev.Day = o.Lane.ZoneID, now.In(s.loc).Format("2006-01-02")
		if o.VisitID != "" && s.visits != nil {
			ev.Visit, ev.LaneName = o.VisitID, o.Lane.Name
		}
	}
	if s.out != nil {
		// The lobby's journal: the lane opens once the event is written
		// there; it reaches the store (the site) from Ship.
		ev.Dev = p.Device
		if err := s.out.add(ev); err != nil {
			return gate.Action{Feedback: gate.Deny, Reason: "error"}, err
		}
		o.Lobby = s.out.name()
		return s.answer(o, ev, now), nil
	}
	// One command: the event, the passage and a visitor's move. The
	// lane opens once it is committed — what the next decision reads —
	// without waiting for the disk; the store syncs it at once, shared
	// with whatever else is being written (docs/decisions.md, "The gate
	// does not wait on the disk").
	res, err := store.IssueAsync(ctx, s.db, CmdEvent, "device:"+p.Device, now, ev)
	if err != nil {
		return gate.Action{Feedback: gate.Deny, Reason: "error"}, err
	}
	if res.Note == noteVisitIn {
		// The host hears of the arrival; the lane does not wait for
		// that notification's own write.
		go s.visits.Entered(context.WithoutCancel(ctx), o.VisitID)
	}
	return s.answer(o, ev, now), nil
}

// answer tells the live feed and the door watch of a recorded decision and
// makes the lane's action.
func (s *Service) answer(o Outcome, ev eventPayload, now time.Time) gate.Action {
	if s.onEvent != nil {
		s.onEvent(o, ev.event())
	}
	if !o.Grant {
		return gate.Action{Feedback: gate.Deny, Reason: string(o.Reason)}
	}
	s.doors.granted(ev.Lane, now)
	a := gate.Action{Open: true, Pulse: time.Duration(o.Lane.PulseMs) * time.Millisecond, Feedback: gate.Grant, Reason: string(o.Reason)}
	if o.Lane.Kind == LaneElevator {
		a.Floors, a.Release = o.Floors, o.Lane.Release()
	}
	return a
}

func kindByte(k gate.CredentialKind) byte {
	switch k {
	case gate.Card:
		return 'c'
	case gate.QR:
		return 'q'
	case gate.PIN:
		return 'p'
	case gate.Face:
		return 'f'
	}
	return '?'
}

// OnEvent registers a listener for every decision (the guard station's
// live feed). It must not block.
func (s *Service) OnEvent(f func(Outcome, Event)) { s.onEvent = f }
