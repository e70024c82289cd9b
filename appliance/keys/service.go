package keys

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Authenticator checks the second person's password (auth.Service); wrong
// passwords count towards that account's lock like any sign-in.
type Authenticator interface {
	Authenticate(ctx context.Context, username, pw string) (auth.Account, error)
}

// Alerter is told of each alert the sweep raises, once per checkout and kind.
type Alerter interface {
	KeyAlert(ctx context.Context, kind string, k Key, c Checkout)
}

// Service is the key room.
type Service struct {
	db    store.DB
	clock clock.Clock
	auth  Authenticator
}

// New returns the key room service.
func New(db store.DB, c clock.Clock, a Authenticator) *Service {
	return &Service{db: db, clock: c, auth: a}
}

func actorOf(p Person) string { return "account:" + p.ID }

// RegisterKey adds a key (or a spare, with SpareOf set).
func (s *Service) RegisterKey(ctx context.Context, by Person, k Key) (Key, error) {
	return s.register(ctx, by, k, "")
}

// Replace registers the replacement of the lost key of case caseID, which
// retires the lost key and closes the case.
func (s *Service) Replace(ctx context.Context, by Person, caseID string, k Key) (Key, error) {
	return s.register(ctx, by, k, caseID)
}

func (s *Service) register(ctx context.Context, by Person, k Key, caseID string) (Key, error) {
	now := s.clock.Now()
	k.ID = store.NewID(now)
	if _, err := store.Issue(ctx, s.db, CmdRegister, actorOf(by), now, registerPayload{Key: k, By: by.Name, CaseID: caseID}); err != nil {
		return k, err
	}
	return s.Get(k.ID)
}

// SetPermissions changes which roles and accounts may take a key, on top
// of its level's rule.
func (s *Service) SetPermissions(ctx context.Context, by Person, keyID string, roles, accounts []string) error {
	_, err := store.Issue(ctx, s.db, CmdPermissions, actorOf(by), s.clock.Now(),
		permissionsPayload{KeyID: keyID, Roles: roles, Accounts: accounts, By: by.Name})
	return err
}

// SaveRule sets what a key level demands.
func (s *Service) SaveRule(ctx context.Context, actor string, r Rule) error {
	_, err := store.Issue(ctx, s.db, CmdRule, actor, s.clock.Now(), r)
	return err
}

// Rules lists the rules of every level, lowest first.
func (s *Service) Rules() (rs []Rule, err error) {
	err = s.db.View(func(r *store.Reader) error {
		for l := MinLevel; l <= TopLevel; l++ {
			ru, err := getRule(r, l)
			if err != nil {
				return err
			}
			rs = append(rs, ru)
		}
		return nil
	})
	return rs, err
}

// Rule is one level's rules.
func (s *Service) Rule(level int) (ru Rule, err error) {
	err = s.db.View(func(r *store.Reader) error { ru, err = getRule(r, level); return err })
	return ru, err
}

// Get returns one key.
func (s *Service) Get(id string) (k Key, err error) {
	err = s.db.View(func(r *store.Reader) error { k, err = getKey(r, id); return err })
	return k, err
}

// ByTag finds a key by its tag, in any letter case.
func (s *Service) ByTag(tag string) (k Key, err error) {
	err = s.db.View(func(r *store.Reader) error { k, err = keyByTag(r, tag); return err })
	return k, err
}

// Approval is the second person's sign-in, typed at the cabinet.
type Approval struct {
	Username string
	Password string
}

// approver signs the second person in when the key needs one. A wrong
// password is a field error on the approver.
func (s *Service) approver(ctx context.Context, k Key, a Approval) (*Person, error) {
	if !TwoPerson(k.Level) || strings.TrimSpace(a.Username) == "" {
		return nil, nil
	}
	acc, err := s.auth.Authenticate(ctx, a.Username, a.Password)
	switch {
	case errors.Is(err, auth.ErrLocked):
		return nil, field.Errors{{Field: "approver", Code: "key_approver_locked"}}
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrDisabled):
		return nil, field.Errors{{Field: "approver", Code: "key_approver_bad"}}
	case err != nil:
		return nil, err
	}
	p := PersonOf(acc)
	return &p, nil
}

// CheckoutInput is what the holder types.
type CheckoutInput struct {
	KeyID    string
	Reason   string
	Note     string
	Due      time.Time
	Approval Approval
}

// Checkout hands a key to holder.
func (s *Service) Checkout(ctx context.Context, holder Person, in CheckoutInput) (Checkout, error) {
	k, err := s.Get(in.KeyID)
	if err != nil {
		return Checkout{}, err
	}
	now := s.clock.Now()
	// The store checks these again; here they keep a bad due time from
	// costing the approver a password attempt.
	switch {
	case !in.Due.After(now):
		return Checkout{}, field.Errors{{Field: "due", Code: "key_due_past"}}
	case in.Due.Sub(now) > MaxDue:
		return Checkout{}, field.Errors{{Field: "due", Code: "invalid_date"}}
	}
	ap, err := s.approver(ctx, k, in.Approval)
	if err != nil {
		return Checkout{}, err
	}
	p := checkoutPayload{ID: store.NewID(now), KeyID: k.ID, Holder: holder, Approver: ap, Reason: in.Reason, Note: in.Note,
		Due: in.Due.UnixNano()}
	if _, err := store.Issue(ctx, s.db, CmdCheckout, actorOf(holder), now, p); err != nil {
		return Checkout{}, err
	}
	return s.CheckoutByID(p.ID)
}

// ReturnInput is what the person returning the key types.
type ReturnInput struct {
	KeyID    string
	Slot     string // "" = the key's slot
	Approval Approval
}

// Return puts a key back.
func (s *Service) Return(ctx context.Context, by Person, in ReturnInput) error {
	k, err := s.Get(in.KeyID)
	if err != nil {
		return err
	}
	ap, err := s.approver(ctx, k, in.Approval)
	if err != nil {
		return err
	}
	_, err = store.Issue(ctx, s.db, CmdReturn, actorOf(by), s.clock.Now(), returnPayload{KeyID: k.ID, By: by, Approver: ap, Slot: in.Slot})
	return err
}

// CheckoutByID returns one checkout.
func (s *Service) CheckoutByID(id string) (c Checkout, err error) {
	err = s.db.View(func(r *store.Reader) error {
		c, err = getJSON[Checkout](r, store.KindKeyCheckout, id)
		return err
	})
	return c, err
}

// OpenCheckouts lists the keys out now, soonest due first.
func (s *Service) OpenCheckouts() (cs []Checkout, err error) {
	err = s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindKeyOpen), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			c, err := getJSON[Checkout](r, store.KindKeyCheckout, string(k[1:]))
			if err != nil {
				return false, err
			}
			cs = append(cs, c)
			return true, nil
		})
	})
	slices.SortFunc(cs, func(a, b Checkout) int { return cmp.Compare(a.Due, b.Due) })
	return cs, err
}

// ReportLost starts the lost-key procedure: the key becomes unusable.
func (s *Service) ReportLost(ctx context.Context, by Person, keyID, note string) (Case, error) {
	now := s.clock.Now()
	id := store.NewID(now)
	if _, err := store.Issue(ctx, s.db, CmdLost, actorOf(by), now, lostPayload{KeyID: keyID, CaseID: id, By: by.Name, Note: note}); err != nil {
		return Case{}, err
	}
	return s.Case(id)
}

// Case steps.
const (
	StepNotified    = "notified"
	StepLockChanged = "lock_changed"
)

// CaseStep records that the customer was notified or the lock changed.
func (s *Service) CaseStep(ctx context.Context, by Person, caseID, step, note string) error {
	_, err := store.Issue(ctx, s.db, CmdCaseStep, actorOf(by), s.clock.Now(), stepPayload{CaseID: caseID, Step: step, By: by.Name, Note: note})
	return err
}

// Case returns one lost-key case.
func (s *Service) Case(id string) (c Case, err error) {
	err = s.db.View(func(r *store.Reader) error { c, err = getJSON[Case](r, store.KindKeyCase, id); return err })
	return c, err
}

// CasesOf lists the lost-key cases of a key, oldest first.
func (s *Service) CasesOf(keyID string) ([]Case, error) {
	var out []Case
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindKeyCase), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			var c Case
			if err := json.Unmarshal(v, &c); err != nil {
				return false, err
			}
			if c.KeyID == keyID {
				out = append(out, c)
			}
			return true, nil
		})
	})
	return out, err
}

// History is a key's whole history, oldest first.
func (s *Service) History(keyID string) ([]Event, error) {
	var out []Event
	if !store.ValidID(keyID) {
		return nil, ErrNotFound
	}
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindKeyEvent, keyID), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return false, err
			}
			out = append(out, e)
			return true, nil
		})
	})
	return out, err
}

// EachEvent hands fn every key's history, in the order it was recorded,
// one entry at a time until fn returns false: the history of years of
// checkouts is never held at once. Entries recorded before the order
// index existed are read the old way, all together.
func (s *Service) EachEvent(fn func(Event) bool) error {
	indexed := true
	err := s.db.View(func(r *store.Reader) error {
		b, err := r.Get(store.Key(store.KindKeySeq, "seq"))
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil
		case err != nil:
			return err
		case len(b) == 8 && binary.BigEndian.Uint64(b) > 0:
			indexed, err = r.Has(store.Key(store.KindKeyEventSeq, string(store.U64(1))))
		}
		return err
	})
	if err != nil {
		return err
	}
	if !indexed {
		evs, err := s.AllHistory()
		for _, e := range evs {
			if !fn(e) {
				break
			}
		}
		return err
	}
	return s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindKeyEventSeq), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			var e Event
			if err := r.GetJSON(v, &e); err != nil {
				return false, err
			}
			return fn(e), nil
		})
	})
}

// AllHistory is every key's history, in time order, all in memory (see
// EachEvent).
func (s *Service) AllHistory() ([]Event, error) {
	var out []Event
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindKeyEvent), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return false, err
			}
			out = append(out, e)
			return true, nil
		})
	})
	slices.SortFunc(out, func(a, b Event) int {
		if c := cmp.Compare(a.At, b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	return out, err
}

// Row is a key on the key room page, with its open checkout.
type Row struct {
	Key      Key
	Checkout *Checkout
	Overdue  bool
}

// Search lists keys matching q (tag, customer, unit or holder), overdue
// first, then the keys out by due time, then the rest by tag.
func (s *Service) Search(q string) ([]Row, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	now := s.clock.Now().UnixNano()
	var rows []Row
	err := s.db.View(func(r *store.Reader) error {
		ks, err := allKeys(r)
		if err != nil {
			return err
		}
		for _, k := range ks {
			row := Row{Key: k}
			if k.Checkout != "" {
				c, err := getJSON[Checkout](r, store.KindKeyCheckout, k.Checkout)
				if err != nil {
					return err
				}
				row.Checkout, row.Overdue = &c, c.Due <= now
			}
			if q != "" {
				hay := strings.ToLower(k.Tag + "\x00" + k.Customer + "\x00" + k.Unit)
				if row.Checkout != nil {
					hay += "\x00" + strings.ToLower(row.Checkout.Holder.Name)
				}
				if !strings.Contains(hay, q) {
					continue
				}
			}
			rows = append(rows, row)
		}
		return nil
	})
	slices.SortFunc(rows, func(a, b Row) int {
		rank := func(r Row) int {
			switch {
			case r.Overdue:
				return 0
			case r.Checkout != nil:
				return 1
			}
			return 2
		}
		if c := rank(a) - rank(b); c != 0 {
			return c
		}
		if a.Checkout != nil && b.Checkout != nil {
			return cmp.Compare(a.Checkout.Due, b.Checkout.Due)
		}
		return strings.Compare(a.Key.Tag, b.Key.Tag)
	})
	return rows, err
}

// Spares lists the spares of a key.
func (s *Service) Spares(keyID string) ([]Key, error) {
	var out []Key
	err := s.db.View(func(r *store.Reader) error {
		ks, err := allKeys(r)
		for _, k := range ks {
			if k.SpareOf == keyID {
				out = append(out, k)
			}
		}
		return err
	})
	return out, err
}

// StartAudit begins a count of the keys present (cabinet "" = all).
func (s *Service) StartAudit(ctx context.Context, by Person, cabinet string) (Audit, error) {
	now := s.clock.Now()
	id := store.NewID(now)
	if _, err := store.Issue(ctx, s.db, CmdAuditStart, actorOf(by), now, auditStartPayload{ID: id, Cabinet: cabinet, By: by.Name}); err != nil {
		return Audit{}, err
	}
	return s.Audit(id)
}

// Tick records a key found during an audit; slot "" means where the
// records say (ticked in the list rather than scanned).
func (s *Service) Tick(ctx context.Context, by Person, auditID, tag, slot string) error {
	_, err := store.Issue(ctx, s.db, CmdAuditTick, actorOf(by), s.clock.Now(), tickPayload{ID: auditID, Tag: tag, Slot: slot})
	return err
}

// FinishAudit closes the count and keeps its discrepancy report.
func (s *Service) FinishAudit(ctx context.Context, by Person, auditID string) (Audit, error) {
	if _, err := store.Issue(ctx, s.db, CmdAuditFinish, actorOf(by), s.clock.Now(), idPayload{ID: auditID, By: by.Name}); err != nil {
		return Audit{}, err
	}
	return s.Audit(auditID)
}

// Audit returns one audit.
func (s *Service) Audit(id string) (a Audit, err error) {
	err = s.db.View(func(r *store.Reader) error { a, err = getJSON[Audit](r, store.KindKeyAudit, id); return err })
	return a, err
}

// Audits lists every audit, newest first.
func (s *Service) Audits() ([]Audit, error) {
	var out []Audit
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindKeyAudit), store.ScanOptions{Reverse: true}, func(_, v []byte) (bool, error) {
			var a Audit
			if err := json.Unmarshal(v, &a); err != nil {
				return false, err
			}
			out = append(out, a)
			return true, nil
		})
	})
	return out, err
}

// Sweep raises the overdue, curfew and escalation alerts that open
// checkouts have reached, each once, and tells alert. It returns how
// many it raised.
func (s *Service) Sweep(ctx context.Context, rules SweepRules, alert Alerter) (int, error) {
	cs, err := s.OpenCheckouts()
	if err != nil {
		return 0, err
	}
	rs, err := s.Rules()
	if err != nil {
		return 0, err
	}
	now := s.clock.Now()
	n := 0
	for _, c := range cs {
		k, err := s.Get(c.KeyID)
		if err != nil {
			return n, err
		}
		ru := Rule{Level: k.Level}
		if k.Level >= MinLevel && k.Level <= TopLevel {
			ru = rs[k.Level-MinLevel]
		}
		for _, kind := range DueAlerts(now, c, ru, rules) {
			_, err := store.Issue(ctx, s.db, CmdAlert, "system", now, alertPayload{CheckoutID: c.ID, Kind: kind})
			if errors.Is(err, ErrAlerted) {
				continue
			} else if err != nil {
				return n, err
			}
			n++
			if alert != nil {
				alert.KeyAlert(ctx, kind, k, c)
			}
		}
	}
	return n, nil
}
