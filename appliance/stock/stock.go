// Package stock is the card stock: blank cards, temporary visitor badges
// and key-fob cards, each with its number, from the day they are received
// until they are lost or damaged.
//
// An item's record holds only where it is now (its state, lobby and the
// person who has custody of it). What happened is the ledger: one
// append-only entry per command, numbered in order, listing every card it
// touched and where each was before. Every figure — a lobby's stock on a
// day, the in/out/balance report — is computed from the ledger, so no card
// can vanish without a trace. Corrections are new entries.
//
// Cards move between people only by a handover: the giver lists the cards,
// the receiver confirms signed in as themselves, and only then does
// custody move. A handover nobody confirmed changes nothing.
package stock

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Errors.
var (
	// ErrNotFound means no such card, handover or reconciliation.
	ErrNotFound = fmt.Errorf("stock: %w", store.ErrNotFound)
)

// Type is a kind of card.
type Type string

// Card types.
const (
	Blank Type = "blank"
	Badge Type = "visitor_badge"
	Fob   Type = "fob"
)

// Types lists every card type.
var Types = []Type{Blank, Badge, Fob}

// State is where a card is in its life.
type State string

// Card states. Received, Issued and Returned cards are on hand (in stock
// at a lobby); InUse cards are with a card user.
const (
	Received State = "received"
	Issued   State = "issued" // handed over to a lobby or person
	InUse    State = "in_use"
	Returned State = "returned"
	LostCard State = "lost"
	Damaged  State = "damaged"
)

// OnHand reports whether a card in state s is in a lobby's stock.
func OnHand(s State) bool { return s == Received || s == Issued || s == Returned }

// Ledger operations.
const (
	OpReceive  = "receive"
	OpHandover = "handover"
	OpIssue    = "issue"
	OpReturn   = "return"
	OpLost     = "lost"
	OpDamaged  = "damaged"
	OpBlocked  = "blocked" // a lost card's credential was blocked at the gates
)

// Person is a signed-in account.
type Person struct {
	ID   string    `json:"id"`
	Name string    `json:"name"`
	Role auth.Role `json:"role,omitempty"`
}

// PersonOf is the Person of an account.
func PersonOf(a auth.Account) Person { return Person{ID: a.ID, Name: a.Name, Role: a.Role} }

// Item is one card.
type Item struct {
	Number     string `json:"number"`
	Type       Type   `json:"type"`
	State      State  `json:"state"`
	Lobby      string `json:"lobby"`
	Holder     Person `json:"holder"`               // who has custody (on hand) or last handled it
	UsedBy     string `json:"used_by,omitempty"`    // in use: to whom it was given
	Credential string `json:"credential,omitempty"` // the access credential blocked when it was lost
	Updated    int64  `json:"updated"`
}

// Ref is one card in a ledger entry, with where it was before.
type Ref struct {
	Number string `json:"number"`
	Type   Type   `json:"type"`
	Was    State  `json:"was,omitempty"`
	Lobby  string `json:"lobby,omitempty"` // its lobby before the entry
}

// Entry is one ledger line.
type Entry struct {
	Seq      uint64 `json:"seq"`
	At       int64  `json:"at"`
	Op       string `json:"op"`
	By       Person `json:"by"`
	To       Person `json:"to,omitempty"` // handover: the receiver
	Lobby    string `json:"lobby,omitempty"`
	UsedBy   string `json:"used_by,omitempty"`
	Note     string `json:"note,omitempty"`
	Handover string `json:"handover,omitempty"`
	Items    []Ref  `json:"items"`
}

// Move is what an entry does to one lobby's stock of one type.
type Move struct {
	Lobby string
	Type  Type
	Col   string // received, issued, returned, written_off
	N     int
}

// Columns of a lobby's day.
const (
	ColReceived   = "received"
	ColIssued     = "issued"
	ColReturned   = "returned"
	ColWrittenOff = "written_off"
)

// Moves are the entry's effects on lobby stocks. A handover between two
// lobbies is issued from one and received by the other; within a lobby it
// moves custody and no stock.
func (e Entry) Moves() []Move {
	var out []Move
	add := func(lobby string, t Type, col string) {
		for i := range out {
			if out[i].Lobby == lobby && out[i].Type == t && out[i].Col == col {
				out[i].N++
				return
			}
		}
		out = append(out, Move{Lobby: lobby, Type: t, Col: col, N: 1})
	}
	for _, r := range e.Items {
		switch e.Op {
		case OpReceive:
			add(e.Lobby, r.Type, ColReceived)
		case OpHandover:
			if r.Lobby != e.Lobby {
				add(r.Lobby, r.Type, ColIssued)
				add(e.Lobby, r.Type, ColReceived)
			}
		case OpIssue:
			add(r.Lobby, r.Type, ColIssued)
		case OpReturn:
			add(e.Lobby, r.Type, ColReturned)
		case OpLost, OpDamaged:
			if OnHand(r.Was) {
				add(r.Lobby, r.Type, ColWrittenOff)
			}
		}
	}
	return out
}

// Handover is a batch of cards passing from one person to another.
type Handover struct {
	ID      string   `json:"id"`
	From    Person   `json:"from"`
	To      Person   `json:"to"`
	Lobby   string   `json:"lobby"` // the receiver's lobby
	Numbers []string `json:"numbers"`
	Note    string   `json:"note,omitempty"`
	Created int64    `json:"created"`
	State   string   `json:"state"` // pending, confirmed, cancelled
	Done    int64    `json:"done,omitempty"`
}

// Handover states.
const (
	HandoverPending   = "pending"
	HandoverConfirmed = "confirmed"
	HandoverCancelled = "cancelled"
)

// Recon is a lobby's daily reconciliation. Expected = Opening + Received −
// Issued + Returned − WrittenOff; a Counted stock that differs must be
// explained by Note, else the reconciliation is flagged.
type Recon struct {
	Seq        uint64 `json:"seq"`
	Lobby      string `json:"lobby"`
	Day        string `json:"day"` // local date
	From       int64  `json:"from"`
	Until      int64  `json:"until"`
	Opening    int    `json:"opening"`
	Received   int    `json:"received"`
	Issued     int    `json:"issued"`
	Returned   int    `json:"returned"`
	WrittenOff int    `json:"written_off"`
	Expected   int    `json:"expected"`
	Counted    int    `json:"counted"`
	Difference int    `json:"difference"`
	Note       string `json:"note,omitempty"`
	Flagged    bool   `json:"flagged"`
	By         string `json:"by"`
	At         int64  `json:"at"`
}

// Figures is one lobby's (or one type's) stock over a period.
type Figures struct {
	Opening, Received, Issued, Returned, WrittenOff int
}

// Closing is the computed stock at the end of the period.
func (f Figures) Closing() int { return f.Opening + f.Received - f.Issued + f.Returned - f.WrittenOff }

// Compute adds up the moves of entries for lobby ("" = every lobby, with
// handovers between lobbies cancelling out) and type ("" = all) over
// [from, until).
func Compute(entries []Entry, lobby string, typ Type, from, until int64) Figures {
	var f Figures
	for _, e := range entries {
		f.add(e, lobby, typ, from, until)
	}
	return f
}

// add counts one entry's moves into f, as Compute does; the ledger is
// read one entry at a time through it, so no figure needs the whole
// ledger in memory.
func (f *Figures) add(e Entry, lobby string, typ Type, from, until int64) {
	if e.At >= until {
		return
	}
	for _, m := range e.Moves() {
		if (lobby != "" && !strings.EqualFold(m.Lobby, lobby)) || (typ != "" && m.Type != typ) {
			continue
		}
		if lobby == "" && e.Op == OpHandover {
			continue // between lobbies: out of one, into another
		}
		if e.At < from {
			switch m.Col {
			case ColReceived, ColReturned:
				f.Opening += m.N
			default:
				f.Opening -= m.N
			}
			continue
		}
		switch m.Col {
		case ColReceived:
			f.Received += m.N
		case ColIssued:
			f.Issued += m.N
		case ColReturned:
			f.Returned += m.N
		case ColWrittenOff:
			f.WrittenOff += m.N
		}
	}
}

// MaxBatch is the most cards one entry may list.
const MaxBatch = 1000

// Bounds on what ParseNumbers reads, so that typed text cannot cost more
// than a batch: at most maxInput bytes, and at most maxExpand numbers
// written out, repeats included ("V1..V999" typed a thousand times is a
// million numbers to write even though only 999 are distinct).
const (
	maxInput  = 64 << 10
	maxExpand = 2 * MaxBatch
)

var (
	numberRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9:-]{0,31}$`)
	rangeRE  = regexp.MustCompile(`^([A-Z:-]*?)([0-9]+)$`)
)

// NormalizeNumber is a card number as stored: trimmed, upper case.
func NormalizeNumber(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// ParseNumbers reads card numbers separated by commas, spaces or lines,
// with ranges written "B001..B020" or "B001~B020" (same prefix, same
// number of digits).
func ParseNumbers(s string) ([]string, field.Errors) {
	if len(s) > maxInput {
		return nil, field.Errors{{Field: "numbers", Code: "too_long", Arg: strconv.Itoa(maxInput)}}
	}
	var out []string
	seen := map[string]bool{}
	expanded := 0
	add := func(n string) bool {
		if expanded++; expanded > maxExpand {
			return false
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
		return len(out) <= MaxBatch
	}
	toks := strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' || r == '，'
	})
	for _, t := range toks {
		a, b, isRange := strings.Cut(t, "..")
		if !isRange {
			a, b, isRange = strings.Cut(t, "~")
		}
		if !isRange {
			if !numberRE.MatchString(t) {
				return nil, field.Errors{{Field: "numbers", Code: "stock_number_invalid", Arg: clip(t)}}
			}
			if !add(t) {
				return nil, field.Errors{{Field: "numbers", Code: "stock_too_many", Arg: strconv.Itoa(MaxBatch)}}
			}
			continue
		}
		ma, mb := rangeRE.FindStringSubmatch(a), rangeRE.FindStringSubmatch(b)
		if ma == nil || mb == nil || ma[1] != mb[1] || len(ma[2]) != len(mb[2]) || !numberRE.MatchString(a) || len(ma[2]) > 12 {
			return nil, field.Errors{{Field: "numbers", Code: "stock_range_invalid", Arg: clip(t)}}
		}
		lo, _ := strconv.ParseUint(ma[2], 10, 64)
		hi, _ := strconv.ParseUint(mb[2], 10, 64)
		if hi < lo || hi-lo >= MaxBatch {
			return nil, field.Errors{{Field: "numbers", Code: "stock_range_invalid", Arg: clip(t)}}
		}
		for n := lo; n <= hi; n++ {
			if !add(fmt.Sprintf("%s%0*d", ma[1], len(ma[2]), n)) {
				return nil, field.Errors{{Field: "numbers", Code: "stock_too_many", Arg: strconv.Itoa(MaxBatch)}}
			}
		}
	}
	if len(out) == 0 {
		return nil, field.Errors{{Field: "numbers", Code: "required"}}
	}
	return out, nil
}

func clip(s string) string {
	if r := []rune(s); len(r) > 20 {
		return string(r[:20]) + "…"
	}
	return s
}

// checkNumbers validates numbers already parsed (a command's payload).
func checkNumbers(ns []string, es *field.Errors) []string {
	if len(ns) == 0 {
		es.Add("numbers", "required")
		return nil
	}
	if len(ns) > MaxBatch {
		es.AddArg("numbers", "stock_too_many", strconv.Itoa(MaxBatch))
		return nil
	}
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		n = NormalizeNumber(n)
		if !numberRE.MatchString(n) {
			es.AddArg("numbers", "stock_number_invalid", clip(n))
			return nil
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
