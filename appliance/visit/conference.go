package visit

// Conferences (大会人员). An organiser hands reception the attendee list;
// reception registers it in one step and every attendee becomes an
// approved visit of mode Conference with its own pass, hosted by the
// organiser's host employee, valid for the meeting's window. The meeting's
// end closes the passes (CloseEnded, run by a sweeper).
//
// A list is all or nothing, like the employee import of appliance/directory:
// it is parsed and checked whole first (every bad row named by its line,
// nothing written), and the visits are built outside any transaction
// (personal data sealed, IDs, link tokens and pass IDs drawn). Because one
// Badger transaction is bounded (store/DESIGN.md), they are then staged in
// chunks of at most registerChunk visits that nothing reads; a commit
// command re-checks every staged row against the store as it is at that
// moment and marks the batch committed; apply commands move the chunks into
// visits, each through the visit package's own create handler so that a
// conference visit has exactly the indexes of any other visit. After a
// crash, Recover finishes committed batches and throws away uncommitted
// ones. One batch is committed at a time: a second registration waits
// (ErrRegistrationRunning) so that two lists cannot both add one mobile.
//
// The audit trail has one entry per chunk ("conference.apply: 500
// attendees"), not one per attendee; each visit's own history still says
// who registered it and when.
//
// When the meeting is over, attendees who came (in or out) are closed and
// attendees who never came become no-shows — DOMAIN.md's rule for an
// approved visit nobody used, so the result does not depend on whether this
// sweep or a general no-show sweep reaches a visit first. Either way the
// pass is dead.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"gatehouse/appliance/cpu"
	"slices"
	"strings"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/screen"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

// Conference errors.
var (
	// ErrConferenceEnded means the meeting is over (or its passes have
	// been closed): nobody can be registered any more.
	ErrConferenceEnded = errors.New("visit: the conference has ended")
	// ErrRegistrationRunning means another attendee list is being written.
	ErrRegistrationRunning = errors.New("visit: another attendee list is being registered")
)

// Conference command types.
const (
	CmdConferenceCreate  = "conference.create"
	CmdConferenceStage   = "conference.stage"
	CmdConferenceCommit  = "conference.commit"
	CmdConferenceApply   = "conference.apply"
	CmdConferenceDiscard = "conference.discard"
	CmdConferenceClose   = "conference.close"
)

// Limits of conferences.
const (
	MaxConferenceName  = 100
	MaxPlace           = 64
	MaxConferenceLen   = 7 * 24 * time.Hour // a meeting of up to a week
	MaxAttendees       = 5000               // rows of one list
	maxAttendeeCompany = 100
	registerChunk      = 500 // visits per transaction: ≈0.7 MB, well inside Badger's bound
	maxListErrors      = 100
)

// Meeting is a conference: one meeting whose attendees reception registers in bulk.
type Meeting struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Place     string `json:"place,omitempty"` // room or hall, printed on the passes
	HostID    string `json:"host_id"`         // the organiser's host employee
	CompanyID string `json:"company_id"`      // the host's, when created
	FloorID   string `json:"floor_id"`
	From      int64  `json:"from"` // the meeting, Unix ns: the passes' window
	Until     int64  `json:"until"`
	CreatedBy string `json:"created_by"`
	Created   int64  `json:"created"`
	Attendees int    `json:"attendees"`
	Closed    int64  `json:"closed,omitempty"` // when the meeting's end closed its passes
}

// Window returns the meeting's window as times.
func (c Meeting) Window() (time.Time, time.Time) {
	return time.Unix(0, c.From), time.Unix(0, c.Until)
}

// Ended reports whether the meeting is over at now.
func (c Meeting) Ended(now time.Time) bool { return c.Closed != 0 || now.UnixNano() >= c.Until }

// MeetingInput is a new conference as reception types it.
type MeetingInput struct {
	Name   string
	Place  string
	HostID string
	From   time.Time
	Until  time.Time
}

// CheckMeeting validates a new conference's own fields; now bounds the
// window (it may have begun, but not ended).
func CheckMeeting(in *MeetingInput, now time.Time) field.Errors {
	var es field.Errors
	in.Name = es.Text("name", in.Name, true, MaxConferenceName)
	in.Place = es.Text("place", in.Place, false, MaxPlace)
	if !store.ValidID(in.HostID) {
		es.Add("host_id", "required")
	}
	switch {
	case in.From.IsZero():
		es.Add("from", "required")
	case in.Until.IsZero():
		es.Add("until", "required")
	case !in.Until.After(in.From):
		es.Add("until", "window_inverted")
	case in.Until.Sub(in.From) > MaxConferenceLen:
		es.Add("until", "conference_too_long")
	case !in.Until.After(now):
		es.Add("until", "window_past")
	case in.From.Sub(now) > MaxAhead:
		es.Add("from", "window_too_far")
	}
	return es
}

// Attendee is one row of an attendee list, in clear.
type Attendee struct {
	Line    int
	Name    string
	Mobile  string
	Company string
	Title   string // courtesy title: 先生, 女士, Mr, Ms, Mrs, Dr
}

// Registration is what registering a list did.
type Registration struct {
	Registered int
	Flagged    int // attendees let through but flagged to the guard by screening
}

// RegisterConference installs the conference command handlers.
func RegisterConference(reg store.Registrar) {
	reg.Register(CmdConferenceCreate, applyConferenceCreate)
	reg.Register(CmdConferenceStage, applyConferenceStage)
	reg.Register(CmdConferenceCommit, applyConferenceCommit)
	reg.Register(CmdConferenceApply, applyConferenceApply)
	reg.Register(CmdConferenceDiscard, applyConferenceDiscard)
	reg.Register(CmdConferenceClose, applyConferenceClose)
}

// ---- handlers ------------------------------------------------------------

type confRow struct {
	Line  int   `json:"line"`
	Visit Visit `json:"visit"`
}

type confStagePayload struct {
	Batch      string    `json:"batch"`
	Conference string    `json:"conference"`
	Seq        int       `json:"seq"`
	Rows       []confRow `json:"rows"`
}

// confBatch is a committed registration; it is also the commit payload.
type confBatch struct {
	Batch      string `json:"batch"`
	Conference string `json:"conference"`
	Chunks     int    `json:"chunks"`
	Rows       int    `json:"rows"`
}

type confBatchPayload struct {
	Batch string `json:"batch"`
	Seq   int    `json:"seq,omitempty"`
}

type confClosePayload struct {
	Conference string   `json:"conference"`
	Visits     []string `json:"visits"`
	Final      bool     `json:"final"` // the last chunk: mark the conference closed
}

func conferenceKey(id string) []byte { return store.Key(store.KindConference, id) }

func getConference(r *store.Reader, id string) (Meeting, error) {
	var c Meeting
	if !store.ValidID(id) {
		return c, ErrNotFound
	}
	err := r.GetJSON(conferenceKey(id), &c)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return c, err
}

func conferenceStageKey(batch string, seq int) []byte {
	return store.Key(store.KindConferenceStage, batch, fmt.Sprintf("%08d", seq))
}

// confHost checks that id is an active employee who may receive visitors,
// as the visit create handler does.
func confHost(r *store.Reader, id string) (directory.Person, error) {
	host, err := directory.GetPerson(r, id)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		return host, err
	}
	if err != nil || !host.Active || !host.CanHost || host.Kind != directory.Employee {
		return host, field.Errors{{Field: "host_id", Code: "not_a_host"}}
	}
	return host, nil
}

func applyConferenceCreate(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var c Meeting
	if err := cmd.Decode(&c); err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	c.Name = es.Text("name", c.Name, true, MaxConferenceName)
	c.Place = es.Text("place", c.Place, false, MaxPlace)
	if len(es) > 0 {
		return store.Effect{}, es
	}
	if !store.ValidID(c.ID) || c.Until <= c.From || c.From <= 0 {
		return store.Effect{}, fmt.Errorf("%w: malformed conference", field.ErrInvalid)
	}
	if ok, err := tx.Has(conferenceKey(c.ID)); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("%w: conference %s exists", field.ErrInvalid, c.ID)
		}
		return store.Effect{}, err
	}
	host, err := confHost(&tx.Reader, c.HostID)
	if err != nil {
		return store.Effect{}, err
	}
	c.CompanyID, c.FloorID = host.CompanyID, host.FloorID
	c.CreatedBy, c.Created, c.Attendees, c.Closed = cmd.Actor, cmd.Time, 0, 0
	if err := tx.Set(store.Key(store.KindConferenceByTime, u64s(c.From), c.ID), nil); err != nil {
		return store.Effect{}, err
	}
	if err := tx.Set(store.Key(store.KindConferenceOpen, u64s(c.Until), c.ID), nil); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "conference:" + c.ID, Note: "created"}, tx.SetJSON(conferenceKey(c.ID), c)
}

func confBatchCommitted(r *store.Reader, batch string) (bool, error) {
	return r.Has(store.Key(store.KindConferenceBatch, batch))
}

// pendingConfBatches lists committed registrations not yet fully written.
func pendingConfBatches(r *store.Reader) ([]confBatch, error) {
	var out []confBatch
	err := r.Scan(store.Prefix(store.KindConferenceBatch), store.ScanOptions{}, func(_, v []byte) (bool, error) {
		var b confBatch
		if err := json.Unmarshal(v, &b); err != nil {
			return false, err
		}
		out = append(out, b)
		return true, nil
	})
	return out, err
}

func applyConferenceStage(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p confStagePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(p.Batch) || !store.ValidID(p.Conference) || p.Seq < 0 || len(p.Rows) == 0 || len(p.Rows) > registerChunk {
		return store.Effect{}, fmt.Errorf("%w: malformed attendee chunk", field.ErrInvalid)
	}
	if ok, err := confBatchCommitted(&tx.Reader, p.Batch); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("%w: batch %s already committed", field.ErrInvalid, p.Batch)
		}
		return store.Effect{}, err
	}
	for _, row := range p.Rows {
		if row.Visit.Conference != p.Conference {
			return store.Effect{}, fmt.Errorf("%w: attendee of another conference", field.ErrInvalid)
		}
	}
	if err := tx.SetJSON(conferenceStageKey(p.Batch, p.Seq), p.Rows); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "conference:" + p.Conference, Note: fmt.Sprintf("staged chunk %d, %d attendees", p.Seq, len(p.Rows))}, nil
}

func confChunks(r *store.Reader, batch string, fn func(seq int, rows []confRow) (bool, error)) error {
	return r.Scan(store.Prefix(store.KindConferenceStage, batch), store.ScanOptions{}, func(k, v []byte) (bool, error) {
		var rows []confRow
		if err := json.Unmarshal(v, &rows); err != nil {
			return false, err
		}
		var seq int
		if _, err := fmt.Sscanf(string(k[len(k)-8:]), "%d", &seq); err != nil {
			return false, fmt.Errorf("visit: bad stage key: %w", err)
		}
		return fn(seq, rows)
	})
}

// checkConfRow re-checks one staged visit against the conference and the
// store; seen holds the IDs and mobiles already in the batch.
func checkConfRow(r *store.Reader, c Meeting, row confRow, seen map[string]int) (field.Errors, error) {
	v := row.Visit
	if v.Mode != Conference || v.State != Approved || v.Conference != c.ID || v.HostID != c.HostID ||
		v.From != c.From || v.Until != c.Until || !store.ValidID(v.ID) || !store.ValidID(v.PassID) ||
		len(v.LinkHash) != 64 || strings.ContainsRune(v.Visitor.MobileBlind, store.Sep) {
		return nil, fmt.Errorf("%w: malformed attendee visit", field.ErrInvalid)
	}
	var es field.Errors
	add := func(fieldName, code, arg string) {
		es = append(es, field.Error{Line: row.Line, Field: fieldName, Code: code, Arg: arg})
	}
	for _, k := range []string{"v" + v.ID, "p" + v.PassID, "l" + v.LinkHash} {
		if _, dup := seen[k]; dup {
			return nil, fmt.Errorf("%w: an ID is used twice in one list", field.ErrInvalid)
		}
		seen[k] = row.Line
	}
	// An attendee without a mobile (a printed pass only) has nothing to
	// be a duplicate of.
	noMobile := v.Visitor.MobileBlind == ""
	if first, dup := seen["m"+v.Visitor.MobileBlind]; dup && !noMobile {
		add("mobile", "duplicate_in_list", fmt.Sprint(first))
	} else if !noMobile {
		seen["m"+v.Visitor.MobileBlind] = row.Line
	}
	for _, k := range [][]byte{visitKey(v.ID), store.Key(store.KindPass, v.PassID), store.Key(store.KindVisitByLink, v.LinkHash)} {
		if ok, err := r.Has(k); err != nil {
			return nil, err
		} else if ok {
			return nil, fmt.Errorf("%w: visit, pass or link of the list exists", field.ErrInvalid)
		}
	}
	if noMobile {
		return es, nil
	}
	if ok, err := r.Has(store.Key(store.KindConferenceMobile, c.ID, v.Visitor.MobileBlind)); err != nil {
		return nil, err
	} else if ok {
		add("mobile", "already_registered", "")
	}
	return es, nil
}

func applyConferenceCommit(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p confBatch
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(p.Batch) {
		return store.Effect{}, fmt.Errorf("%w: malformed batch", field.ErrInvalid)
	}
	c, err := getConference(&tx.Reader, p.Conference)
	if err != nil {
		return store.Effect{}, err
	}
	if c.Ended(time.Unix(0, cmd.Time)) {
		return store.Effect{}, ErrConferenceEnded
	}
	if pending, err := pendingConfBatches(&tx.Reader); err != nil || len(pending) > 0 {
		if err == nil {
			err = ErrRegistrationRunning
		}
		return store.Effect{}, err
	}
	if _, err := confHost(&tx.Reader, c.HostID); err != nil {
		return store.Effect{}, err
	}
	chunks, rows := 0, 0
	seen := map[string]int{}
	var es field.Errors
	err = confChunks(&tx.Reader, p.Batch, func(_ int, staged []confRow) (bool, error) {
		chunks++
		rows += len(staged)
		for _, row := range staged {
			rowErrs, err := checkConfRow(&tx.Reader, c, row, seen)
			if err != nil {
				return false, err
			}
			if len(es) < maxListErrors {
				es = append(es, rowErrs...)
			}
		}
		return true, nil
	})
	if err != nil {
		return store.Effect{}, err
	}
	if chunks != p.Chunks || rows != p.Rows || rows == 0 {
		return store.Effect{}, fmt.Errorf("%w: batch %s has %d chunks/%d rows staged, commit says %d/%d",
			field.ErrInvalid, p.Batch, chunks, rows, p.Chunks, p.Rows)
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	if err := tx.SetJSON(store.Key(store.KindConferenceBatch, p.Batch), p); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "conference:" + c.ID, Note: fmt.Sprintf("committed %d attendees", rows)}, nil
}

func applyConferenceApply(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p confBatchPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(p.Batch) {
		return store.Effect{}, fmt.Errorf("%w: malformed batch", field.ErrInvalid)
	}
	var b confBatch
	if err := tx.GetJSON(store.Key(store.KindConferenceBatch, p.Batch), &b); err != nil {
		return store.Effect{}, fmt.Errorf("visit: attendee batch %s not committed: %w", p.Batch, err)
	}
	var rows []confRow
	if err := tx.GetJSON(conferenceStageKey(p.Batch, p.Seq), &rows); err != nil {
		return store.Effect{}, fmt.Errorf("visit: attendee batch %s chunk %d: %w", p.Batch, p.Seq, err)
	}
	c, err := getConference(&tx.Reader, b.Conference)
	if err != nil {
		return store.Effect{}, err
	}
	for _, row := range rows {
		// The visit package's own handler writes the visit and its
		// indexes, so conference visits are like every other visit.
		payload, err := json.Marshal(row.Visit)
		if err != nil {
			return store.Effect{}, err
		}
		create := store.Command{Type: CmdCreate, Actor: cmd.Actor, Time: cmd.Time, Payload: payload}
		if _, err := applyCreate(tx, create); err != nil {
			return store.Effect{}, fmt.Errorf("visit: attendee on line %d: %w", row.Line, err)
		}
		if err := tx.Set(store.Key(store.KindConferenceVisit, c.ID, row.Visit.ID), nil); err != nil {
			return store.Effect{}, err
		}
		if row.Visit.Visitor.MobileBlind == "" {
			continue
		}
		if err := tx.Set(store.Key(store.KindConferenceMobile, c.ID, row.Visit.Visitor.MobileBlind), []byte(row.Visit.ID)); err != nil {
			return store.Effect{}, err
		}
	}
	c.Attendees += len(rows)
	if err := tx.SetJSON(conferenceKey(c.ID), c); err != nil {
		return store.Effect{}, err
	}
	if err := tx.Delete(conferenceStageKey(p.Batch, p.Seq)); err != nil {
		return store.Effect{}, err
	}
	// Deletes inside this transaction are visible to it: the batch
	// record goes with the last chunk.
	left := 0
	if err := confChunks(&tx.Reader, p.Batch, func(int, []confRow) (bool, error) { left++; return false, nil }); err != nil {
		return store.Effect{}, err
	}
	if left == 0 {
		if err := tx.Delete(store.Key(store.KindConferenceBatch, p.Batch)); err != nil {
			return store.Effect{}, err
		}
	}
	return store.Effect{Subject: "conference:" + c.ID, Note: fmt.Sprintf("chunk %d: %d attendees", p.Seq, len(rows))}, nil
}

func applyConferenceDiscard(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p confBatchPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(p.Batch) {
		return store.Effect{}, fmt.Errorf("%w: malformed batch", field.ErrInvalid)
	}
	if ok, err := confBatchCommitted(&tx.Reader, p.Batch); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("visit: attendee batch %s is committed and cannot be discarded", p.Batch)
		}
		return store.Effect{}, err
	}
	var keys [][]byte
	err := tx.Scan(store.Prefix(store.KindConferenceStage, p.Batch), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		keys = append(keys, bytes.Clone(k))
		return true, nil
	})
	if err != nil {
		return store.Effect{}, err
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return store.Effect{}, err
		}
	}
	return store.Effect{Subject: "batch:" + p.Batch, Note: "discarded"}, nil
}

func applyConferenceClose(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p confClosePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if len(p.Visits) > registerChunk {
		return store.Effect{}, fmt.Errorf("%w: too many visits in one close", field.ErrInvalid)
	}
	c, err := getConference(&tx.Reader, p.Conference)
	if err != nil {
		return store.Effect{}, err
	}
	if cmd.Time < c.Until {
		return store.Effect{}, fmt.Errorf("%w: the meeting is not over", ErrTransition)
	}
	n := 0
	for _, id := range p.Visits {
		if !store.ValidID(id) {
			return store.Effect{}, fmt.Errorf("%w: malformed visit id", field.ErrInvalid)
		}
		v, err := get(&tx.Reader, id)
		if err != nil {
			return store.Effect{}, err
		}
		if v.Conference != c.ID {
			return store.Effect{}, fmt.Errorf("%w: visit %s is not an attendee", field.ErrInvalid, id)
		}
		var ev Event
		switch v.State {
		case Approved:
			ev = EvNoShow
		case In, Out:
			ev = EvClose
		default:
			continue // moved on since the sweep listed it
		}
		payload, err := json.Marshal(eventPayload{ID: id, Note: "meeting ended"})
		if err != nil {
			return store.Effect{}, err
		}
		if _, err := applyEvent(tx, store.Command{Type: CmdFor(ev), Actor: cmd.Actor, Time: cmd.Time, Payload: payload}); err != nil {
			return store.Effect{}, err
		}
		n++
	}
	note := fmt.Sprintf("%d passes closed", n)
	if p.Final && c.Closed == 0 {
		pending, err := pendingConfBatches(&tx.Reader)
		if err != nil {
			return store.Effect{}, err
		}
		// A list committed just before the end is still being written:
		// the next sweep closes the conference.
		if !slices.ContainsFunc(pending, func(b confBatch) bool { return b.Conference == c.ID }) {
			c.Closed = cmd.Time
			if err := tx.Delete(store.Key(store.KindConferenceOpen, u64s(c.Until), c.ID)); err != nil {
				return store.Effect{}, err
			}
			if err := tx.SetJSON(conferenceKey(c.ID), c); err != nil {
				return store.Effect{}, err
			}
			note += ", conference closed"
		}
	}
	return store.Effect{Subject: "conference:" + c.ID, Note: note}, nil
}

// ---- views ---------------------------------------------------------------

// GetConference returns one conference.
func GetConference(r *store.Reader, id string) (Meeting, error) { return getConference(r, id) }

// ListConferences lists conferences, the latest meeting first.
func ListConferences(r *store.Reader, limit int) ([]Meeting, error) {
	var out []Meeting
	err := r.Scan(store.Prefix(store.KindConferenceByTime), store.ScanOptions{KeysOnly: true, Reverse: true}, func(k, _ []byte) (bool, error) {
		if len(k) < 26 {
			return true, nil
		}
		c, err := getConference(r, string(k[len(k)-16:]))
		if err != nil {
			return false, err
		}
		out = append(out, c)
		return limit == 0 || len(out) < limit, nil
	})
	return out, err
}

// ConferenceVisits lists a conference's attendee visits in list order.
func ConferenceVisits(r *store.Reader, id string) ([]Visit, error) {
	var out []Visit
	err := r.Scan(store.Prefix(store.KindConferenceVisit, id), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		v, err := get(r, string(k[len(k)-16:]))
		if err != nil {
			return false, err
		}
		out = append(out, v)
		return true, nil
	})
	return out, err
}

// ---- the service ---------------------------------------------------------

// Conferences issues conference commands and reads conferences.
type Conferences struct {
	db     store.DB
	clock  clock.Clock
	keys   *secret.Keys
	screen Screener
}

// NewConferences returns the conference service. The keys seal attendees'
// mobiles and sign their passes.
func NewConferences(db store.DB, c clock.Clock, keys *secret.Keys) *Conferences {
	return &Conferences{db: db, clock: c, keys: keys}
}

// WithScreener makes registration screen every attendee: a blacklisted
// mobile refuses the list (naming the line), a weaker match lets the
// attendee through flagged; either alerts the guard desk.
func (s *Conferences) WithScreener(sc Screener) *Conferences {
	s.screen = sc
	return s
}

func (s *Conferences) issue(ctx context.Context, typ, actor string, payload any) error {
	_, err := store.Issue(ctx, s.db, typ, actor, s.clock.Now(), payload)
	return err
}

// Create records a new conference.
func (s *Conferences) Create(ctx context.Context, actor string, in MeetingInput) (Meeting, error) {
	now := s.clock.Now()
	if es := CheckMeeting(&in, now); len(es) > 0 {
		return Meeting{}, es
	}
	c := Meeting{ID: store.NewID(now), Name: in.Name, Place: in.Place, HostID: in.HostID,
		From: in.From.UnixNano(), Until: in.Until.UnixNano()}
	if err := s.issue(ctx, CmdConferenceCreate, actor, c); err != nil {
		return Meeting{}, err
	}
	return s.Get(c.ID)
}

// Get returns one conference.
func (s *Conferences) Get(id string) (c Meeting, err error) {
	err = s.db.View(func(r *store.Reader) error { c, err = getConference(r, id); return err })
	return c, err
}

// List lists conferences, the latest meeting first.
func (s *Conferences) List(limit int) (cs []Meeting, err error) {
	err = s.db.View(func(r *store.Reader) error { cs, err = ListConferences(r, limit); return err })
	return cs, err
}

// Attendees lists a conference's attendee visits in list order.
func (s *Conferences) Attendees(id string) (vs []Visit, err error) {
	err = s.db.View(func(r *store.Reader) error {
		if _, err := getConference(r, id); err != nil {
			return err
		}
		vs, err = ConferenceVisits(r, id)
		return err
	})
	return vs, err
}

// drawIDs draws n distinct IDs; many are drawn in one millisecond, where
// 32 random bits could repeat.
func drawIDs(now time.Time, n int) []string {
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for len(out) < n {
		id := store.NewID(now)
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Register parses and checks an attendee list and registers every
// attendee of conferenceID with a pass, or none: field.Errors name the bad
// rows by line.
func (s *Conferences) Register(ctx context.Context, actor, conferenceID string, list []byte) (Registration, error) {
	release, err := cpu.Heavy(ctx)
	if err != nil {
		return Registration{}, err
	}
	defer release()
	now := s.clock.Now()
	c, err := s.Get(conferenceID)
	if err != nil {
		return Registration{}, err
	}
	if c.Ended(now) {
		return Registration{}, ErrConferenceEnded
	}
	as, err := ParseAttendees(list)
	if err != nil {
		return Registration{}, err
	}
	rows, flagged, err := s.build(ctx, c, as, now)
	if err != nil {
		return Registration{}, err
	}
	if err := s.write(ctx, actor, c, rows); err != nil {
		return Registration{}, err
	}
	reg := Registration{Registered: len(rows), Flagged: len(flagged)}
	for _, h := range flagged {
		if err := s.screen.RecordHit(ctx, h); err != nil {
			return reg, err
		}
	}
	return reg, nil
}

// build seals, screens and checks the attendees against those already
// registered, and draws their IDs.
func (s *Conferences) build(ctx context.Context, c Meeting, as []Attendee, now time.Time) ([]confRow, []screen.Hit, error) {
	// Visit IDs are drawn in one go and handed out in sorted order, so the
	// attendee index keeps the list's order.
	ids := drawIDs(now, len(as))
	slices.Sort(ids)
	passIDs := drawIDs(now, len(as))
	rows := make([]confRow, len(as))
	var es field.Errors
	var blocked, flagged []screen.Hit
	err := s.db.View(func(r *store.Reader) error {
		for i, a := range as {
			var sealed, blind string
			var err error
			if a.Mobile != "" { // no mobile: a printed pass, nothing to seal
				if sealed, err = s.keys.Seal(a.Mobile); err != nil {
					return err
				}
				blind = s.keys.Blind("mobile", a.Mobile)
			}
			v := Visit{ID: ids[i], Mode: Conference, State: Approved, PartySize: 1, HostID: c.HostID,
				Reason: c.Name, From: c.From, Until: c.Until, LinkHash: LinkHash(newLinkToken()),
				PassID: passIDs[i], Conference: c.ID,
				Visitor: Visitor{Name: a.Name, Title: a.Title, MobileSealed: sealed, MobileBlind: blind,
					MobileMasked: MaskMobile(a.Mobile), Company: a.Company}}
			if blind != "" {
				if ok, err := r.Has(store.Key(store.KindConferenceMobile, c.ID, blind)); err != nil {
					return err
				} else if ok && len(es) < maxListErrors {
					es = append(es, field.Error{Line: a.Line, Field: "mobile", Code: "already_registered"})
				}
			}
			if s.screen != nil {
				verdict, err := s.screen.Screen(screen.Subject{Name: v.Visitor.Name, MobileBlind: v.Visitor.MobileBlind})
				if err != nil {
					return err
				}
				if verdict.Alert {
					h := screen.Hit{EntryID: verdict.EntryID, Blocked: verdict.Block, Name: v.Visitor.Name, Where: "conference"}
					if verdict.Block {
						blocked = append(blocked, h)
						if len(es) < maxListErrors {
							es = append(es, field.Error{Line: a.Line, Field: "mobile", Code: "screen_blocked"})
						}
					} else {
						v.Flag, h.VisitID = verdict.Reason, v.ID
						flagged = append(flagged, h)
					}
				}
			}
			rows[i] = confRow{Line: a.Line, Visit: v}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(es) > 0 {
		// A blacklisted attendee alerts the guard desk even though the
		// list is refused.
		for _, h := range blocked {
			if err := s.screen.RecordHit(ctx, h); err != nil {
				return nil, nil, err
			}
		}
		slices.SortStableFunc(es, func(a, b field.Error) int { return a.Line - b.Line })
		return nil, nil, es
	}
	return rows, flagged, nil
}

// write stages, commits and applies the rows. Until the commit nothing is
// visible and a failure discards the stage; after it, the batch is
// finished here or, after a crash, by Recover.
func (s *Conferences) write(ctx context.Context, actor string, c Meeting, rows []confRow) error {
	batch := store.NewID(s.clock.Now())
	chunks := 0
	for start := 0; start < len(rows); start += registerChunk {
		end := min(start+registerChunk, len(rows))
		p := confStagePayload{Batch: batch, Conference: c.ID, Seq: chunks, Rows: rows[start:end]}
		if err := s.issue(ctx, CmdConferenceStage, actor, p); err != nil {
			s.discard(actor, batch)
			return err
		}
		chunks++
	}
	if err := s.issue(ctx, CmdConferenceCommit, actor, confBatch{Batch: batch, Conference: c.ID, Chunks: chunks, Rows: len(rows)}); err != nil {
		s.discard(actor, batch)
		return err
	}
	// Committed: finish even if the request that asked has gone away.
	ctx = context.WithoutCancel(ctx)
	for seq := 0; seq < chunks; seq++ {
		if err := s.issue(ctx, CmdConferenceApply, actor, confBatchPayload{Batch: batch, Seq: seq}); err != nil {
			return fmt.Errorf("visit: writing attendees (Recover finishes it): %w", err)
		}
	}
	return nil
}

func (s *Conferences) discard(actor, batch string) {
	// Best effort: Recover discards whatever this leaves.
	_ = s.issue(context.Background(), CmdConferenceDiscard, actor, confBatchPayload{Batch: batch})
}

// Recover finishes attendee lists that were committed when the appliance
// stopped and throws away staged lists that were not. Run it at start-up,
// before pages are served.
func (s *Conferences) Recover(ctx context.Context) error {
	var pending []confBatch
	staged := map[string]bool{}
	err := s.db.View(func(r *store.Reader) error {
		var err error
		if pending, err = pendingConfBatches(r); err != nil {
			return err
		}
		return r.Scan(store.Prefix(store.KindConferenceStage), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			if len(k) > 17 {
				staged[string(k[1:17])] = true
			}
			return true, nil
		})
	})
	if err != nil {
		return err
	}
	for _, b := range pending {
		delete(staged, b.Batch)
		var seqs []int
		if err := s.db.View(func(r *store.Reader) error {
			return confChunks(r, b.Batch, func(seq int, _ []confRow) (bool, error) { seqs = append(seqs, seq); return true, nil })
		}); err != nil {
			return err
		}
		for _, seq := range seqs {
			if err := s.issue(ctx, CmdConferenceApply, "system:recover", confBatchPayload{Batch: b.Batch, Seq: seq}); err != nil {
				return fmt.Errorf("visit: finish attendee batch %s: %w", b.Batch, err)
			}
		}
	}
	for batch := range staged {
		if err := s.issue(ctx, CmdConferenceDiscard, "system:recover", confBatchPayload{Batch: batch}); err != nil {
			return fmt.Errorf("visit: discard attendee batch %s: %w", batch, err)
		}
	}
	return nil
}

// CloseEnded closes the passes of every conference whose meeting ended by
// now: attendees who came are closed, the others become no-shows. It is
// meant for a sweeper and returns how many open attendee passes it found
// and ended. A conference is marked closed once none of its attendees is
// left open.
func (s *Conferences) CloseEnded(ctx context.Context, now time.Time) (int, error) {
	var ended []string
	end := uint64(now.UnixNano())
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindConferenceOpen), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			if len(k) < 26 || binary.BigEndian.Uint64(k[1:9]) > end {
				return false, nil
			}
			ended = append(ended, string(k[len(k)-16:]))
			return true, nil
		})
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, id := range ended {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var open []string
		err := s.db.View(func(r *store.Reader) error {
			vs, err := ConferenceVisits(r, id)
			for _, v := range vs {
				if v.State.PassValid() {
					open = append(open, v.ID)
				}
			}
			return err
		})
		if err != nil {
			return total, err
		}
		for start := 0; ; start += registerChunk {
			part := open[start:min(start+registerChunk, len(open))]
			final := start+registerChunk >= len(open)
			if _, err := store.Issue(ctx, s.db, CmdConferenceClose, "system:conference-end", now,
				confClosePayload{Conference: id, Visits: part, Final: final}); err != nil {
				return total, fmt.Errorf("visit: close conference %s: %w", id, err)
			}
			total += len(part)
			if final {
				break
			}
		}
	}
	return total, nil
}
