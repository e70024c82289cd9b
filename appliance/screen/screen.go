// Package screen is the building's blacklist and whitelist of visitors.
//
// Entries match by mobile, by ID number or by name. The mobile and ID
// number are held only as blind indexes (appliance/secret), never in
// clear. What a match does (DOMAIN.md: a blacklist blocks booking and
// entry and alerts the guard; a whitelist may auto-approve):
//
//   - blacklist by mobile or full ID number: the visit is refused, and the
//     guard desk is alerted;
//   - blacklist by name or by the last six ID characters only: too weak to
//     refuse a stranger who shares a common name, so the visit goes ahead
//     flagged and the guard desk is alerted to check ID at the desk;
//   - whitelist by mobile or ID number: the application is approved at once.
//
// Entries carry a reason and may expire; expired or removed entries match
// nothing but stay on record.
package screen

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

// List is black or white.
type List string

// Lists.
const (
	Black List = "black"
	White List = "white"
)

// ErrNotFound means no such entry.
var ErrNotFound = errors.New("screen: not found")

// Entry is one line of a list.
type Entry struct {
	ID          string `json:"id"`
	List        List   `json:"list"`
	Name        string `json:"name,omitempty"`
	NameKey     string `json:"name_key,omitempty"` // normalised name
	MobileBlind string `json:"mobile_blind,omitempty"`
	MobileMask  string `json:"mobile_mask,omitempty"`
	IDBlind     string `json:"id_blind,omitempty"`  // whole ID number
	ID6Blind    string `json:"id6_blind,omitempty"` // its last six characters
	IDMask      string `json:"id_mask,omitempty"`
	Reason      string `json:"reason"`
	Expires     int64  `json:"expires,omitempty"` // Unix ns; 0 never
	Created     int64  `json:"created"`
	By          string `json:"by"`
	Removed     int64  `json:"removed,omitempty"`
}

// Live reports whether e matches anything at now.
func (e Entry) Live(now time.Time) bool {
	return e.Removed == 0 && (e.Expires == 0 || e.Expires > now.UnixNano())
}

// Command types.
const (
	CmdAdd    = "screen.add"
	CmdRemove = "screen.remove"
	CmdHit    = "screen.hit"
)

// Register installs the handlers.
func Register(reg store.Registrar) {
	reg.Register(CmdAdd, applyAdd)
	reg.Register(CmdRemove, applyRemove)
	reg.Register(CmdHit, applyHit)
}

// Hit is a screening match the guard desk must see.
type Hit struct {
	ID      string `json:"id"`
	EntryID string `json:"entry_id"`
	Blocked bool   `json:"blocked"`
	Name    string `json:"name"`               // the visitor's name as given
	VisitID string `json:"visit_id,omitempty"` // when the visit went ahead flagged
	Where   string `json:"where"`              // booking, desk, kiosk, gate
	At      int64  `json:"at"`
	Acked   int64  `json:"acked,omitempty"`
}

func applyHit(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var h Hit
	if err := cmd.Decode(&h); err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(h.ID) || !store.ValidID(h.EntryID) {
		return store.Effect{}, field.Errors{{Field: "id", Code: "invalid"}}
	}
	h.At = cmd.Time
	note := "flagged"
	if h.Blocked {
		note = "blocked"
	}
	return store.Effect{Subject: "screen:" + h.EntryID, Note: note + " at " + h.Where},
		tx.SetJSON(store.Key(store.KindScreenHit, string(store.U64(uint64(h.At))), h.ID), h)
}

// RecordHit puts a match on record for the guard desk.
func (s *Service) RecordHit(ctx context.Context, h Hit) error {
	h.ID = store.NewID(s.clock.Now())
	_, err := store.Issue(ctx, s.db, CmdHit, "screening", s.clock.Now(), h)
	return err
}

// Hits lists the most recent matches, newest first.
func (s *Service) Hits(limit int) ([]Hit, error) {
	var out []Hit
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindScreenHit), store.ScanOptions{Reverse: true}, func(_, v []byte) (bool, error) {
			var h Hit
			if err := json.Unmarshal(v, &h); err != nil {
				return false, err
			}
			out = append(out, h)
			return len(out) < limit, nil
		})
	})
	return out, err
}

func matchKeys(e Entry) [][]byte {
	var ks [][]byte
	add := func(kind, v string) {
		if v != "" {
			ks = append(ks, store.Key(store.KindScreenByKey, string(e.List), kind, v, e.ID))
		}
	}
	add("name", e.NameKey)
	add("mobile", e.MobileBlind)
	add("id", e.IDBlind)
	add("id6", e.ID6Blind)
	return ks
}

func applyAdd(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var e Entry
	if err := cmd.Decode(&e); err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(e.ID) || (e.List != Black && e.List != White) || len(matchKeys(e)) == 0 {
		return store.Effect{}, field.Errors{{Field: "mobile", Code: "screen_needs_match"}}
	}
	e.Created, e.By = cmd.Time, cmd.Actor
	for _, k := range matchKeys(e) {
		if err := tx.Set(k, nil); err != nil {
			return store.Effect{}, err
		}
	}
	return store.Effect{Subject: "screen:" + e.ID, Note: string(e.List) + "list entry added"},
		tx.SetJSON(store.Key(store.KindScreen, e.ID), e)
}

func applyRemove(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p struct {
		ID string `json:"id"`
	}
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	var e Entry
	if err := tx.GetJSON(store.Key(store.KindScreen, p.ID), &e); errors.Is(err, store.ErrNotFound) {
		return store.Effect{}, ErrNotFound
	} else if err != nil {
		return store.Effect{}, err
	}
	for _, k := range matchKeys(e) {
		if err := tx.Delete(k); err != nil {
			return store.Effect{}, err
		}
	}
	e.Removed = cmd.Time
	return store.Effect{Subject: "screen:" + e.ID, Note: "removed"}, tx.SetJSON(store.Key(store.KindScreen, e.ID), e)
}

// NameKey normalises a name for matching: case and spaces ignored.
func NameKey(name string) string {
	return strings.ToLower(strings.Join(strings.Fields(name), ""))
}

// Verdict is what screening says about a visitor.
type Verdict struct {
	Block       bool   // refuse the visit
	Alert       bool   // tell the guard desk
	AutoApprove bool   // whitelisted
	EntryID     string // the entry that decided, for the alert
	Reason      string
}

// Subject is who is being screened, in blind form.
type Subject struct {
	Name        string
	MobileBlind string
	IDBlind     string // whole ID number, when read at the desk
	ID6Blind    string // last six, from self-service pages
}

// Check screens a visitor against live entries.
func Check(r *store.Reader, s Subject, now time.Time) (Verdict, error) {
	var v Verdict
	find := func(list List, kind, value string) (Entry, bool, error) {
		if value == "" {
			return Entry{}, false, nil
		}
		var found Entry
		ok := false
		err := r.Scan(store.Prefix(store.KindScreenByKey, string(list), kind, value), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			var e Entry
			if err := r.GetJSON(store.Key(store.KindScreen, string(k[len(k)-16:])), &e); err != nil {
				return false, err
			}
			if e.Live(now) {
				found, ok = e, true
				return false, nil
			}
			return true, nil
		})
		return found, ok, err
	}
	for _, m := range []struct {
		kind, value string
		block       bool
	}{{"mobile", s.MobileBlind, true}, {"id", s.IDBlind, true}, {"id6", s.ID6Blind, false}, {"name", NameKey(s.Name), false}} {
		e, ok, err := find(Black, m.kind, m.value)
		if err != nil {
			return v, err
		}
		if ok {
			v.Alert, v.EntryID, v.Reason = true, e.ID, e.Reason
			if m.block {
				v.Block = true
				return v, nil
			}
		}
	}
	if v.Alert {
		return v, nil // flagged visitors are never auto-approved
	}
	for _, m := range []struct{ kind, value string }{{"mobile", s.MobileBlind}, {"id", s.IDBlind}} {
		e, ok, err := find(White, m.kind, m.value)
		if err != nil {
			return v, err
		}
		if ok {
			v.AutoApprove, v.EntryID, v.Reason = true, e.ID, e.Reason
			return v, nil
		}
	}
	return v, nil
}

// Service issues screening commands.
type Service struct {
	db    store.DB
	clock clock.Clock
	keys  *secret.Keys
}

// New returns a screening service.
func New(db store.DB, c clock.Clock, keys *secret.Keys) *Service {
	return &Service{db: db, clock: c, keys: keys}
}

// Input is a new entry in clear, as typed by property staff.
type Input struct {
	List    List
	Name    string
	Mobile  string
	IDNo    string // whole ID number or its last six characters
	Reason  string
	Expires time.Time // zero: never
}

// Add validates and records an entry.
func (s *Service) Add(ctx context.Context, actor string, in Input) (Entry, error) {
	var es field.Errors
	e := Entry{ID: store.NewID(s.clock.Now()), List: in.List}
	if in.List != Black && in.List != White {
		es.Add("list", "invalid")
	}
	e.Name = es.Text("name", in.Name, false, 64)
	e.Reason = es.Text("reason", in.Reason, true, 200)
	mobile := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(in.Mobile))
	idno := strings.ToUpper(strings.TrimSpace(in.IDNo))
	if mobile != "" {
		if len(mobile) < 7 || len(mobile) > 16 || strings.Trim(mobile, "+0123456789") != "" {
			es.Add("mobile", "invalid_mobile")
		}
		e.MobileBlind, e.MobileMask = s.keys.Blind("mobile", mobile), maskTail(mobile, 4)
	}
	if idno != "" {
		switch {
		case strings.Trim(idno, "0123456789X") != "" || (len(idno) != 6 && len(idno) < 8) || len(idno) > 20:
			es.Add("id_no", "invalid_id_no")
		case len(idno) == 6:
			e.ID6Blind = s.keys.Blind("id6", idno)
		default:
			e.IDBlind, e.ID6Blind = s.keys.Blind("id", idno), s.keys.Blind("id6", idno[len(idno)-6:])
		}
		e.IDMask = maskTail(idno, 4)
	}
	if e.Name != "" {
		e.NameKey = NameKey(e.Name)
	}
	if e.Name == "" && mobile == "" && idno == "" {
		es.Add("mobile", "screen_needs_match")
	}
	if in.List == White && mobile == "" && len(idno) <= 6 {
		es.Add("mobile", "white_needs_strong_match")
	}
	if !in.Expires.IsZero() {
		if !in.Expires.After(s.clock.Now()) {
			es.Add("expires", "window_past")
		}
		e.Expires = in.Expires.UnixNano()
	}
	if len(es) > 0 {
		return e, es
	}
	_, err := store.Issue(ctx, s.db, CmdAdd, actor, s.clock.Now(), e)
	return e, err
}

// Remove takes an entry off its list.
func (s *Service) Remove(ctx context.Context, actor, id string) error {
	_, err := store.Issue(ctx, s.db, CmdRemove, actor, s.clock.Now(), map[string]string{"id": id})
	return err
}

// Entries lists every entry, newest first.
func (s *Service) Entries() ([]Entry, error) {
	var out []Entry
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindScreen), store.ScanOptions{Reverse: true}, func(_, v []byte) (bool, error) {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return false, err
			}
			out = append(out, e)
			return true, nil
		})
	})
	return out, err
}

// Screen checks a visitor.
func (s *Service) Screen(sub Subject) (v Verdict, err error) {
	err = s.db.View(func(r *store.Reader) error { v, err = Check(r, sub, s.clock.Now()); return err })
	return v, err
}

func maskTail(s string, keep int) string {
	if len(s) <= keep {
		return s
	}
	return strings.Repeat("*", len(s)-keep) + s[len(s)-keep:]
}
