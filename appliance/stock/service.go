package stock

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Blocker blocks at the gates the credential that carries a lost card's
// number, if there is one, and returns its ID ("" when none).
type Blocker interface {
	BlockLostCard(ctx context.Context, actor, number, note string) (credentialID string, err error)
}

// Service is the card stock.
type Service struct {
	db      store.DB
	clock   clock.Clock
	loc     *time.Location
	blocker Blocker
}

// New returns the card stock service; loc is the building's zone, which
// decides where a day begins.
func New(db store.DB, c clock.Clock, loc *time.Location) *Service {
	if loc == nil {
		loc = time.UTC
	}
	return &Service{db: db, clock: c, loc: loc}
}

// WithBlocker makes lost cards blocked at the gates through b.
func (s *Service) WithBlocker(b Blocker) *Service { s.blocker = b; return s }

func actorOf(p Person) string { return "account:" + p.ID }

func (s *Service) issue(ctx context.Context, typ string, by Person, payload any) error {
	_, err := store.Issue(ctx, s.db, typ, actorOf(by), s.clock.Now(), payload)
	return err
}

// Receive takes new cards into a lobby's stock, in by's custody.
func (s *Service) Receive(ctx context.Context, by Person, lobby string, typ Type, numbers []string, note string) error {
	return s.issue(ctx, CmdReceive, by, receivePayload{By: by, Lobby: lobby, Type: typ, Numbers: numbers, Note: note})
}

// StartHandover lists cards from gives to to; nothing moves until to confirms.
func (s *Service) StartHandover(ctx context.Context, from, to Person, lobby string, numbers []string, note string) (Handover, error) {
	h := Handover{ID: store.NewID(s.clock.Now()), From: from, To: to, Lobby: lobby, Numbers: numbers, Note: note}
	if err := s.issue(ctx, CmdHandoverCreate, from, h); err != nil {
		return h, err
	}
	return s.Handover(h.ID)
}

// Confirm is the receiver's confirmation: custody moves now.
func (s *Service) Confirm(ctx context.Context, by Person, id string) error {
	return s.issue(ctx, CmdHandoverOK, by, handoverPayload{ID: id, By: by})
}

// Cancel withdraws (giver) or declines (receiver) a pending handover.
func (s *Service) Cancel(ctx context.Context, by Person, id string) error {
	return s.issue(ctx, CmdHandoverCancel, by, handoverPayload{ID: id, By: by})
}

// Handover returns one handover.
func (s *Service) Handover(id string) (h Handover, err error) {
	err = s.db.View(func(r *store.Reader) error { h, err = getHandover(r, id); return err })
	return h, err
}

// Handovers lists the handovers personID gives or receives ("" = all), newest first.
func (s *Service) Handovers(personID string, limit int) ([]Handover, error) {
	var out []Handover
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindStockHand), store.ScanOptions{Reverse: true}, func(_, v []byte) (bool, error) {
			var h Handover
			if err := json.Unmarshal(v, &h); err != nil {
				return false, err
			}
			if personID == "" || h.From.ID == personID || h.To.ID == personID {
				out = append(out, h)
			}
			return limit <= 0 || len(out) < limit, nil
		})
	})
	return out, err
}

// Issue gives cards on hand to a card user.
func (s *Service) Issue(ctx context.Context, by Person, numbers []string, usedBy, note string) error {
	return s.issue(ctx, CmdIssue, by, movePayload{By: by, Numbers: numbers, UsedBy: usedBy, Note: note})
}

// Return takes cards back from use into lobby ("" = the lobby each came from).
func (s *Service) Return(ctx context.Context, by Person, lobby string, numbers []string, note string) error {
	return s.issue(ctx, CmdReturn, by, movePayload{By: by, Numbers: numbers, Lobby: lobby, Note: note})
}

// Blocked is a lost card whose credential was blocked at the gates.
type Blocked struct {
	Number     string
	Credential string
}

// WriteOff records cards lost or damaged (op OpLost or OpDamaged). A lost
// card whose number an access credential carries is reported lost there
// too, so the gates refuse it; the returned list says which.
func (s *Service) WriteOff(ctx context.Context, by Person, op string, numbers []string, note string) ([]Blocked, error) {
	if err := s.issue(ctx, CmdWriteOff, by, movePayload{By: by, Numbers: numbers, Op: op, Note: note}); err != nil {
		return nil, err
	}
	if op != OpLost || s.blocker == nil {
		return nil, nil
	}
	var out []Blocked
	for _, n := range numbers {
		n = NormalizeNumber(n)
		id, err := s.block(ctx, by, n, "stock: "+note)
		if err != nil {
			return out, err
		}
		if id != "" {
			out = append(out, Blocked{Number: n, Credential: id})
		}
	}
	return out, nil
}

// block reports lost the credential carrying card n, if one does, and
// records on the card which credential it was.
func (s *Service) block(ctx context.Context, by Person, n, note string) (string, error) {
	id, err := s.blocker.BlockLostCard(ctx, actorOf(by), n, note)
	if err != nil || id == "" {
		return "", err
	}
	return id, s.issue(ctx, CmdBlocked, by, blockedPayload{By: by, Number: n, Credential: id})
}

// BlockPending finishes what WriteOff may have left undone: a card written
// off as lost is recorded first and its credential blocked after, so a crash
// or a failed block in between would leave the card working at the gates.
// The appliance calls it when it starts; it blocks every lost card whose
// credential is not recorded yet (cards no credential carries stay as they
// are) and says how many it blocked.
func (s *Service) BlockPending(ctx context.Context) (int, error) {
	if s.blocker == nil {
		return 0, nil
	}
	var lost []Item
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindStockItem), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			var it Item
			if err := json.Unmarshal(v, &it); err != nil {
				return false, err
			}
			if it.State == LostCard && it.Credential == "" {
				lost = append(lost, it)
			}
			return true, nil
		})
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range lost {
		id, err := s.block(ctx, it.Holder, it.Number, "stock: lost card")
		if err != nil {
			return n, err
		}
		if id != "" {
			n++
		}
	}
	return n, nil
}

// Item returns one card.
func (s *Service) Item(number string) (it Item, err error) {
	err = s.db.View(func(r *store.Reader) error { it, err = getItem(r, number); return err })
	return it, err
}

// ItemFilter narrows Items.
type ItemFilter struct {
	Q      string // number, lobby, holder or user contains
	Lobby  string
	Holder string // account ID
	OnHand bool
	Limit  int
}

// Items lists cards by number.
func (s *Service) Items(f ItemFilter) ([]Item, int, error) {
	var out []Item
	total := 0
	err := s.EachItem(f, func(it Item) {
		total++
		if f.Limit <= 0 || len(out) < f.Limit {
			out = append(out, it)
		}
	})
	return out, total, err
}

// EachItem hands fn every card f matches (f.Limit aside), by number, one
// at a time: counting cards needs none of them kept.
func (s *Service) EachItem(f ItemFilter, fn func(Item)) error {
	q := strings.ToLower(strings.TrimSpace(f.Q))
	return s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindStockItem), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			var it Item
			if err := json.Unmarshal(v, &it); err != nil {
				return false, err
			}
			if (f.Lobby != "" && !strings.EqualFold(f.Lobby, it.Lobby)) || (f.Holder != "" && it.Holder.ID != f.Holder) ||
				(f.OnHand && !OnHand(it.State)) {
				return true, nil
			}
			if q != "" && !strings.Contains(strings.ToLower(it.Number+"\x00"+it.Lobby+"\x00"+it.Holder.Name+"\x00"+it.UsedBy), q) {
				return true, nil
			}
			fn(it)
			return true, nil
		})
	})
}

// History is every ledger entry that touched card number, oldest first,
// read through the card's index; a store from before the index (its
// first entry not indexed) is searched entry by entry.
func (s *Service) History(number string) ([]Entry, error) {
	number = NormalizeNumber(number)
	if number == "" || strings.ContainsRune(number, 0) {
		return nil, nil
	}
	var out []Entry
	err := s.db.View(func(r *store.Reader) error {
		var first *Entry
		if err := eachEntry(r, false, func(e Entry) bool { first = &e; return false }); err != nil || first == nil {
			return err // nil: an empty ledger
		}
		indexed := len(first.Items) == 0
		if !indexed {
			var err error
			if indexed, err = r.Has(cardEntryKey(first.Items[0].Number, first.Seq)); err != nil {
				return err
			}
		}
		if indexed {
			return r.Scan(store.Prefix(store.KindStockByCard, number), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
				var e Entry
				if err := r.GetJSON(store.Key(store.KindStockLedger, string(k[len(k)-8:])), &e); err != nil {
					return false, err
				}
				out = append(out, e)
				return true, nil
			})
		}
		return eachEntry(r, false, func(e Entry) bool {
			if slices.ContainsFunc(e.Items, func(r Ref) bool { return r.Number == number }) {
				out = append(out, e)
			}
			return true
		})
	})
	return out, err
}

// Ledger lists the entries in [from, until) (zero times: unbounded), oldest first.
func (s *Service) Ledger(from, until time.Time) ([]Entry, error) {
	var out []Entry
	err := s.EachEntry(from, until, func(e Entry) bool { out = append(out, e); return true })
	return out, err
}

// EachEntry hands fn the entries in [from, until) (zero times: unbounded),
// oldest first, one at a time, until fn returns false.
func (s *Service) EachEntry(from, until time.Time, fn func(Entry) bool) error {
	lo, hi := minFrom(from), maxUntil(until)
	return s.db.View(func(r *store.Reader) error {
		return eachEntry(r, false, func(e Entry) bool {
			if e.At < lo || e.At >= hi {
				return true
			}
			return fn(e)
		})
	})
}

// Latest lists at most limit entries (0: all) of [from, until), the newest
// ones, oldest first: what a page shows without reading the ledger into
// memory.
func (s *Service) Latest(from, until time.Time, limit int) ([]Entry, error) {
	var out []Entry
	lo, hi := minFrom(from), maxUntil(until)
	err := s.db.View(func(r *store.Reader) error {
		return eachEntry(r, true, func(e Entry) bool {
			if e.At >= lo && e.At < hi {
				out = append(out, e)
			}
			return limit <= 0 || len(out) < limit
		})
	})
	slices.Reverse(out)
	return out, err
}

func minFrom(t time.Time) int64 {
	if t.IsZero() {
		return -1 << 63
	}
	return t.UnixNano()
}

func maxUntil(t time.Time) int64 {
	if t.IsZero() {
		return 1<<63 - 1
	}
	return t.UnixNano()
}

// Lobbies lists every lobby that has held cards.
func (s *Service) Lobbies() ([]string, error) {
	var out []string
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindStockByLobby), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			out = append(out, string(v))
			return true, nil
		})
	})
	return out, err
}

// TypeRow is one line of the stock ledger report.
type TypeRow struct {
	Type Type
	Figures
}

// In is what came into stock: received and returned.
func (r TypeRow) In() int { return r.Received + r.Returned }

// Out is what left stock: issued to use, lost and damaged.
func (r TypeRow) Out() int { return r.Issued + r.WrittenOff }

// Report is the stock ledger report over [from, until): per card type, the
// balance at the start, in, out and the balance at the end, over every
// lobby (moves between lobbies cancel out).
func (s *Service) Report(from, until time.Time) ([]TypeRow, error) {
	out := make([]TypeRow, len(Types))
	for i, t := range Types {
		out[i].Type = t
	}
	lo, hi := minFrom(from), maxUntil(until)
	err := s.db.View(func(r *store.Reader) error {
		return eachEntry(r, false, func(e Entry) bool {
			for i := range out {
				out[i].add(e, "", out[i].Type, lo, hi)
			}
			return true
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Day is the local day [from, until) of date "2006-01-02".
func (s *Service) Day(date string) (from, until time.Time, err error) {
	d, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(date), s.loc)
	// Days are kept as nanoseconds since 1970, which hold the years up to
	// 2262; a year beyond (the date field takes any four digits) would
	// wrap round to some other period.
	if err != nil || d.Year() < 1970 || d.Year() > 2200 {
		return from, until, field.Errors{{Field: "day", Code: "invalid_date"}}
	}
	return d, d.AddDate(0, 0, 1), nil
}

// Today is the local date now.
func (s *Service) Today() string { return s.clock.Now().In(s.loc).Format("2006-01-02") }

// Preview is a lobby's figures for a day as they stand, without storing.
func (s *Service) Preview(lobby, date string) (Figures, error) {
	from, until, err := s.Day(date)
	if err != nil {
		return Figures{}, err
	}
	var f Figures
	err = s.db.View(func(r *store.Reader) error {
		f, err = figures(r, lobby, "", from.UnixNano(), until.UnixNano())
		return err
	})
	return f, err
}

// Reconcile stores a lobby's reconciliation of a day with the counted
// closing stock. A later one for the same lobby and day supersedes it
// and both are kept.
func (s *Service) Reconcile(ctx context.Context, by Person, lobby, date string, counted int, note string) (Recon, error) {
	from, until, err := s.Day(date)
	if err != nil {
		return Recon{}, err
	}
	p := reconcilePayload{By: by, Lobby: lobby, Day: from.Format("2006-01-02"), From: from.UnixNano(), Until: until.UnixNano(), Counted: counted, Note: note}
	if err := s.issue(ctx, CmdReconcile, by, p); err != nil {
		return Recon{}, err
	}
	rs, err := s.Recons(lobby, p.Day)
	if err != nil || len(rs) == 0 {
		return Recon{}, err
	}
	return rs[0], nil
}

// Recons lists the reconciliations of lobby ("" = every lobby) and day
// ("" = every day), newest first.
func (s *Service) Recons(lobby, day string) ([]Recon, error) {
	return s.RecentRecons(lobby, day, 0)
}

// RecentRecons is Recons cut to the newest limit (0: all). Only those are
// kept while reading, however many years of days there are.
func (s *Service) RecentRecons(lobby, day string, limit int) ([]Recon, error) {
	var out []Recon
	prefix := store.Prefix(store.KindStockRecon)
	if lobby != "" {
		prefix = store.Prefix(store.KindStockRecon, strings.ToLower(strings.TrimSpace(lobby)))
		if day != "" {
			prefix = store.Prefix(store.KindStockRecon, strings.ToLower(strings.TrimSpace(lobby)), day)
		}
	}
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(prefix, store.ScanOptions{}, func(_, v []byte) (bool, error) {
			var rc Recon
			if err := json.Unmarshal(v, &rc); err != nil {
				return false, err
			}
			if day != "" && rc.Day != day {
				return true, nil
			}
			// Newest (highest sequence) first, at most limit.
			i, _ := slices.BinarySearchFunc(out, rc.Seq, func(a Recon, seq uint64) int { return cmp.Compare(seq, a.Seq) })
			if limit > 0 && i >= limit {
				return true, nil
			}
			out = slices.Insert(out, i, rc)
			if limit > 0 && len(out) > limit {
				out = out[:limit]
			}
			return true, nil
		})
	})
	return out, err
}
